/**
 * The status document (DESIGN.md "Status document"): what the daemon tells every client.
 * It never carries a secret value; only names of files, hashes of the encrypted bundle and of
 * the outputs, counts, codes and public age recipients.
 */

export const PROTOCOL_VERSION = 1;

export const DAEMON_STATES = ['starting', 'fresh', 'stale', 'syncing', 'error', 'conflict', 'locked', 'missing'] as const;
export type DaemonState = (typeof DAEMON_STATES)[number];

export interface StatusError {
  code: string;
  message: string;
}

export interface StatusSource {
  path: string;
  exists: boolean;
  sha256: string | null;
  commit: string | null;
  dirty: boolean | null;
}

export interface StatusLastSync {
  at: string;
  ok: boolean;
  durationMs: number;
  sourceSha256: string | null;
  error: StatusError | null;
}

export interface StatusOutput {
  kind: 'env' | 'console';
  path: string;
  sha256: string | null;
}

export type IdentitySource = 'keychain' | 'env' | 'file' | 'none';

export interface StatusNotice {
  code: string;
  message: string;
  since: string;
}

export interface StatusDaemonInfo {
  pid: number;
  version: string;
  startedAt: string;
  socket: string;
}

export interface StatusDocument {
  protocol: number;
  state: DaemonState;
  fresh: boolean;
  secretsVersion: string | null;
  source: StatusSource;
  lastSync: StatusLastSync | null;
  outputs: StatusOutput[];
  entries: number;
  identity: { source: IdentitySource; recipients: string[] };
  notices: StatusNotice[];
  daemon: StatusDaemonInfo;
}
