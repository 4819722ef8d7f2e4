// The middleware: the only place that knows whether the UI talks HTTP (host-web) or IPC (Electron's preload).
// Everything else imports `client` (or `JanClient` and the types) from here.

import { HttpClient } from './http';
import { IpcClient } from './ipc';
import type { JanClient } from './types';

export * from './types';
export type { JanIpcApi, IpcResult, IpcMethod, IpcImportRequest } from './ipc';

/** Picks the transport once: IPC when the desktop's preload exposed `window.janIpc`, otherwise HTTP. */
export function createClient(scope: { janIpc?: import('./ipc').JanIpcApi } = globalThis as never): JanClient {
  return scope.janIpc ? new IpcClient(scope.janIpc) : new HttpClient();
}

export { HttpClient, IpcClient };
