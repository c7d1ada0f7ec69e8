/**
 * The daemon's single owner of state. Everything that changes what `status` says goes through here:
 * triggers from the watcher, IPC requests, signals. It knows nothing of chokidar, sockets or files;
 * it is given a `runSync` (the whole pipeline) and a cheap `probe` (hashes and stats, no decrypt).
 *
 * Rules (DESIGN.md "Daemon"): syncs never overlap and a trigger during a sync queues exactly one
 * more; a bundle whose sha256 matches the last good sync with intact outputs needs no work; every
 * failure keeps the last good outputs; `fresh` is true exactly when the outputs on disk are what
 * the bundle on disk produces, with the mode, owner and link count they were published with.
 * Every field of the status describes the same moment: no `fresh` beside a failed last sync, no
 * commit beside bytes it did not produce, no recipient of an identity that is gone.
 *
 * The watcher fires as soon as a change is complete, so a sync may read a bundle still being
 * written (an editor's save, a checkout outside git's lock). Such a read fails to parse, is cut
 * before its sops metadata, fails to decrypt or to match its MAC, and nothing is published; the failure is reported only if it persists: it is
 * retried on the next change or after `confirmFailureMs` of quiet, and reported then (or once it
 * has lasted `maxDeferMs`), so a checkout never raises a false tamper alarm.
 */
import { AppError, isAppError, asAppError } from '../errors.js';
import type { Logger } from '../log.js';
import {
  PROTOCOL_VERSION,
  type DaemonState,
  type StatusDocument,
  type StatusNotice,
  type StatusError,
  type StatusLastSync,
  type StatusOutput,
  type StatusHook,
  type StatusDaemonInfo,
  type StatusIdentity,
  type IdentitySource,
} from '../ipc/status.js';
import type { SyncSuccess } from '../bundle/sync-result.js';
import { DataKeyChangedError } from '../trust/data-keys.js';
import { ConfigWidenedError } from '../trust/config-grants.js';
import type { ConfigGrant } from '../config/config-trust.js';
import type { IntegrityReport, LinkedCopy } from '../bundle/home.js';
import { configWidenedNotice, dataKeyNotice, linkedCopiesMessage, recipientsNotice } from './notices.js';

/** What a cheap look at the disk says (no decryption). */
export interface Probe {
  sourceExists: boolean;
  sourceSha256: string | null;
  /** Home and each output (in the order of `outputs`) against what the last good sync published. */
  integrity: IntegrityReport;
}

/** Follows outputs that had a second hard link (see publish/integrity.ts). */
export interface LinkedCopyTracker {
  track(path: string): Promise<boolean>;
  remaining(): Promise<LinkedCopy[]>;
}

export interface DaemonCoreDeps {
  runSync(): Promise<SyncSuccess>;
  /**
   * `expected`: the sha256 each output was last published with (null: none yet), kept in memory
   * only; `outputs`: the outputs it is about, in the same order (they follow the repo config).
   */
  probe(expected: readonly (string | null)[], outputs: readonly DaemonOutput[]): Promise<Probe>;
  /** Earlier output inodes still linked under another name; none tracked when absent. */
  linkedCopies?: LinkedCopyTracker;
  /**
   * How often to look at the outputs' and home's modes, owners and links between watcher events
   * (a chmod of home is no event): ms, 0 or absent for never. The look is a few lstat calls and
   * a hash of the outputs, compared in memory.
   */
  integrityCheckMs?: number;
  now(): Date;
  logger: Logger;
  daemon: StatusDaemonInfo;
  sourcePath: string;
  /** The outputs before the first sync (the repo config's at start); each good sync then says which. */
  outputs: readonly DaemonOutput[];
  /** Called with the values of each good sync (for log redaction), and with [] when locked by purge. */
  onSecrets(values: string[]): void;
  /** Forget identities held in memory (purge). */
  onLock?(): void;
  /** Records a data key digest as accepted for the bundle (`status --ack` of DATA_KEY_CHANGED). */
  acceptDataKey?(bundlePath: string, digest: string): Promise<void>;
  /** Records a repo config grant as accepted (`status --ack` of CONFIG_WIDENED). */
  acceptConfig?(file: string, grant: ConfigGrant): Promise<void>;
  /** Called after each good sync with its result and the one before (null: the first). Change hooks. */
  onSynced?(result: SyncSuccess, previous: SyncSuccess | null): void;
  /**
   * Quiet time after a parse, decrypt or MAC failure of a watcher-triggered sync before it is
   * retried and, if it fails again, reported (ms; default 250; 0 reports at once).
   */
  confirmFailureMs?: number;
  /** Longest a failure keeps being retried before it is reported, changes or not (ms; default 2000). */
  maxDeferMs?: number;
}

