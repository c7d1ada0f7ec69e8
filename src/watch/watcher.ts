/**
 * The change watcher the daemon sits on: the bundle, git's HEAD and current branch ref, the
 * index lock, the two outputs and extra files (`.sops.yaml`), each change tagged with a reason
 * and delivered as soon as it is complete (git's index lock gone), storms coalesced (settle.ts).
 *
 * Only named files are watched, never the repo (it may be huge). Git replaces files by rename
 * and checkout can remove a directory and bring it back; the roots sit above the targets so
 * both are seen. When HEAD moves to another branch the ref watch follows it.
 */
import { existsSync, lstatSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ReportingLogger } from '../log.js';
import { currentBranchRef, gitLayout, indexLockPath, refFilePath, type GitLayout } from '../git/layout.js';
import { createSettler, systemClock, type Clock, type Settler } from './settle.js';
import { canonicalPath, nearestExistingDir, outermostRoots, watchTargets, type TargetWatch } from './targets.js';

export type ChangeReason = 'source' | 'head' | 'branch-ref' | 'output' | 'index' | 'sops-config';

export interface WatchEvent {
  readonly reasons: ReadonlySet<ChangeReason>;
  /** The files that changed, as given in the options (absolute). */
  readonly paths: readonly string[];
}

export interface SourceWatcher {
  /** Stops every watch and drops a pending batch. */
  close(): Promise<void>;
  /** Resolves once the initial scans are done: changes after it are reported. */
  readonly ready: Promise<void>;
}

/** The watcher reports through any logger (the daemon passes `logger.child('watch')`). */
export type WatchLogger = ReportingLogger;

export interface WatchSourceOptions {
  /** The repo (git top level, or any directory when not in git). */
  readonly workTree: string;
  /** The bundle, absolute. */
  readonly sourcePath: string;
  /** The outputs; a change or deletion by someone else is reported as 'output'. */
  readonly outputPaths: readonly string[];
  /** More files that matter, e.g. `<repo>/.sops.yaml`; reported as 'sops-config'. */
  readonly extraPaths?: readonly string[];
  /**
   * Quiet time before onChange during a storm (it doubles while the storm lasts). The first change
   * after a pause is delivered at once. Default 75 ms.
   */
  readonly settleMs?: number;
  /** Longest delay from the first change of a batch to onChange (lock waits aside). Default 1000 ms. */
  readonly maxSettleMs?: number;
  /** Longest wait for `index.lock` to go before it is taken as stale (logged). Default 10 s. */
  readonly lockCapMs?: number;
  /** Called once per settled batch; errors it throws are logged, not propagated. */
  onChange(event: WatchEvent): void;
  readonly logger?: WatchLogger;
  readonly clock?: Clock;
}

interface ResolvedOptions {
  readonly workTree: string;
  readonly sourcePath: string;
  readonly outputPaths: readonly string[];
  readonly extraPaths: readonly string[];
  readonly settleMs: number;
  readonly maxSettleMs: number;
  readonly lockCapMs: number;
  readonly onChange: (event: WatchEvent) => void;
  readonly logger: WatchLogger;
  readonly clock: Clock;
}

const silentLogger: WatchLogger = { debug: () => {}, info: () => {}, warn: () => {} };

function absolute(name: string, value: unknown): string {
  if (typeof value !== 'string' || !path.isAbsolute(value)) {
    throw new TypeError(`watchSource: ${name} must be an absolute path, not ${JSON.stringify(value)}`);
  }
  return path.resolve(value);
}

function duration(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`watchSource: ${name} must be a duration in ms >= 0, not ${String(value)}`);
  return value;
}

/** Applies defaults, validates (naming the option and the bad value) and freezes. */
export function resolveWatchOptions(options: WatchSourceOptions): ResolvedOptions {
  const settleMs = duration('settleMs', options.settleMs, 75);
  const maxSettleMs = duration('maxSettleMs', options.maxSettleMs, Math.max(1000, settleMs));
  if (maxSettleMs < settleMs) throw new TypeError(`watchSource: maxSettleMs (${maxSettleMs}) must not be below settleMs (${settleMs})`);
  if (typeof options.onChange !== 'function') throw new TypeError('watchSource: onChange must be a function');
  return Object.freeze({
    workTree: absolute('workTree', options.workTree),
    sourcePath: absolute('sourcePath', options.sourcePath),
    outputPaths: Object.freeze(options.outputPaths.map((p, i) => absolute(`outputPaths[${i}]`, p))),
    extraPaths: Object.freeze((options.extraPaths ?? []).map((p, i) => absolute(`extraPaths[${i}]`, p))),
    settleMs,
    maxSettleMs,
    lockCapMs: duration('lockCapMs', options.lockCapMs, 10_000),
    onChange: options.onChange,
    logger: options.logger ?? silentLogger,
    clock: options.clock ?? systemClock,
  });
}

