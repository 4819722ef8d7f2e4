// src/main.js with a stand-in `electron` module (app, BrowserWindow, ipcMain, shell, session, dialog) and the REAL
// addon: what Electron would be asked to do, checked where it matters for security and lifecycle.

'use strict';

const { test, after } = require('node:test');
const assert = require('node:assert/strict');
const { EventEmitter } = require('node:events');
const fs = require('node:fs');
const Module = require('node:module');
const path = require('node:path');
const { pathToFileURL } = require('node:url');
const { start, dataFolderFrom, uiIndexFor } = require('../src/main');
const { loadAddon, tempDir, fakeIpcMain, until, REPO } = require('./helpers');

const { Jan } = loadAddon();
const DEV_UI = path.join(REPO, 'ui', 'dist', 'index.html');
const PRELOAD = path.join(REPO, 'host-electron', 'src', 'preload.js');
/** @type {string[]} */
const folders = [];

after(() => {
  for (const dir of folders) fs.rmSync(dir, { recursive: true, force: true });
});

/** A stand-in for the parts of Electron main.js uses, recording what it is asked to do. */
function standInElectron({ lock = true, isPackaged = false } = {}) {
  /** @type {any[]} */
  const windows = [];
  const app = Object.assign(new EventEmitter(), {
    isPackaged,
    quits: 0,
    requestSingleInstanceLock: () => lock,
    whenReady: () => Promise.resolve(),
    quit() {
      this.quits++;
    },
  });
  class BrowserWindow extends EventEmitter {
    /** @param {any} options */
    constructor(options) {
      super();
      this.options = options;
      /** @type {string[]} */
      this.loaded = [];
      /** @type {string[]} */
      this.calls = [];
      this.destroyed = false;
      this.minimized = false;
      const win = this;
      this.webContents = Object.assign(new EventEmitter(), {
        /** @type {any[][]} */
        sent: [],
        /** @type {any} */
        openHandler: null,
        setWindowOpenHandler(/** @type {any} */ handler) {
          this.openHandler = handler;
        },
        send(/** @type {string} */ channel, /** @type {any[]} */ ...payload) {
          this.sent.push([channel, ...payload]);
        },
        isDestroyed: () => win.destroyed,
      });
      windows.push(this);
    }
    loadFile(/** @type {string} */ file) {
      this.loaded.push(file);
      return Promise.resolve();
    }
    isDestroyed() {
      return this.destroyed;
    }
    isMinimized() {
      return this.minimized;
    }
    restore() {
      this.calls.push('restore');
      this.minimized = false;
    }
    show() {
      this.calls.push('show');
    }
    focus() {
      this.calls.push('focus');
    }
    /** What Electron does when the user closes it. */
    close() {
      this.destroyed = true;
      this.emit('closed');
    }
  }
  /** @type {string[]} */
  const opened = [];
  /** @type {[string, string][]} */
  const errors = [];
  const session = {
    defaultSession: {
      /** @type {any} */ requestHandler: null,
      /** @type {any} */ checkHandler: null,
      setPermissionRequestHandler(/** @type {any} */ h) {
        this.requestHandler = h;
      },
      setPermissionCheckHandler(/** @type {any} */ h) {
        this.checkHandler = h;
      },
    },
  };
  return {
    app,
    BrowserWindow,
    ipcMain: fakeIpcMain(),
    shell: { openExternal: (/** @type {string} */ url) => (opened.push(url), Promise.resolve()) },
    session,
    dialog: { showErrorBox: (/** @type {string} */ title, /** @type {string} */ body) => errors.push([title, body]) },
    windows,
    opened,
    errors,
  };
}

/** Starts main.js on a fresh data folder; waits until the window exists. */
async function started(options = {}) {
  const electron = standInElectron(options);
  const dataFolder = tempDir('jan-electron-main-');
  folders.push(dataFolder);
  /** @type {any[]} */
  const logs = [];
  const app = start({
    electron,
    Jan,
    env: { JAN_DATA_FOLDER: dataFolder },
    platform: options.platform ?? 'linux',
    resourcesPath: options.resourcesPath,
    log: (...args) => logs.push(args),
  });
  const ready = await app.ready;
  return { electron, app, ready, dataFolder, logs };
}

/** An IPC event from a frame at `url`. */
const from = (url, parent = null) => ({ senderFrame: { url, parent }, sender: {} });

test('requiring main.js starts nothing (only Electron, running it as the main script, does)', () => {
  const file = require.resolve('../src/main');
  /** @type {string[]} */
  const requested = [];
  const original = Module._load;
  Module._load = function (request, parent, isMain) {
    if (parent?.filename === file) requested.push(request);
    return original.call(this, request, parent, isMain);
  };
  try {
    delete require.cache[file];
    const fresh = require(file);
    assert.equal(typeof fresh.start, 'function');
  } finally {
    Module._load = original;
  }
  assert.ok(!requested.includes('electron'), `electron was not loaded (${requested})`);
  assert.ok(!requested.includes('@jan-cloud/core'), 'nor the addon');
});