/** An output as the daemon lists it. */
export interface DaemonOutput {
  kind: StatusOutput['kind'];
  format: StatusOutput['format'];
  path: string;
}

export type Trigger = { reasons: readonly string[]; force?: boolean };

/**
 * Failures a bundle read mid-write gives (cut before its sops metadata, cut inside a value, new
 * values beside the old MAC): retried before they are reported.
 */
const MID_WRITE_CODES = new Set(['E_PARSE', 'E_NOT_SOPS', 'E_DECRYPT', 'E_MAC_MISMATCH']);

interface Job {
  force: boolean;
  /** The retry after the quiet window: a failure now is reported. */
  confirm: boolean;
  waiters: (() => void)[];
  reasons: Set<string>;
}

const STATE_FOR_CODE: Partial<Record<string, DaemonState>> = {
  E_CONFLICT: 'conflict',
  E_SOURCE_MISSING: 'missing',
  E_NO_IDENTITY: 'locked',
  E_IDENTITY_MISMATCH: 'locked',
  E_KEYCHAIN: 'locked',
};

/**
 * Reasons that need a full sync even when the bundle bytes and outputs are unchanged: git's HEAD
 * moved (the provenance in console-secrets.json may have changed), or `.sops.yaml` changed (its
 * recipients are compared for the RECIPIENTS_CHANGED notice), or the provenance is asked again
 * ({@link DaemonCore.recheckProvenance}).
 */
const FULL_SYNC_REASONS = new Set(['head', 'branch-ref', 'sops-config', 'provenance']);

export class DaemonCore {
  private state: DaemonState = 'starting';
  private lastSync: StatusLastSync | null = null;
  private lastGood: SyncSuccess | null = null;
  private sourceExists = false;
  private sourceSha256: string | null = null;
  private identity: StatusIdentity = { source: 'none', recipients: [], opens: null, opensNothing: [] };
  /** The outputs listed in the status: the last good sync's (the repo config decides them). */
  private outputs: readonly DaemonOutput[];
  /** Per output, as last seen: intact or not (all false before the first good sync). */
  private outputIntact: boolean[];
  /** The last change hook's outcome per output path. */
  private readonly hooks = new Map<string, StatusHook>();
  /** The last attempt "failed" only because an earlier output is still linked under another name. */
  private linkedFailure = false;
  private integrityTimer: NodeJS.Timeout | null = null;
  private notices: StatusNotice[] = [];
  private manualLock: { reason: string; since: string } | null = null;
  /** Recipient sets seen at the last good sync: the bundle's and `.sops.yaml`'s (null: not seen yet). */
  private knownRecipients: { bundle: readonly string[] | null; config: readonly string[] | null } = { bundle: null, config: null };
  /** The unaccepted data key behind a DATA_KEY_CHANGED notice: exactly what `status --ack` accepts. */
  private pendingDataKey: { bundlePath: string; digest: string } | null = null;
  /** The widened repo config behind a CONFIG_WIDENED notice: exactly what `status --ack` accepts. */
  private pendingConfig: { file: string; grant: ConfigGrant; key: string } | null = null;

