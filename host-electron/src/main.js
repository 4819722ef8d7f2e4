// Electron's main process: one instance, one window on the shared UI's build, the core opened on the user's data
// folder (~/jan, like Jan's desktop app), and the IPC of src/ipc.js. Everything the window may do is locked down:
// context isolation, the sandbox, no Node in the page, no new windows, no navigation away, no permissions (but
// the clipboard write of the copy buttons).
//
// `start({electron, Jan, env})` does the work and is what the tests call with a stand-in electron module and the
// real addon; Electron runs this file as the app's main script, which calls `start` with the real modules.

'use strict';

const os = require('node:os');
const path = require('node:path');
const { fileURLToPath } = require('node:url');
const { registerIpc } = require('./ipc');

/**
 * The data folder: `JAN_DATA_FOLDER`, else `~/jan` (where Jan's desktop app keeps it, so an existing folder just
 * works).
 * @param {Record<string, string | undefined>} env
 * @param {string} [home]
 */
function dataFolderFrom(env, home = os.homedir()) {
  const fromEnv = env.JAN_DATA_FOLDER?.trim();
  return fromEnv ? path.resolve(fromEnv) : path.join(home, 'jan');
}

/**
 * The UI's index.html: in the package, `resources/ui/` (electron-builder's extraResources); in development, the
 * shared UI's build (`ci/build-ui.sh` writes ui/dist).
 * @param {{isPackaged: boolean}} app
 * @param {string | undefined} resourcesPath
 */
function uiIndexFor(app, resourcesPath) {
  return app.isPackaged && resourcesPath
    ? path.join(resourcesPath, 'ui', 'index.html')
    : path.resolve(__dirname, '..', '..', 'ui', 'dist', 'index.html');
}

/** The one permission the page gets: writing text to the clipboard (the UI's copy buttons). */
const ALLOWED_PERMISSIONS = new Set(['clipboard-sanitized-write']);

/** Only web links leave the app, and only to the system browser. */
function isWebUrl(/** @type {string} */ url) {
  try {
    const { protocol } = new URL(url);
    return protocol === 'https:' || protocol === 'http:';
  } catch {
    return false;
  }
}

/**
 * @typedef {object} StartOptions
 * @property {any} electron  the `electron` module (or a stand-in)
 * @property {any} Jan  bindings-node's `Jan` class
 * @property {Record<string, string | undefined>} [env]
 * @property {string} [platform]  process.platform
 * @property {string} [resourcesPath]  process.resourcesPath (Electron's; the packaged app's resources folder)
 * @property {(message: string, error?: unknown) => void} [log]
 */

/**
 * Starts the app.
 * @param {StartOptions} options
 */