/** A set of watched files: canonical path → (reason, path as the caller spelled it). */
type TargetTable = Map<string, { reason: ChangeReason; original: string }>;

function addTarget(table: TargetTable, file: string, reason: ChangeReason): void {
  const canonical = canonicalPath(file);
  if (!table.has(canonical)) table.set(canonical, { reason, original: file });
}

function isFile(file: string): boolean {
  try {
    return lstatSync(file).isFile();
  } catch {
    return false;
  }
}

function inode(dir: string): number | null {
  try {
    return statSync(dir).ino;
  } catch {
    return null;
  }
}

/**
 * Starts watching. Resolves once the watches are set up; `ready` resolves after their initial
 * scans. Works outside git too (then only the bundle, outputs and extra paths are watched).
 * @throws TypeError for bad options (a bug in the caller).
 */
export async function watchSource(options: WatchSourceOptions): Promise<SourceWatcher> {
  const opts = resolveWatchOptions(options);
  const { logger } = opts;
  const layout = await gitLayout(opts.workTree);
  const lockFile = layout ? indexLockPath(layout) : null;
  let closed = false;

  const settler: Settler<ChangeReason> = createSettler<ChangeReason>({
    settleMs: opts.settleMs,
    maxSettleMs: opts.maxSettleMs,
    lockCapMs: opts.lockCapMs,
    lockRecheckMs: Math.max(25, Math.min(250, opts.settleMs)),
    clock: opts.clock,
    isLocked: () => lockFile !== null && existsSync(lockFile),
    // our own publishes show up as 'output' right after each sync: they are not a storm
    countsForStorm: (reason) => reason !== 'output',
    fire: (batch) => {
      logger.debug('change settled', { reasons: [...batch.reasons], paths: batch.paths.length });
      try {
        opts.onChange({ reasons: batch.reasons, paths: batch.paths });
      } catch (error) {
        logger.warn('onChange failed', { error: error instanceof Error ? error.message : String(error) });
      }
    },
    onLockWait: () => logger.debug('waiting for index.lock to go', { path: lockFile }),
    onStaleLock: (waitedMs) =>
      logger.warn('index.lock still present; syncing anyway (a crashed git may have left it: remove it if no git command is running)', {
        path: lockFile,
        waitedMs: Math.round(waitedMs),
      }),
  });

  const onError = (error: unknown) => {
    if (!closed) logger.warn('watcher error', { error: error instanceof Error ? error.message : String(error) });
  };

  // Static targets: everything except the branch ref, which follows HEAD, and the outputs.
  const staticTargets: TargetTable = new Map();
  addTarget(staticTargets, opts.sourcePath, 'source');
  for (const p of opts.extraPaths) addTarget(staticTargets, p, 'sops-config');
  if (layout) {
    addTarget(staticTargets, path.join(layout.gitDir, 'HEAD'), 'head');
    // The lock is often gone before a directory scan sees it; the index it is renamed to is not.
    // Watching the index also catches `git add` resolving a conflict without touching the bundle.
    addTarget(staticTargets, indexLockPath(layout), 'index');
    addTarget(staticTargets, path.join(layout.gitDir, 'index'), 'index');
  }

  const canonicalTree = canonicalPath(opts.workTree);
  /** Roots: the work tree for what lives in it (so vanished directories come back), else the target's directory. */
  const staticRoots = (): string[] =>
    outermostRoots(
      [...staticTargets.keys()].map((target) => {
        const rel = path.relative(canonicalTree, target);
        const inTree = !rel.startsWith('..') && !path.isAbsolute(rel);
        return nearestExistingDir(inTree ? canonicalTree : path.dirname(target));
      }),
    );

  const deliver = (table: TargetTable) => (event: string, file: string) => {
    const entry = table.get(file);
    if (!entry || closed) return;
    logger.debug('fs event', { event, reason: entry.reason, path: entry.original });
    settler.note(entry.reason, entry.original);
    if (entry.reason === 'head') retargetRef();
    if (entry.reason === 'output') {
      if (event !== 'change') restartOutputs();
    } else if (event !== 'change') checkRoots();
  };

  // The outputs: each watched as a file, not through its directory. A watched directory is
  // re-read (an lstat per entry) on every event in it, and one publish makes ~7 per output in
  // home (temp created, chmod, write, backup link, rename, backup removed): ~6 ms of the daemon's
  // main thread on the path from a change to fresh outputs. A file watch sees only the output: a
  // write, a chmod, a new link, a rename over it (chokidar follows the new inode), its removal.
  // A missing output is watched through its nearest directory until it exists; after an add or
  // an unlink the watch starts over, so it goes back to the file.
  const outputTargets: TargetTable = new Map();
  for (const p of opts.outputPaths) addTarget(outputTargets, p, 'output');
  const outputRoots = (): string[] => outermostRoots([...outputTargets.keys()].map((target) => (isFile(target) ? target : nearestExistingDir(path.dirname(target)))));
  let watchedOutputRoots: string[] = [];
  const startOutputs = (): TargetWatch => {
    watchedOutputRoots = outputRoots();
    logger.debug('watching the outputs', { roots: watchedOutputRoots });
    return watchTargets({ targets: [...outputTargets.keys()], roots: watchedOutputRoots, onEvent: deliver(outputTargets), onError });
  };
  let outputWatch = startOutputs();
  let restartingOutputs: Promise<void> = Promise.resolve();
  let outputRestartPending = false;
  function restartOutputs(): void {
    if (outputRestartPending) return;
    outputRestartPending = true;
    restartingOutputs = restartingOutputs.then(async () => {
      outputRestartPending = false;
      if (closed) return;
      logger.debug('an output was added or removed; watching the outputs again');
      await outputWatch.close();
      if (closed) return;
      outputWatch = startOutputs();
      await outputWatch.ready;
      if (closed) return;
      // whatever happened to an output while no watch was up: the daemon looks once (a cheap
      // integrity probe; nothing is published when they are intact)
      for (const entry of outputTargets.values()) settler.note('output', entry.original);
      logger.debug('watching again: ready');
      // an output that came back while the watch started was in its first scan, not an event
      if (outputRoots().join('\0') !== watchedOutputRoots.join('\0')) restartOutputs();
    });
  }

  let roots: { dir: string; ino: number | null }[] = [];
  let staticWatch: TargetWatch;
  const startStatic = (): TargetWatch => {
    roots = staticRoots().map((dir) => ({ dir, ino: inode(dir) }));
    logger.debug('watching', { roots: roots.map((r) => r.dir), targets: staticTargets.size });
    return watchTargets({ targets: [...staticTargets.keys()], roots: roots.map((r) => r.dir), onEvent: deliver(staticTargets), onError });
  };
  staticWatch = startStatic();

  // A root directory that was removed (or replaced) leaves a dead watch, and a root that had to
  // fall back to an ancestor should move back down once its directory exists again: start over.
  let restarting: Promise<void> = Promise.resolve();
  function checkRoots(): void {
    const wanted = staticRoots();
    const unchanged = wanted.length === roots.length && wanted.every((dir, i) => roots[i]?.dir === dir && roots[i]?.ino === inode(dir));
    if (unchanged) return;
    restarting = restarting.then(async () => {
      if (closed) return;
      logger.info('a watched directory was removed or replaced; watching again', { roots: roots.map((r) => r.dir) });
      await staticWatch.close();
      if (closed) return;
      staticWatch = startStatic();
      await staticWatch.ready;
      if (closed) return;
      // Whatever changed while no watch was up went unseen: report every kind of target once.
      for (const reason of new Set([...staticTargets.values()].map((entry) => entry.reason))) settler.note(reason);
      logger.debug('watching again: ready');
    });
  }

  // The branch ref (loose file and packed-refs) of whatever HEAD points at.
  let refWatch: TargetWatch | null = null;
  let watchedRef: string | null | undefined;
  let retargeting: Promise<void> = Promise.resolve();
  const startRef = async (gitLayoutNow: GitLayout): Promise<void> => {
    const ref = await currentBranchRef(gitLayoutNow);
    if (closed || ref === watchedRef) return;
    await refWatch?.close();
    const switched = watchedRef !== undefined;
    const refFile = ref === null ? null : refFilePath(gitLayoutNow, ref);
    watchedRef = ref;
    const table: TargetTable = new Map();
    addTarget(table, path.join(gitLayoutNow.commonDir, 'packed-refs'), 'branch-ref');
    if (ref !== null) addTarget(table, refFilePath(gitLayoutNow, ref), 'branch-ref');
    logger.debug('following branch ref', { ref });
    refWatch = watchTargets({ targets: [...table.keys()], roots: [nearestExistingDir(gitLayoutNow.commonDir)], onEvent: deliver(table), onError });
    await refWatch.ready;
    // The new branch may have moved while this watch was starting (checkout -b, then commit at
    // once), even before `before` was read: after a switch, report the ref once the watch is up.
    if (switched && refFile !== null && !closed) settler.note('branch-ref', refFile);
  };
  function retargetRef(): void {
    if (!layout) return;
    retargeting = retargeting.then(() => startRef(layout)).catch(onError);
  }
  retargetRef();

  const ready = (async () => {
    await staticWatch.ready;
    await outputWatch.ready;
    await retargeting;
    logger.debug('ready');
  })();

  return {
    ready,
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      settler.dispose();
      await Promise.allSettled([retargeting, restarting, restartingOutputs]);
      await Promise.all([staticWatch.close(), outputWatch.close(), refWatch?.close()]);
    },
  };
}
