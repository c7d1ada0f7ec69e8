/**
 * When to act on a change. Correctness does not come from waiting (DESIGN.md "Daemon"): git's
 * `index.lock` says when a checkout, merge or pull is complete, and a bundle read mid-write fails
 * its MAC (or parse) and is retried by the daemon core, never published. So:
 *
 * - the first change after a pause fires at once (on the next timer turn, so the events of one
 *   file-system change arrive as one batch);
 * - never while git holds `index.lock`: wait for the lock to go, then fire at once;
 * - storms coalesce: a change that comes within twice `settleMs` of the last call (a script
 *   running checkout after checkout) waits for `settleMs` of quiet, a window that doubles while
 *   the storm lasts, up to `maxSettleMs`, and firing no later than `maxSettleMs` after the first
 *   change of a batch, so a steady stream still fires;
 * - a lock older than `lockCapMs` is taken as left behind by a crashed git: fire anyway, report it
 *   once, and stop waiting for that lock until it has been seen gone.
 *
 * Pure: time comes from the injected clock, the lock from `isLocked()`; no fs, no chokidar.
 */

/** The timer functions and time source, injectable so tests run on a fake clock. */
export interface Clock {
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Milliseconds, monotonic. */
  now(): number;
}

export const systemClock: Clock = Object.freeze({
  setTimeout: (callback: () => void, ms: number): unknown => setTimeout(callback, ms),
  clearTimeout: (handle: unknown): void => clearTimeout(handle as NodeJS.Timeout),
  now: (): number => performance.now(),
});

export interface SettledBatch<R extends string> {
  readonly reasons: ReadonlySet<R>;
  readonly paths: readonly string[];
}

export interface SettleOptions<R extends string> {
  /** Quiet time before firing during a storm (it doubles while the storm lasts); after a pause, changes fire at once. */
  readonly settleMs: number;
  /** Longest time from the first change of a batch to firing (not counting lock waits). */
  readonly maxSettleMs: number;
  /** Longest wait for `index.lock` to go before it is considered stale. */
  readonly lockCapMs: number;
  /** How often to look at the lock while waiting for it (events usually come first). */
  readonly lockRecheckMs: number;
  readonly clock: Clock;
  /** Whether git holds the index lock right now (a cheap synchronous check). */
  isLocked(): boolean;
  /** Called with each settled batch. */
  fire(batch: SettledBatch<R>): void;
  /**
   * Whether a reason counts for storm detection (default: every reason). The daemon's own
   * writes (its outputs) must not: each sync would otherwise widen the next window.
   */
  countsForStorm?(reason: R): boolean;
  /** Called when a settled batch starts waiting for the lock. */
  onLockWait?(): void;
  /** Called when a lock outlived `lockCapMs` and the batch fired anyway. */
  onStaleLock?(waitedMs: number): void;
}

type Phase = 'idle' | 'quiet' | 'locked';

export interface Settler<R extends string> {
  /** Records a change; starts or extends the batch. */
  note(reason: R, path?: string): void;
  /** True while a batch is waiting to fire. */
  readonly pending: boolean;
  /** Drops the pending batch and every timer. Later notes are ignored. */
  dispose(): void;
}

/** Creates a settler. Options are taken as given (the watcher validates them). */
export function createSettler<R extends string>(options: SettleOptions<R>): Settler<R> {
  const { clock } = options;
  let phase: Phase = 'idle';
  let reasons = new Set<R>();
  let paths = new Set<string>();
  let batchStart = 0;
  /** When the last batch holding a storm-counting reason fired. */
  let lastFireAt = Number.NEGATIVE_INFINITY;
  const counts = options.countsForStorm ?? (() => true);
  /** The quiet window of the current batch: 0 after a pause, settleMs and longer during storms. */
  let windowMs = 0;
  let lockSince = 0;
  let timer: unknown = null;
  let disposed = false;
  /** A lock we already gave up on: do not wait for it again until it has been seen gone. */
  let staleLock = false;

  const arm = (ms: number, callback: () => void) => {
    if (timer !== null) clock.clearTimeout(timer);
    timer = clock.setTimeout(() => {
      timer = null;
      callback();
    }, Math.max(0, ms));
  };

  const flush = () => {
    const batch: SettledBatch<R> = { reasons, paths: [...paths] };
    reasons = new Set();
    paths = new Set();
    phase = 'idle';
    if ([...batch.reasons].some(counts)) lastFireAt = clock.now();
    options.fire(batch);
  };

  const locked = (): boolean => {
    const now = options.isLocked();
    if (!now) staleLock = false;
    return now && !staleLock;
  };

  const startQuiet = (ms: number) => {
    phase = 'quiet';
    arm(ms, onQuiet);
  };

  function onQuiet(): void {
    if (!locked()) {
      flush();
      return;
    }
    phase = 'locked';
    lockSince = clock.now();
    options.onLockWait?.();
    arm(Math.min(options.lockRecheckMs, options.lockCapMs), checkLock);
  }

  function checkLock(): void {
    if (!locked()) {
      // Git released the index: the work tree is complete. A HEAD or ref move that follows is a
      // change of its own (it comes within the window, so it coalesces with whatever follows).
      startQuiet(windowMs);
      return;
    }
    const waited = clock.now() - lockSince;
    if (waited >= options.lockCapMs) {
      staleLock = true;
      options.onStaleLock?.(waited);
      flush();
      return;
    }
    arm(Math.min(options.lockRecheckMs, options.lockCapMs - waited), checkLock);
  }

  return {
    note(reason: R, path?: string): void {
      if (disposed) return;
      reasons.add(reason);
      if (path !== undefined) paths.add(path);
      const now = clock.now();
      if (phase === 'idle') {
        batchStart = now;
        // after a pause (twice the quiet window, or the grown window): at once; close behind the
        // last call: a storm, so wait for quiet, longer each time
        const inStorm = counts(reason) && now - lastFireAt < Math.max(windowMs, 2 * options.settleMs);
        windowMs = !inStorm ? 0 : windowMs === 0 ? options.settleMs : Math.min(windowMs * 2, options.maxSettleMs);
        startQuiet(windowMs);
      } else if (phase === 'quiet') {
        startQuiet(Math.min(windowMs, batchStart + options.maxSettleMs - now));
      } else {
        // Waiting for the lock: this event may be its removal.
        checkLock();
      }
    },
    get pending(): boolean {
      return phase !== 'idle';
    },
    dispose(): void {
      disposed = true;
      if (timer !== null) clock.clearTimeout(timer);
      timer = null;
      phase = 'idle';
      reasons = new Set();
      paths = new Set();
    },
  };
}
