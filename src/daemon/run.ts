/**
 * Wires the daemon together: stderr logger → home checks → home lock → IPC socket → log file →
 * watcher → first sync. The core (`core.ts`) owns state; this file owns lifetimes (start order,
 * signals, shutdown).
 *
 * Order matters: nothing is written in home before home is checked (ours, 0700) and this daemon
 * is its only one (the home lock: one writer per home, whatever the socket) and owns its socket.
 * A second daemon exits with E_ALREADY_RUNNING having created nothing, not even `<home>/logs`;
 * the log file is opened last, without following links (log-file.ts).
 */

import path from 'node:path';
import { isAppError } from '../errors.js';
import { READ_LIMITS, readBounded } from '../fsx/read-bounded.js';
import { VERSION } from '../version.js';
import { createLogger, Redactor, type RootLogger } from '../log.js';
import type { CommonOptions } from '../config/options.js';
import { planFor, syncOnce, sha256Hex, type IdentityLookup, type SyncPlan } from '../bundle/sync-once.js';
import { configuredOutputs, readOutputsRecord, resolveOutputs } from '../bundle/outputs.js';
import { REPO_CONFIG_FILE } from '../config/repo-config.js';
import { acceptConfigGrant } from '../trust/config-grants.js';
import { loadUserConfig } from '../config/user-config.js';
import { HookRunner } from './hooks.js';
import { acquireHomeLock, ensureHome, LinkedCopies, removeStaleTemps, verifyOutputsIntact, type HomeLock } from '../bundle/home.js';
import { assertNoDaemonOn, startIpcServer, type IpcServer } from '../ipc/server.js';
import { watchSource, type SourceWatcher } from '../watch/watcher.js';
import { DaemonCore, type Probe } from './core.js';
import { acceptDataKey } from '../trust/data-keys.js';

export interface DaemonOptions {
  common: CommonOptions;
  repo: string;
  /**
   * The watcher's storm window (ms, default 75). A parse or MAC failure is reported after a quiet
   * window of max(250, 2 × settleMs), or once it has lasted eight of those.
   */
  settleMs?: number;
  /** Resolves identities; called again after a failure that might be fixed by an import. */
  identities: () => Promise<IdentityLookup>;
  env: Readonly<Record<string, string | undefined>>;
  stderr?: NodeJS.WritableStream;
}

export interface RunningDaemon {
  core: DaemonCore;
  logger: RootLogger;
  /** Resolves when the daemon has stopped (signal or stop()). */
  stopped: Promise<void>;
  stop(reason: string): Promise<void>;
  reload(): Promise<void>;
}

/** How often the daemon looks at the outputs' modes, owners and links between watcher events. */
const INTEGRITY_CHECK_MS = 5_000;

/** The quiet window before a parse, decrypt or MAC failure is reported (see core.ts). */
export function confirmFailureMs(settleMs: number | undefined): number {
  return Math.max(250, 2 * (settleMs ?? 75));
}

async function fileSha256(file: string): Promise<string | null> {
  try {
    // a symlink, FIFO or device planted at an output does not count as our output (the reader
    // refuses it without blocking): the next sync replaces it
    return sha256Hex(await readBounded(file, { limit: READ_LIMITS.output, what: 'the output' }));
  } catch {
    return null;
  }
}

