/**
 * Records a watcher's onChange calls and log lines so tests can wait for them (with a timeout)
 * instead of sleeping.
 */
import type { ChangeReason, WatchEvent, WatchLogger } from '../../src/watch/index.js';

export interface Recorded {
  at: number;
  reasons: ChangeReason[];
  paths: readonly string[];
}

type Waiter = () => boolean;

export class WatchRecorder {
  readonly events: Recorded[] = [];
  readonly logs: { level: 'debug' | 'info' | 'warn'; message: string; meta?: Record<string, unknown> }[] = [];
  private waiters = new Set<Waiter>();

  readonly onChange = (event: WatchEvent): void => {
    this.events.push({ at: performance.now(), reasons: [...event.reasons], paths: event.paths });
    this.poke();
  };

  readonly logger: WatchLogger = {
    debug: (message, meta) => this.log('debug', message, meta),
    info: (message, meta) => this.log('info', message, meta),
    warn: (message, meta) => this.log('warn', message, meta),
  };

  private log(level: 'debug' | 'info' | 'warn', message: string, meta?: Record<string, unknown>): void {
    this.logs.push({ level, message, meta });
    this.poke();
  }

  private poke(): void {
    for (const waiter of [...this.waiters]) if (waiter()) this.waiters.delete(waiter);
  }

  /** Index to pass to waits: only what is recorded after this point counts. */
  mark(): number {
    return this.events.length;
  }

  /** Reasons seen in onChange calls since `mark`, merged. */
  reasonsSince(mark: number): Set<ChangeReason> {
    return new Set(this.events.slice(mark).flatMap((e) => e.reasons));
  }

  /** Resolves once `condition` holds (checked on every call and log line), rejects after `timeoutMs`. */
  waitUntil(condition: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
    if (condition()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(waiter);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}; calls: ${JSON.stringify(this.events.map((e) => e.reasons))}`));
      }, timeoutMs);
      const waiter = () => {
        if (!condition()) return false;
        clearTimeout(timer);
        resolve();
        return true;
      };
      this.waiters.add(waiter);
    });
  }

  /** Waits until the onChange calls since `mark` together carry every reason in `reasons`. */
  waitForReasons(mark: number, reasons: readonly ChangeReason[], timeoutMs?: number): Promise<Set<ChangeReason>> {
    return this.waitUntil(() => reasons.every((r) => this.reasonsSince(mark).has(r)), `reasons ${reasons.join(', ')}`, timeoutMs).then(() =>
      this.reasonsSince(mark),
    );
  }

  /** Waits for a log line whose message includes `text`, after the first `skip` such lines. */
  waitForLog(text: string, timeoutMs?: number): Promise<void> {
    return this.waitUntil(() => this.logs.some((l) => l.message.includes(text)), `log "${text}"`, timeoutMs);
  }
}

/** Resolves after `ms`: only for asserting that nothing happens during a period. */
export function quietPeriod(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
