/**
 * `run --watch`: keep a consumer running on current values. The daemon is asked for every status
 * change; when it has synced a new bundle, the entries are opened again through the same checks
 * as at start, and only when THIS consumer's selected names or values differ is the child
 * restarted: SIGTERM, a grace period, SIGKILL, then started again with the new environment.
 *
 * For servers a client reconnects to (HTTP, plain daemons). Restarting a stdio MCP server ends
 * its client's session: its stdin/stdout are the client's pipe, and the new process starts a new
 * conversation (docs/consumers.md).
 *
 * What decides a restart is a digest of the selected names and values, kept in memory only.
 * A re-open that fails (a bundle not trusted yet, a tampered one) keeps the running child and says
 * so on stderr: the consumer goes on with the last good values, as the daemon's outputs do.
 */
import { createHash } from 'node:crypto';
import type { Entry } from '../render/entries.js';
import { forwardSignals, type ChildHandle, type SignalSource } from './child.js';

/** How long a child gets to stop after SIGTERM before SIGKILL, by default. */
export const DEFAULT_GRACE_MS = 10_000;

/** The few fields of a status document a watcher looks at. */
export interface WatchedStatus {
  state: string;
  lastSync: { at: string; ok: boolean } | null;
}

export interface Subscription {
  close(): void;
}

export interface WatchDeps {
  /**
   * Subscribes to the daemon's status changes. Resolves once the daemon answered; rejects with
   * E_DAEMON_UNREACHABLE (exit 3) when none does. `onGone` is told when the daemon goes away.
   */
  subscribe(onStatus: (status: WatchedStatus) => void, onGone: (error: Error) => void): Promise<Subscription>;
  /** The selected entries, opened again with every check. Throws AppError. */
  reopen(): Promise<readonly Entry[]>;
  /** Starts the consumer with these entries in its environment. */
  start(entries: readonly Entry[]): ChildHandle;
  stderr(text: string): void;
  signals?: SignalSource;
  terminal?: boolean;
  graceMs?: number;
  /** Names the command in messages (already escaped). */
  label: string;
}

/** A digest of names and values, only ever compared in memory. */
export function entriesDigest(entries: readonly Entry[]): string {
  const hash = createHash('sha256');
  for (const e of entries) hash.update(e.name).update('\0').update(e.value).update('\0');
  return hash.digest('hex');
}

function delay(ms: number): Promise<'timeout'> {
  return new Promise((resolve) => setTimeout(() => resolve('timeout'), ms).unref());
}

/** Runs the consumer until it ends on its own; resolves with its exit code. */
export async function superviseWatching(initial: readonly Entry[], deps: WatchDeps): Promise<number> {
  let digest = entriesDigest(initial);
  let lastSyncAt: string | null = null;
  let restart: Promise<void> | null = null;
  let checking: Promise<void> = Promise.resolve();
  let child: ChildHandle | null = null;

  const check = async (): Promise<void> => {
    let entries: readonly Entry[];
    try {
      entries = await deps.reopen();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      deps.stderr(`mcp-secrets run: the daemon synced, but the bundle did not open for this command (${message.split('\n')[0]}); ${deps.label} keeps its current values\n`);
      return;
    }
    const next = entriesDigest(entries);
    if (next === digest || child === null) return;
    digest = next;
    const old = child;
    restart = (async () => {
      old.kill('SIGTERM');
      if ((await Promise.race([old.exited.then(() => 'ended' as const), delay(deps.graceMs ?? DEFAULT_GRACE_MS)])) === 'timeout') {
        deps.stderr(`mcp-secrets run: ${deps.label} did not stop within ${Math.round((deps.graceMs ?? DEFAULT_GRACE_MS) / 1000)} s of SIGTERM: SIGKILL\n`);
        old.kill('SIGKILL');
        await old.exited.catch(() => undefined);
      }
      child = deps.start(entries);
      deps.stderr(`mcp-secrets run: restarted ${deps.label}: its selected values changed\n`);
    })();
    await restart;
    restart = null;
  };

  const subscription = await deps.subscribe(
    (status) => {
      // A good sync that this watcher has not looked at yet: re-open and compare, one at a time.
      if (status.state !== 'fresh' || status.lastSync === null || !status.lastSync.ok || status.lastSync.at === lastSyncAt) return;
      // the first one too: the daemon may have synced between our own open and the subscription
      lastSyncAt = status.lastSync.at;
      checking = checking.then(check);
    },
    (error) => deps.stderr(`mcp-secrets run: ${error.message.split('\n')[0]}; ${deps.label} keeps running with its current values, without restarts\n`),
  );
  child = deps.start(initial);
  const stopSignals = forwardSignals(() => child, { signals: deps.signals, terminal: deps.terminal });
  try {
    for (;;) {
      const current: ChildHandle = child;
      const code = await current.exited;
      // A child we stopped to restart: wait for its successor and follow that one.
      if (restart !== null || current !== child) {
        await restart;
        if (current !== child) continue;
      }
      return code;
    }
  } finally {
    stopSignals();
    subscription.close();
  }
}