test('the data folder: JAN_DATA_FOLDER, else ~/jan', () => {
  assert.equal(dataFolderFrom({}, '/home/ada'), path.join('/home/ada', 'jan'));
  assert.equal(dataFolderFrom({ JAN_DATA_FOLDER: '  ' }, '/home/ada'), path.join('/home/ada', 'jan'));
  assert.equal(dataFolderFrom({ JAN_DATA_FOLDER: '/srv/jan-data' }, '/home/ada'), '/srv/jan-data');
  assert.equal(dataFolderFrom({ JAN_DATA_FOLDER: 'rel/dir' }), path.resolve('rel/dir'));
});

test('the UI: ui/dist in development, resources/ui when packaged', () => {
  assert.equal(uiIndexFor({ isPackaged: false }, '/opt/Jan/resources'), DEV_UI);
  assert.equal(uiIndexFor({ isPackaged: true }, '/opt/Jan/resources'), '/opt/Jan/resources/ui/index.html');
});

test('one window, locked down, on the UI, with the core opened on the data folder', async () => {
  const { electron, app, ready, dataFolder } = await started();
  assert.equal(app.primary, true);
  assert.equal(path.resolve(ready.jan.dataFolder), path.resolve(dataFolder));
  assert.ok(fs.existsSync(path.join(dataFolder, 'assistants')), 'the core created its folders');
  assert.equal(electron.windows.length, 1);
  const [win] = electron.windows;
  assert.equal(ready.window, win);
  const prefs = win.options.webPreferences;
  assert.equal(prefs.contextIsolation, true);
  assert.equal(prefs.sandbox, true);
  assert.equal(prefs.nodeIntegration, false);
  assert.equal(prefs.webSecurity, true);
  assert.equal(prefs.webviewTag, false);
  assert.equal(prefs.allowRunningInsecureContent, false);
  assert.equal(prefs.preload, PRELOAD);
  assert.ok(path.isAbsolute(prefs.preload) && fs.existsSync(prefs.preload), 'the preload exists');
  assert.deepEqual(win.loaded, [DEV_UI], 'loadFile on the UI build');
  assert.equal(win.options.show, false);
  win.emit('ready-to-show');
  assert.deepEqual(win.calls, ['show'], 'shown once ready');
});

test('window.open is denied; web links go to the system browser, nothing else does', async () => {
  const { electron } = await started();
  const { webContents } = electron.windows[0];
  assert.equal(typeof webContents.openHandler, 'function');
  for (const url of ['https://jan.ai/docs', 'http://localhost:1337/', 'file:///etc/passwd', 'javascript:alert(1)', 'about:blank', 'not a url']) {
    assert.deepEqual(webContents.openHandler({ url }), { action: 'deny' }, url);
  }
  assert.deepEqual(electron.opened, ['https://jan.ai/docs', 'http://localhost:1337/']);
});

test('navigation away from the app is prevented', async () => {
  const { electron, app } = await started();
  const { webContents } = electron.windows[0];
  const navigate = (url, modern = false) => {
    let prevented = false;
    const event = { preventDefault: () => (prevented = true), ...(modern ? { url } : {}) };
    webContents.emit('will-navigate', event, modern ? undefined : url);
    return prevented;
  };
  const appUrl = pathToFileURL(app.uiIndex).href;
  assert.equal(navigate(appUrl), false, 'reloading the app');
  assert.equal(navigate(`${appUrl}#/t/abc`), false, 'a route of the app');
  assert.equal(navigate(`${appUrl}#/hub`, true), false);
  assert.equal(navigate('https://evil.example/'), true);
  assert.equal(navigate('file:///etc/passwd'), true);
  assert.equal(navigate(pathToFileURL(path.join(path.dirname(app.uiIndex), 'other.html')).href, true), true);
  assert.equal(navigate('data:text/html,hi'), true);
  assert.deepEqual(electron.opened, ['https://evil.example/'], 'a followed web link opens in the browser');
  let webview = false;
  webContents.emit('will-attach-webview', { preventDefault: () => (webview = true) });
  assert.equal(webview, true, 'no <webview>');
});

test('permission requests and checks are denied, but for the copy buttons\' clipboard write', async () => {
  const { electron } = await started();
  const { requestHandler, checkHandler } = electron.session.defaultSession;
  const ask = (permission) => {
    /** @type {boolean[]} */
    const answers = [];
    requestHandler({}, permission, (/** @type {boolean} */ ok) => answers.push(ok), {});
    assert.equal(answers.length, 1, 'answered once');
    return answers[0];
  };
  for (const permission of ['media', 'notifications', 'geolocation', 'clipboard-read', 'openExternal', 'fileSystem', 'hid', 'usb']) {
    assert.equal(ask(permission), false, permission);
    assert.equal(checkHandler({}, permission, 'file:///', {}), false, permission);
  }
  assert.equal(ask('clipboard-sanitized-write'), true);
  assert.equal(checkHandler({}, 'clipboard-sanitized-write', 'file:///', {}), true);
});