function start({
  electron,
  Jan,
  env = process.env,
  platform = process.platform,
  resourcesPath = /** @type {any} */ (process).resourcesPath,
  log = console.error,
}) {
  const { app, BrowserWindow, ipcMain, shell, session, dialog } = electron;

  if (!app.requestSingleInstanceLock()) {
    // The first instance gets `second-instance` and shows its window.
    app.quit();
    return { primary: false, ready: Promise.resolve(null) };
  }

  const dataFolder = dataFolderFrom(env);
  const uiIndex = uiIndexFor(app, resourcesPath);
  const preload = path.join(__dirname, 'preload.js');
  /** @type {any} */
  let win = null;
  /** @type {ReturnType<typeof registerIpc> | null} */
  let ipc = null;
  let quitting = false;

  /** The app's own page (any hash route), and nothing else. */
  const isAppUrl = (/** @type {string} */ url) => {
    try {
      const u = new URL(url);
      return u.protocol === 'file:' && path.resolve(fileURLToPath(u)) === uiIndex;
    } catch {
      return false;
    }
  };

  /** A call from the top frame of the app's page. */
  const isTrustedSender = (/** @type {any} */ event) => {
    const frame = event?.senderFrame;
    return Boolean(frame && !frame.parent && isAppUrl(frame.url));
  };

  const send = (/** @type {string} */ channel, /** @type {any[]} */ ...payload) => {
    if (win && !win.isDestroyed() && !win.webContents.isDestroyed()) win.webContents.send(channel, ...payload);
  };

  function createWindow() {
    win = new BrowserWindow({
      width: 1280,
      height: 800,
      minWidth: 360,
      minHeight: 480,
      title: 'Jan',
      show: false,
      autoHideMenuBar: true,
      webPreferences: {
        preload,
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        webSecurity: true,
        allowRunningInsecureContent: false,
        webviewTag: false,
        spellcheck: false,
      },
    });
    const contents = win.webContents;
    win.once('ready-to-show', () => win?.show());
    // New windows: never; web links open in the system browser.
    contents.setWindowOpenHandler((/** @type {{url: string}} */ { url }) => {
      if (isWebUrl(url)) void shell.openExternal(url);
      return { action: 'deny' };
    });
    // The page stays the app: a link followed in place opens in the browser instead.
    contents.on('will-navigate', (/** @type {any} */ event, /** @type {string} */ legacyUrl) => {
      const url = typeof event?.url === 'string' ? event.url : legacyUrl;
      if (isAppUrl(url)) return;
      event.preventDefault();
      if (isWebUrl(url)) void shell.openExternal(url);
    });
    contents.on('will-attach-webview', (/** @type {any} */ event) => event.preventDefault());
    win.on('closed', () => {
      // A reply streaming into the closed window is stopped (the core saves it as `stopped`).
      ipc?.stopReplies();
      win = null;
    });
    win.loadFile(uiIndex).catch((/** @type {unknown} */ e) => {
      log(`jan: could not load ${uiIndex} (build the UI with ci/build-ui.sh)`, e);
    });
    return win;
  }

  app.on('second-instance', () => {
    if (!win) {
      if (ipc) createWindow();
      return;
    }
    if (win.isMinimized()) win.restore();
    win.show();
    win.focus();
  });

  app.on('window-all-closed', () => {
    // macOS apps stay in the dock until quit.
    if (platform !== 'darwin') app.quit();
  });

  app.on('activate', () => {
    if (!win && ipc) createWindow();
  });

  app.on('before-quit', () => {
    quitting = true;
    ipc?.dispose();
  });

  // Opening the data folder can start before Electron is ready.
  const opened = Jan.open({ dataFolder });

  const ready = Promise.all([app.whenReady(), opened]).then(
    ([, jan]) => {
      if (quitting) return null;
      // Camera, microphone, notifications, geolocation, ... are all refused; only the copy buttons' clipboard
      // write (sanitised, write-only) is allowed.
      session.defaultSession.setPermissionRequestHandler(
        (/** @type {unknown} */ _contents, /** @type {string} */ permission, /** @type {(ok: boolean) => void} */ done) =>
          done(ALLOWED_PERMISSIONS.has(permission)),
      );
      session.defaultSession.setPermissionCheckHandler(
        (/** @type {unknown} */ _contents, /** @type {string} */ permission) => ALLOWED_PERMISSIONS.has(permission),
      );
      ipc = registerIpc({ ipcMain, jan, send, isTrustedSender, log });
      createWindow();
      return { jan, window: win };
    },
    (/** @type {any} */ e) => {
      log('jan: could not open the data folder', e);
      const detail = e instanceof Error ? e.message : String(e);
      // `dialog` works once the app is ready.
      return Promise.resolve(app.whenReady()).then(() => {
        dialog.showErrorBox('Jan could not start', `Jan could not open its data folder ${dataFolder}:\n\n${detail}`);
        app.quit();
        return null;
      });
    },
  );

  return {
    primary: true,
    ready,
    dataFolder,
    uiIndex,
    isAppUrl,
    isTrustedSender,
    /** The window, while it is open. */
    get window() {
      return win;
    },
    get ipc() {
      return ipc;
    },
  };
}

module.exports = { start, dataFolderFrom, uiIndexFor };

// Electron runs this file as the app's main script.
if (require.main === module) {
  start({ electron: require('electron'), Jan: require('@jan-cloud/core').Jan });
}