  private running: Promise<void> | null = null;
  private queued: Job | null = null;
  private closed = false;
  /** A failure held back as possibly mid-write: when it was first seen, and the retry timer. */
  private deferred: { since: number; timer: NodeJS.Timeout | null } | null = null;
  /** The bundle whose "not HEAD's bytes" provenance was asked again (once per bundle), and the timer. */
  private provenanceRecheck: { sha: string | null; timer: NodeJS.Timeout | null } = { sha: null, timer: null };
  private readonly listeners = new Set<(status: StatusDocument) => void>();
  private cached: StatusDocument | null = null;
  private syncCount = 0;
  private inFlight = 0;
  private maxInFlight = 0;

  constructor(private readonly deps: DaemonCoreDeps) {
    this.outputs = deps.outputs;
    this.outputIntact = deps.outputs.map(() => false);
    if (deps.integrityCheckMs && deps.integrityCheckMs > 0) {
      this.integrityTimer = setInterval(() => void this.checkIntegrity(), deps.integrityCheckMs);
      this.integrityTimer.unref();
    }
  }

  /**
   * Stops the periodic integrity check and a pending retry; later triggers run nothing, and a
   * queued run is dropped (its waiters resolved). A run in progress finishes: see {@link idle}.
   */
  close(): void {
    this.closed = true;
    if (this.integrityTimer) clearInterval(this.integrityTimer);
    this.integrityTimer = null;
    this.dropDeferred();
    if (this.provenanceRecheck.timer) clearTimeout(this.provenanceRecheck.timer);
    const queued = this.queued;
    this.queued = null;
    for (const w of queued?.waiters ?? []) w();
  }

  /** Resolves once no sync is running (on shutdown: before the logger and the outputs' owner go). */
  async idle(): Promise<void> {
    await this.running;
  }

  /**
   * The periodic look: a sync is triggered only when something is off (an output or home changed,
   * the bundle changed unseen) or a linked copy has gone; otherwise nothing happens.
   */
  async checkIntegrity(): Promise<void> {
    if (this.running || this.manualLock !== null || this.lastGood === null) return;
    try {
      const probe = await this.deps.probe(this.expectedShas(), this.outputs);
      const copiesGone = this.linkedFailure && (await this.deps.linkedCopies?.remaining())?.length === 0;
      if (!probe.integrity.intact || probe.sourceSha256 !== this.sourceSha256 || copiesGone) {
        void this.trigger({ reasons: ['integrity'] });
      }
    } catch (error) {
      this.deps.logger.warn('integrity check failed', { error: error instanceof Error ? error.message : String(error) });
    }
  }

  /** How many full syncs ran, and the most that ever ran at once (for tests and the benchmark; must be 1). */
  get stats(): { syncs: number; maxConcurrent: number } {
    return { syncs: this.syncCount, maxConcurrent: this.maxInFlight };
  }

  /**
   * Schedules a check. Never two at once: during a run, exactly one more is queued (its reasons
   * merged). Resolves when a run that started after this call has finished.
   */
  trigger(trigger: Trigger): Promise<void> {
    return this.schedule(trigger, false);
  }

