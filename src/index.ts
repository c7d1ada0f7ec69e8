/** mcp-secrets as a library: the SOPS engine and the IPC client are also exported on their own paths. */
export * as sops from './sops/index.js';
export { AppError, ERROR_CODES, type ErrorCode } from './errors.js';
export type { StatusDocument, DaemonState } from './ipc/status.js';
