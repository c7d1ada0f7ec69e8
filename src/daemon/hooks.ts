/**
 * Change hooks (DESIGN.md "Consumers"): after a good sync, the daemon runs the hook of each output
 * whose rendered entries changed. Rules:
 * - hooks come only from the user's own config (`config/user-config.ts`), never from the repo: a
 *   `git pull` must never run code on a teammate's machine;
 * - "changed" compares the in-memory digest of each output's entries (names and values) with the
 *   previous good sync's, never file bytes: every output carries the bundle's sha256, so a
 *   re-encryption with equal values would otherwise fire every hook. The first sync of a daemon's
 *   life runs none (there is nothing to compare with);
 * - a `run` hook is an argv (no shell), with an environment of a few non-secret variables plus
 *   `MCP_SECRETS_OUTPUT` and `MCP_SECRETS_VERSION`, its stdio ignored, killed (its whole process
 *   group) at its timeout; a `pidFile` hook signals the process the file names (read bounded;
 *   a pid ≤ 1 or anything but digits is refused);
 * - hooks of one output never overlap (queued in order); a failing or hung hook is reported in
 *   that output's status entry and the log, and changes nothing about freshness.
 */
import { spawn } from 'node:child_process';
import { READ_LIMITS, readBoundedText } from '../fsx/read-bounded.js';
import type { Logger } from '../log.js';
import type { StatusHook } from '../ipc/status.js';
import type { SyncSuccess } from '../bundle/sync-result.js';
import type { OutputHook } from '../config/user-config.js';

type Env = Readonly<Record<string, string | undefined>>;

/** The only variables a hook inherits from the daemon: none of them can hold a secret of ours. */
const HOOK_ENV_ALLOWLIST = ['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LC_ALL', 'TZ', 'XDG_RUNTIME_DIR', 'DBUS_SESSION_BUS_ADDRESS'] as const;

/** The environment a `run` hook gets. */
export function hookEnv(env: Env, output: string, version: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of HOOK_ENV_ALLOWLIST) {
    const value = env[name];
    if (value !== undefined) out[name] = value;
  }
  out.MCP_SECRETS_OUTPUT = output;
  out.MCP_SECRETS_VERSION = version ?? '';
  return out;
}

/** The outputs (paths) whose rendered entries differ from the previous good sync's. */
export function changedOutputs(result: SyncSuccess, previous: SyncSuccess | null): string[] {
  if (previous === null) return [];
  return result.outputs.filter((o) => previous.outputs.find((p) => p.path === o.path)?.entriesDigest !== o.entriesDigest).map((o) => o.path);
}

/** A timed-out hook gets KILL at once, with everything in its group: it already had its time. */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** Runs one hook to its end; never throws. */
export async function runHook(hook: OutputHook, output: string, version: string | null, deps: { env: Env; now(): Date }): Promise<StatusHook> {
  const done = (outcome: StatusHook['outcome'], exitCode: number | null): StatusHook => ({ outcome, exitCode, at: deps.now().toISOString() });
  if (hook.pidFile !== undefined) {
    try {
      const text = (await readBoundedText(hook.pidFile, { limit: READ_LIMITS.pidFile, what: 'the hook pid file' })).trim();
      if (!/^\d{1,10}$/.test(text) || Number(text) <= 1) return done('failed', null);
      process.kill(Number(text), hook.signal);
      return done('ok', null);
    } catch {
      return done('failed', null);
    }
  }
  const [command, ...args] = hook.run ?? [];
  if (command === undefined) return done('failed', null);
  return new Promise<StatusHook>((resolve) => {
    let timedOut = false;
    let settled = false;
    const finish = (result: StatusHook): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    // its own process group, so the timeout kills whatever it started too
    const child = spawn(command, args, { env: hookEnv(deps.env, output, version), stdio: 'ignore', detached: true, shell: false, cwd: deps.env.HOME ?? '/' });
    const timer = setTimeout(() => {
      timedOut = true;
      if (child.pid !== undefined) killGroup(child.pid);
    }, hook.timeoutMs);
    child.once('error', () => finish(done('failed', null)));
    child.once('exit', (code) => {
      if (timedOut) finish(done('timeout', null));
      else finish(done(code === 0 ? 'ok' : 'failed', code));
    });
  });
}

export interface HookRunnerDeps {
  env: Env;
  now(): Date;
  logger: Logger;
  /** The hooks of the user's config, read anew for each sync (a change to it needs no restart). */
  hooks(): Promise<Readonly<Record<string, OutputHook>>>;
  /** Where each outcome goes (the output's status entry). */
  onOutcome(outputPath: string, outcome: StatusHook): void;
}

/** Runs the hooks of changed outputs after each good sync; one queue per output. */
export class HookRunner {
  private readonly queues = new Map<string, Promise<void>>();

  constructor(private readonly deps: HookRunnerDeps) {}

  /** Schedules the hooks for `result` (compared with `previous`). Returns when they are queued. */
  async synced(result: SyncSuccess, previous: SyncSuccess | null): Promise<void> {
    const changed = changedOutputs(result, previous);
    if (changed.length === 0) return;
    let hooks: Readonly<Record<string, OutputHook>>;
    try {
      hooks = await this.deps.hooks();
    } catch (error) {
      this.deps.logger.warn('change hooks not run: the user config cannot be read', { error: error instanceof Error ? error.message : String(error) });
      return;
    }
    for (const outputPath of changed) {
      const output = result.outputs.find((o) => o.path === outputPath)!;
      const hook = Object.hasOwn(hooks, output.file) ? hooks[output.file] : undefined;
      if (hook === undefined) continue;
      const previousRun = this.queues.get(outputPath) ?? Promise.resolve();
      const next = previousRun.then(async () => {
        const started = Date.now();
        const outcome = await runHook(hook, outputPath, result.secretsVersion, this.deps);
        const meta = { output: outputPath, outcome: outcome.outcome, exitCode: outcome.exitCode, durationMs: Date.now() - started };
        if (outcome.outcome === 'ok') this.deps.logger.info('change hook ran', meta);
        else this.deps.logger.warn('change hook did not succeed', meta);
        this.deps.onOutcome(outputPath, outcome);
      });
      this.queues.set(outputPath, next);
      void next.finally(() => {
        if (this.queues.get(outputPath) === next) this.queues.delete(outputPath);
      });
    }
  }

  /** Resolves when every queued hook has finished (daemon shutdown, tests). */
  async idle(): Promise<void> {
    await Promise.all([...this.queues.values()]);
  }
}