  private schedule(trigger: Trigger, confirm: boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      if (this.closed) {
        resolve();
        return;
      }
      if (this.running) {
        this.queued ??= { force: false, confirm: false, waiters: [], reasons: new Set() };
        this.queued.force ||= trigger.force === true;
        this.queued.confirm ||= confirm;
        for (const r of trigger.reasons) this.queued.reasons.add(r);
        this.queued.waiters.push(resolve);
        if (this.state === 'fresh') this.setState('stale');
        return;
      }
      this.running = this.loop({ force: trigger.force === true, confirm, waiters: [resolve], reasons: new Set(trigger.reasons) });
    });
  }

  private async loop(first: Job): Promise<void> {
    let job: Job | null = first;
    try {
      while (job) {
        try {
          await this.attempt(job.force, job.reasons, job.confirm);
        } catch (error) {
          // attempt() handles expected failures; anything here is a bug, but the daemon keeps serving
          this.deps.logger.error('unexpected failure in sync loop', { error: error instanceof Error ? error.stack : String(error) });
        }
        for (const w of job.waiters) w();
        job = this.queued;
        this.queued = null;
      }
    } finally {
      this.running = null;
    }
  }

  private async attempt(force: boolean, reasons: ReadonlySet<string>, confirm: boolean): Promise<void> {
    if (this.manualLock !== null && !force) {
      this.deps.logger.debug('locked by request; ignoring trigger', { reasons: [...reasons] });
      return;
    }
    if (force) this.manualLock = null;
    // this attempt is the retry a held-back failure waited for; it decides (held back again only
    // by a mid-write failure of its own, below)
    const heldBack = this.deferred;
    if (heldBack?.timer) clearTimeout(heldBack.timer);
    this.deferred = null;

    const probe = await this.deps.probe(this.expectedShas(), this.outputs);
    this.sourceExists = probe.sourceExists;
    this.sourceSha256 = probe.sourceSha256;
    this.outputIntact = probe.integrity.outputs.map((o) => o.intact);
    this.cached = null;
    this.logIntegrity(probe.integrity);
    // A second name for an output keeps its plaintext whatever we publish: follow the old inode.
    for (const o of probe.integrity.outputs) if (o.links > 1) await this.deps.linkedCopies?.track(o.path);

    const unchanged = this.isIntact(probe) && ![...reasons].some((r) => FULL_SYNC_REASONS.has(r));
    // After a failed sync only a good sync makes the status fresh again (a restored bundle too).
    const lastFailed = this.lastSync !== null && !this.lastSync.ok && !this.linkedFailure;
    if (!force && unchanged && !lastFailed) {
      if (this.linkedFailure) {
        const copies = (await this.deps.linkedCopies?.remaining()) ?? [];
        if (copies.length > 0) {
          this.reportLinkedCopies(copies, this.deps.now());
          return;
        }
        // the other names are gone: one sync records a good result again
      } else {
        if (this.state !== 'fresh') this.setState('fresh');
        this.deps.logger.debug('bundle and outputs unchanged; nothing to do', { reasons: [...reasons] });
        return;
      }
    }

    this.setState('syncing');
    const started = this.deps.now();
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      const result = await this.deps.runSync();
      this.syncCount++;
      const previous = this.lastGood;
      this.lastGood = result;
      this.outputs = result.outputs.map((o) => ({ kind: o.kind, format: o.format, path: o.path }));
      for (const p of [...this.hooks.keys()]) if (!this.outputs.some((o) => o.path === p)) this.hooks.delete(p);
      this.sourceExists = true;
      this.sourceSha256 = result.sourceSha256;
      this.identity = { source: result.identity.source, recipients: [...result.identity.recipients], opens: true, opensNothing: [...(result.identity.opensNothing ?? [])] };
      this.outputIntact = this.outputs.map(() => true);
      this.deps.onSecrets(result.secretValues);
      // the bundle checked out now has an accepted key: nothing is waiting for acceptance
      this.pendingDataKey = null;
      this.pendingConfig = null;
      this.notices = this.notices.filter((n) => n.code !== DataKeyChangedError.NOTICE && n.code !== ConfigWidenedError.NOTICE);
      this.noteRecipients(result.bundleRecipients, result.sopsConfigRecipients);
      this.lastSync = {
        at: this.deps.now().toISOString(),
        ok: true,
        durationMs: round(result.durationMs),
        sourceSha256: result.sourceSha256,
        error: null,
      };
      this.deps.logger.info('synced', {
        entries: result.entries,
        secretsVersion: result.secretsVersion,
        // first-use: this bundle's data key is now the pinned one (say so once, in the log)
        ...(result.dataKeyPin === 'known' ? {} : { dataKey: result.dataKeyPin }),
        written: result.written,
        unchanged: result.unchanged,
        ...(result.removed.length > 0 ? { removed: result.removed } : {}),
        durationMs: round(result.durationMs),
        reasons: [...reasons],
      });
      for (const w of result.warnings) this.deps.logger.warn(w);
      this.deps.onSynced?.(result, previous);
      this.recheckProvenance(result);
      const copies = (await this.deps.linkedCopies?.remaining()) ?? [];
      if (copies.length > 0) {
        this.reportLinkedCopies(copies, started);
        return;
      }
      this.linkedFailure = false;
      this.setState('fresh');
    } catch (error) {
      this.syncCount++;
      const appError = asAppError(error);
      if (!isAppError(error)) this.deps.logger.error('unexpected sync failure', { error: error instanceof Error ? error.stack : String(error) });
      if (!force && !confirm && this.holdBack(appError, heldBack?.since)) return;
      if (appError.code === 'E_SOURCE_MISSING') this.sourceExists = false;
      if (STATE_FOR_CODE[appError.code] === 'locked') this.identity = this.identityAfterFailure(appError);
      this.noteUntrusted(appError);
      this.linkedFailure = false;
      this.lastSync = this.failedSync(started, { code: appError.code, message: appError.hint ? `${appError.message} (${appError.hint})` : appError.message });
      this.deps.logger.warn('sync failed; keeping the last good outputs', { code: appError.code, message: appError.message });
      this.setState(STATE_FOR_CODE[appError.code] ?? 'error');
    } finally {
      this.inFlight--;
    }
  }

  /**
   * A parse, decrypt or MAC failure of a watcher-triggered sync may be a bundle read mid-write:
   * nothing was published, the last good outputs and the last result stay, and the status is not
   * fresh meanwhile (the bundle on disk is not what the outputs show). The next change retries;
   * so does the end of a quiet window, which then reports. Returns false when it must be reported
   * now (not that kind of failure, retries disabled, or held back for `maxDeferMs` already).
   */
  private holdBack(error: AppError, since: number | undefined): boolean {
    const quietMs = this.deps.confirmFailureMs ?? 250;
    if (!MID_WRITE_CODES.has(error.code) || quietMs <= 0) return false;
    const now = this.deps.now().getTime();
    const first = since ?? now;
    if (now - first >= (this.deps.maxDeferMs ?? 2000)) return false;
    const timer = setTimeout(() => {
      if (this.deferred) this.deferred.timer = null;
      void this.schedule({ reasons: ['retry'] }, true);
    }, quietMs);
    timer.unref();
    this.deferred = { since: first, timer };
    this.deps.logger.debug('bundle unreadable, perhaps mid-write; retrying before reporting it', { code: error.code, quietMs });
    this.setState('stale');
    return true;
  }

  /**
   * Bytes inside a work tree that are not HEAD's: a local edit, or a sync that ran between git
   * releasing the index and moving HEAD. A checkout's HEAD event normally brings the sync that
   * names the commit; should that event be missed all the same (a watch starting over, an
   * overflowing inotify queue), the status would say "no commit" until the next change, and the
   * 5 s integrity look does not ask git. So the provenance is asked once more after the confirm
   * window; once per bundle, so a real local edit costs one extra sync, not a loop.
   */
  private recheckProvenance(result: SyncSuccess): void {
    const delayMs = this.deps.confirmFailureMs ?? 250;
    if (result.dirty !== true || delayMs <= 0 || this.provenanceRecheck.sha === result.sourceSha256) return;
    if (this.provenanceRecheck.timer) clearTimeout(this.provenanceRecheck.timer);
    const timer = setTimeout(() => {
      this.provenanceRecheck.timer = null;
      // a sync since (the HEAD event's, usually) may have named the commit already
      const last = this.lastGood;
      if (last?.dirty === true && last.sourceSha256 === result.sourceSha256) void this.trigger({ reasons: ['provenance'] });
    }, delayMs);
    timer.unref();
    this.provenanceRecheck = { sha: result.sourceSha256, timer };
  }

  private dropDeferred(): void {
    if (this.deferred?.timer) clearTimeout(this.deferred.timer);
    this.deferred = null;
  }

  private isIntact(probe: Probe): boolean {
    const good = this.lastGood;
    if (!good || !probe.sourceExists || probe.sourceSha256 !== good.sourceSha256) return false;
    return probe.integrity.intact;
  }

  /** The sha256 each output was last published with, in `deps.outputs` order (never leaves the process). */
  private expectedShas(): (string | null)[] {
    return this.outputs.map((o) => this.lastGood?.outputs.find((g) => g.path === o.path)?.sha256 ?? null);
  }

  private logIntegrity(report: IntegrityReport): void {
    if (this.lastGood === null || report.intact) return;
    const problems = [
      ...report.homeProblems,
      ...report.outputs.filter((o) => !o.intact).map((o) => `${o.path}: ${o.problems.join(', ')}`),
    ];
    this.deps.logger.warn('outputs not intact; publishing again', { problems });
  }

  /** The status's record of a sync that started at `started` and failed with `error`. */
  private failedSync(started: Date, error: StatusError): StatusLastSync {
    return { at: this.deps.now().toISOString(), ok: false, durationMs: round(this.deps.now().getTime() - started.getTime()), sourceSha256: this.sourceSha256, error };
  }

  /**
   * The outputs are good again, but an earlier copy is still linked under a name we do not know:
   * not fresh, with an error that names the output, the inode and how to find the other name.
   */
  private reportLinkedCopies(copies: readonly LinkedCopy[], started: Date): void {
    const message = linkedCopiesMessage(copies);
    const same = this.linkedFailure && this.lastSync?.error?.message === message;
    this.linkedFailure = true;
    if (same && this.state === 'error') return;
    this.lastSync = this.failedSync(started, { code: 'E_INSECURE_PATH', message });
    this.deps.logger.warn('an output had a second hard link: a copy of it is still linked elsewhere', {
      code: 'E_INSECURE_PATH',
      copies: copies.map((c) => ({ path: c.path, inode: c.inode, otherNames: c.otherNames })),
    });
    this.setState('error');
  }

  /** What a locked attempt tells about identities: found ones that open nothing, or none at all. */
  private identityAfterFailure(error: AppError): StatusIdentity {
    const details = error.details ?? {};
    const tried = Array.isArray(details.triedRecipients) ? details.triedRecipients.filter((r): r is string => typeof r === 'string') : [];
    if (error.code !== 'E_IDENTITY_MISMATCH' || tried.length === 0) return { source: 'none', recipients: [], opens: false, opensNothing: [] };
    const attempts = Array.isArray(details.attempts) ? (details.attempts as { source?: unknown; outcome?: unknown }[]) : [];
    const found = attempts.find((a) => typeof a.outcome === 'string' && a.outcome.startsWith('found'));
    const label = typeof found?.source === 'string' ? found.source : '';
    const source: IdentitySource = label.startsWith('keychain') ? 'keychain' : label === 'SOPS_AGE_KEY' ? 'env' : label === '' ? 'none' : 'file';
    const config = this.knownRecipients.config ?? [];
    return { source, recipients: tried, opens: false, opensNothing: tried.filter((r) => !config.includes(r)) };
  }

  private noteRecipients(bundle: readonly string[], config: readonly string[] | null): void {
    const now = this.deps.now();
    const changes = [
      recipientsNotice(this.knownRecipients.bundle, bundle, now),
      config === null ? null : recipientsNotice(this.knownRecipients.config, config, now, ".sops.yaml's age recipients"),
    ].filter((n): n is StatusNotice => n !== null);
    if (changes.length > 0) {
      const notice: StatusNotice = { code: 'RECIPIENTS_CHANGED', message: changes.map((c) => c.message).join('; '), since: now.toISOString() };
      this.notices = [...this.notices.filter((n) => n.code !== notice.code), notice];
      this.deps.logger.warn('recipients changed: review and run `mcp-secrets status --ack`', { code: notice.code });
    }
    this.knownRecipients = { bundle: [...bundle], config: config === null ? this.knownRecipients.config : [...config] };
  }

  /**
   * E_UNTRUSTED: a data key not accepted yet raises DATA_KEY_CHANGED (and remembers the key for
   * `status --ack`); a bundle whose age recipients vanished (the engine was not switched for it)
   * raises RECIPIENTS_CHANGED.
   */
  private noteUntrusted(error: AppError): void {
    if (error.code !== 'E_UNTRUSTED') return;
    const now = this.deps.now();
    if (error instanceof ConfigWidenedError) {
      const key = JSON.stringify(error.pendingGrant);
      const same = this.pendingConfig?.key === key;
      this.pendingConfig = { file: error.configFile, grant: error.pendingGrant, key };
      if (same) return;
      const notice = configWidenedNotice(error.configFile, error.widening, now);
      this.notices = [...this.notices.filter((n) => n.code !== notice.code), notice];
      this.deps.logger.warn('the repo config hands out more than this machine accepted: review it, then run `mcp-secrets status --ack`', { code: notice.code, widening: [...error.widening] });
      return;
    }
    if (error instanceof DataKeyChangedError) {
      const same = this.pendingDataKey?.digest === error.pendingDigest;
      this.pendingDataKey = { bundlePath: error.bundlePath, digest: error.pendingDigest };
      if (same) return;
      const notice = dataKeyNotice(String(error.details?.bundle ?? this.deps.sourcePath), now);
      this.notices = [...this.notices.filter((n) => n.code !== notice.code), notice];
      this.deps.logger.warn('the bundle has a data key this machine has not accepted: review it, then run `mcp-secrets status --ack`', { code: notice.code });
      return;
    }
    const lost = error.details?.bundleRecipients;
    if (Array.isArray(lost) && lost.length === 0) {
      const change = recipientsNotice(this.knownRecipients.bundle, [], now);
      if (change === null || this.notices.some((n) => n.code === change.code && n.message === change.message)) return;
      this.notices = [...this.notices.filter((n) => n.code !== change.code), change];
      this.deps.logger.warn('the bundle lost its age recipients: review it; the engine is not switched without --engine sops', { code: change.code });
    }
  }

  /** `sync` over IPC or SIGHUP: a full sync now (also clears a lock set by purge). */
  async requestSync(): Promise<StatusDocument> {
    await this.trigger({ reasons: ['request'], force: true });
    return this.status();
  }

  /** Resolves with the status once fresh, or with the current status at the timeout. */
  waitFresh(timeoutMs: number): Promise<StatusDocument> {
    if (this.state === 'fresh') return Promise.resolve(this.status());
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        unsubscribe();
        resolve(this.status());
      }, timeoutMs);
      const unsubscribe = this.onStatusChange((s) => {
        if (s.state === 'fresh') {
          clearTimeout(timer);
          unsubscribe();
          resolve(s);
        }
      });
    });
  }

  /**
   * `status --ack`: clears the notices. A pending DATA_KEY_CHANGED is accepted (the exact key the
   * notice was raised for) and a sync follows, so the bundle the person reviewed is published.
   */
  async acknowledge(): Promise<StatusDocument> {
    const pending = this.pendingDataKey;
    if (pending !== null && this.deps.acceptDataKey) {
      await this.deps.acceptDataKey(pending.bundlePath, pending.digest);
      this.pendingDataKey = null;
      this.deps.logger.info('data key accepted on request', { bundle: pending.bundlePath });
    }
    const pendingConfig = this.pendingConfig;
    if (pendingConfig !== null && this.deps.acceptConfig) {
      await this.deps.acceptConfig(pendingConfig.file, pendingConfig.grant);
      this.pendingConfig = null;
      this.deps.logger.info('repo config accepted on request', { config: pendingConfig.file });
    }
    if (this.notices.length > 0) {
      this.notices = [];
      this.emit();
    }
    if (pending !== null || pendingConfig !== null) await this.trigger({ reasons: ['ack'], force: true });
    return this.status();
  }

  /** Records what the change hook of the output at `path` did (shown in that output's status entry). */
  noteHook(path: string, hook: StatusHook): void {
    if (!this.outputs.some((o) => o.path === path)) return;
    this.hooks.set(path, { ...hook });
    this.emit();
  }

  /**
   * Purge: stop publishing until a person asks for a sync, forget the identity held in memory.
   * Resolves only once a sync already running has ended, so that nothing it publishes can land
   * after the caller (purge) wiped the outputs, and nothing it reports overwrites the lock.
   */
  async lock(reason: string): Promise<StatusDocument> {
    this.dropDeferred();
    // set first: no new sync starts from here on (the loop checks it)
    this.manualLock = { reason, since: this.deps.now().toISOString() };
    await this.idle();
    this.identity = { source: 'none', recipients: [], opens: null, opensNothing: [] };
    this.linkedFailure = false;
    this.deps.onSecrets([]);
    this.deps.onLock?.();
    this.lastGood = null;
    this.setState('locked');
    return this.status();
  }

  onStatusChange(listener: (status: StatusDocument) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private setState(state: DaemonState): void {
    this.state = state;
    this.emit();
  }

  private emit(): void {
    this.cached = null;
    const status = this.status();
    for (const l of [...this.listeners]) {
      try {
        l(status);
      } catch (error) {
        this.deps.logger.warn('status listener failed', { error: String(error) });
      }
    }
  }

  /**
   * The current status document. Built once per change and shared (clients get it read-only:
   * the IPC server serialises it), so a busy socket does not rebuild it per request.
   */
  status(): StatusDocument {
    this.cached ??= Object.freeze(this.buildStatus()) as StatusDocument;
    return this.cached;
  }

  private buildStatus(): StatusDocument {
    const good = this.lastGood;
    const outputs: StatusOutput[] = this.outputs.map((o, i) => {
      const hook = this.hooks.get(o.path);
      return { kind: o.kind, format: o.format, path: o.path, intact: good !== null && this.outputIntact[i] === true, ...(hook ? { hook: { ...hook } } : {}) };
    });
    // provenance belongs to the bytes a good sync read: a later failure (conflict, locked) or
    // other bytes on disk make it unknown rather than the previous commit's
    const provenanceHolds = good !== null && good.sourceSha256 === this.sourceSha256 && (this.lastSync?.ok === true || this.linkedFailure);
    const notices = this.manualLock
      ? [...this.notices, { code: 'LOCKED', message: `locked on request (${this.manualLock.reason}); run \`mcp-secrets identity import\` then \`mcp-secrets sync --daemon\` (or restart the daemon) to resume`, since: this.manualLock.since }]
      : this.notices;
    return {
      protocol: PROTOCOL_VERSION,
      state: this.state,
      fresh: this.state === 'fresh',
      secretsVersion: good?.secretsVersion ?? null,
      source: {
        path: this.deps.sourcePath,
        exists: this.sourceExists,
        sha256: this.sourceSha256,
        commit: provenanceHolds ? good.commit : null,
        dirty: provenanceHolds ? good.dirty : null,
      },
      lastSync: this.lastSync,
      outputs,
      entries: good?.entries ?? 0,
      identity: { ...this.identity, recipients: [...this.identity.recipients], opensNothing: [...this.identity.opensNothing] },
      notices: notices.map((n) => ({ ...n })),
      daemon: { ...this.deps.daemon },
    };
  }
}

function round(ms: number): number {
  return Math.round(ms * 10) / 10;
}
