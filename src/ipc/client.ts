/** mcp-secrets/client: status, wait-fresh, subscribe and sync over the daemon's IPC socket. */
export type { StatusDocument } from './status.js';