test('IPC is registered and answers only the app\'s own top frame', async () => {
  const { electron, app } = await started();
  const { ipcMain } = electron;
  assert.ok(ipcMain.handlers.has('jan:invoke'));
  const handler = ipcMain.handlers.get('jan:invoke');
  const appUrl = pathToFileURL(app.uiIndex).href;
  const listed = await handler(from(`${appUrl}#/`), 'listThreads', []);
  assert.deepEqual(listed, { ok: true, value: [] });
  const created = await handler(from(appUrl), 'createThread', [{ title: 'from the window' }]);
  assert.equal(created.ok, true);
  for (const event of [
    from('https://evil.example/'),
    from('file:///tmp/index.html'),
    from(`${appUrl}#/`, { url: appUrl }),
    { sender: {} },
    { senderFrame: null },
    undefined,
  ]) {
    const refused = await handler(event, 'listThreads', []);
    assert.equal(refused.ok, false);
    assert.equal(refused.error.code, 'forbidden', JSON.stringify(event));
  }
  // The core's events reach the window.
  const { webContents } = electron.windows[0];
  await until(
    () => webContents.sent.some(([ch, ev]) => ch === 'jan:event' && ev.type === 'thread_updated' && ev.thread.id === created.value.id),
    'the thread_updated event sent to the window',
  );
});

test('a second instance focuses the existing window', async () => {
  const { electron } = await started();
  const [win] = electron.windows;
  win.minimized = true;
  electron.app.emit('second-instance', {}, ['jan'], '/');
  assert.deepEqual(win.calls, ['restore', 'show', 'focus']);
  assert.equal(electron.windows.length, 1, 'no new window');
});

test('without the single-instance lock it quits at once and opens nothing', async () => {
  const electron = standInElectron({ lock: false });
  let opens = 0;
  const app = start({ electron, Jan: { open: async () => (opens++, {}) }, env: { JAN_DATA_FOLDER: '/nonexistent/jan' } });
  assert.equal(app.primary, false);
  assert.equal(await app.ready, null);
  assert.equal(electron.app.quits, 1);
  assert.equal(opens, 0);
  assert.equal(electron.windows.length, 0);
  assert.equal(electron.ipcMain.handlers.size, 0);
});

test('lifecycle: closing the window, quitting on Linux/Windows, staying on macOS, before-quit disposes IPC', async () => {
  const linux = await started({ platform: 'linux' });
  const [win] = linux.electron.windows;
  win.close();
  assert.equal(linux.app.window, null);
  linux.electron.app.emit('window-all-closed');
  assert.equal(linux.electron.app.quits, 1);
  // Events after the window is gone are dropped, not sent to a dead window.
  const sentBefore = win.webContents.sent.length;
  await linux.ready.jan.createThread({ title: 'no window' });
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(win.webContents.sent.length, sentBefore);
  linux.electron.app.emit('before-quit');
  assert.equal(linux.electron.ipcMain.handlers.has('jan:invoke'), false, 'the IPC handler is gone');

  const mac = await started({ platform: 'darwin' });
  mac.electron.windows[0].close();
  mac.electron.app.emit('window-all-closed');
  assert.equal(mac.electron.app.quits, 0, 'macOS apps stay open');
  mac.electron.app.emit('activate');
  assert.equal(mac.electron.windows.length, 2, 'the dock icon opens a new window');
  assert.equal(mac.app.window, mac.electron.windows[1]);
  assert.deepEqual(mac.electron.windows[1].loaded, [DEV_UI]);
  mac.electron.app.emit('before-quit');
});

test('packaged: the UI comes from resources/ui and only that page is trusted', async () => {
  const resources = tempDir('jan-electron-resources-');
  folders.push(resources);
  const { electron, app } = await started({ isPackaged: true, resourcesPath: resources });
  const index = path.join(resources, 'ui', 'index.html');
  assert.equal(app.uiIndex, index);
  assert.deepEqual(electron.windows[0].loaded, [index]);
  assert.equal(app.isTrustedSender(from(pathToFileURL(index).href)), true);
  assert.equal(app.isTrustedSender(from(pathToFileURL(DEV_UI).href)), false);
});

test('a data folder that cannot be opened: an error box, then quit', async () => {
  const electron = standInElectron();
  const blocker = tempDir('jan-electron-blocked-');
  folders.push(blocker);
  const file = path.join(blocker, 'a-file');
  fs.writeFileSync(file, 'not a folder');
  const logs = [];
  const app = start({ electron, Jan, env: { JAN_DATA_FOLDER: path.join(file, 'jan') }, log: (...a) => logs.push(a) });
  assert.equal(await app.ready, null);
  assert.equal(electron.errors.length, 1);
  assert.equal(electron.errors[0][0], 'Jan could not start');
  assert.match(electron.errors[0][1], /a-file/);
  assert.equal(electron.app.quits, 1);
  assert.equal(electron.windows.length, 0);
  assert.equal(logs.length, 1);
});