export async function startDaemon(options: DaemonOptions): Promise<RunningDaemon> {
  const { common, repo } = options;
  const redactor = new Redactor();
  // stderr only until the checks below pass; the file is attached once home is known to be ours alone
  const logger = createLogger({ level: common.logLevel, redactor, stderrStream: options.stderr });
  const log = logger.child('daemon');
  const plan: SyncPlan = planFor(repo, common.source, common.home, common.engine);
  // The outputs before the first sync (for the status and the watcher): the repo config's as it
  // is now; an invalid one is reported by the sync itself. Each good sync then lists its own.
  const configured = await configuredOutputs(repo);
  const outputs = resolveOutputs(common.home, configured).map((o) => ({ kind: o.kind, format: o.format, path: o.path }));

  // Identities live in memory only, resolved lazily and forgotten after any failure an import could fix.
  let identities: IdentityLookup | null = null;
  const forgetIdentities = (): void => {
    identities = null;
  };

  const linkedCopies = new LinkedCopies();
  // `core` is assigned below; hooks report only after a sync, long after it exists
  let coreRef: DaemonCore | null = null;
  const hookRunner = new HookRunner({
    env: options.env,
    now: () => new Date(),
    logger: logger.child('hooks'),
    hooks: async () => (await loadUserConfig(options.env)).hooks,
    onOutcome: (outputPath, outcome) => coreRef?.noteHook(outputPath, outcome),
  });
  const core = new DaemonCore({
    runSync: async () => {
      try {
        return await syncOnce(plan, { identities: async () => (identities ??= await options.identities()), env: options.env });
      } catch (error) {
        if (isAppError(error) && ['E_NO_IDENTITY', 'E_IDENTITY_MISMATCH', 'E_KEYCHAIN'].includes(error.code)) forgetIdentities();
        throw error;
      }
    },
    probe: async (expected, current): Promise<Probe> => {
      const sourceSha256 = await fileSha256(plan.sourceAbs);
      const integrity = await verifyOutputsIntact(common.home, current.map((o, i) => ({ path: o.path, sha256: expected[i] ?? null })));
      return { sourceExists: sourceSha256 !== null, sourceSha256, integrity };
    },
    linkedCopies,
    integrityCheckMs: INTEGRITY_CHECK_MS,
    confirmFailureMs: confirmFailureMs(options.settleMs),
    maxDeferMs: 8 * confirmFailureMs(options.settleMs),
    now: () => new Date(),
    logger: logger.child('sync'),
    daemon: { pid: process.pid, version: VERSION, startedAt: new Date().toISOString(), socket: common.socket },
    sourcePath: plan.sourceAbs,
    outputs,
    onSecrets: (values) => redactor.setSecrets(values),
    onLock: forgetIdentities,
    acceptDataKey: (bundlePath, digest) => acceptDataKey(common.home, bundlePath, digest),
    acceptConfig: (file, grant) => acceptConfigGrant(common.home, file, grant),
    onSynced: (result, previous) => void hookRunner.synced(result, previous),
  });
  coreRef = core;

  let server: IpcServer | null = null;
  let watcher: SourceWatcher | null = null;
  let homeLock: HomeLock | null = null;
  try {
    await assertNoDaemonOn(common.socket);
    // the configured and recorded outputs are ours: a loose custom home holding them is tightened
    // (the record is read only once home passed its other checks)
    const ourNames = async () => [...configured.map((o) => o.file), ...(await readOutputsRecord(common.home).catch(() => []))];
    const home = await ensureHome(common.home, { ourNames });
    homeLock = await acquireHomeLock(common.home, common.socket);
    server = await startIpcServer({
      socketPath: common.socket,
      logger: logger.child('ipc'),
      port: {
        getStatus: () => core.status(),
        requestSync: () => {
          forgetIdentities();
          return core.requestSync();
        },
        waitFresh: (ms) => core.waitFresh(ms),
        acknowledge: () => core.acknowledge(),
        lock: (reason) => core.lock(reason),
        onStatusChange: (listener) => core.onStatusChange(listener),
      },
    });
    logger.attachLogFile(path.join(common.home, 'logs'));
    for (const w of home.warnings) log.warn(w);
    const removed = await removeStaleTemps(common.home);
    if (removed.length > 0) log.info('removed temp files left by an earlier crash', { count: removed.length });

    watcher = await watchSource({
      workTree: repo,
      sourcePath: plan.sourceAbs,
      outputPaths: outputs.map((o) => o.path),
      // the repo config decides the outputs: a change to it needs a full sync, as .sops.yaml does
      extraPaths: [path.join(repo, '.sops.yaml'), path.join(repo, REPO_CONFIG_FILE)],
      settleMs: options.settleMs,
      logger: logger.child('watch'),
      onChange: (event) => void core.trigger({ reasons: [...event.reasons] }),
    });
  } catch (error) {
    await watcher?.close();
    await server?.close();
    await homeLock?.release();
    await logger.close();
    throw error;
  }

  log.info('daemon started', { pid: process.pid, version: VERSION, repo, source: plan.sourceRel, home: common.home, socket: common.socket });
  void core.trigger({ reasons: ['startup'], force: true });

  let resolveStopped!: () => void;
  const stopped = new Promise<void>((r) => (resolveStopped = r));
  let stopping: Promise<void> | null = null;
  const stop = (reason: string): Promise<void> =>
    (stopping ??= (async () => {
      log.info('stopping', { reason });
      core.close();
      await watcher?.close();
      // a sync still running must end before the log and the home lock go (it logs, it publishes)
      await core.idle();
      await linkedCopies.close();
      await server?.close();
      await homeLock?.release();
      await logger.close();
      resolveStopped();
    })());

  return {
    core,
    logger,
    stopped,
    stop,
    reload: async () => {
      log.info('reload requested: re-reading identities and syncing');
      forgetIdentities();
      await core.requestSync();
    },
  };
}
