// The core's error codes with the HTTP status and OpenAI type of each: the one table (jan_core::error::ErrorCode,
// generated into bindings-node/error-codes.json). The IPC transport reads statuses here, as host-web answers with
// them, so both transports report a failure alike.

import table from '../../../bindings-node/error-codes.json';

/** Every code the core or a host can answer with. */
export type ErrorCode = keyof typeof table;

const codes: Record<string, { status: number; type: string } | undefined> = table;

/** The HTTP status and OpenAI type of a code; nothing for a code that is not the core's (a transport's own). */
export function errorInfo(code: string): { status?: number; type?: string } {
  return codes[code] ?? {};
}
