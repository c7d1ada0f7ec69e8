/**
 * `mcp-secrets daemon`: runs in the foreground until SIGTERM/SIGINT (service managers run it).
 * SIGHUP re-reads the identities and syncs. Start-up failures that a restart cannot fix exit with
 * EXIT.CONFIG (78), which the service unit lists in RestartPreventExitStatus.
 */
import { AppError, EXIT, isAppError } from '../errors.js';
import { resolveCommonOptions, type CommonOptions } from '../config/options.js';
import { resolveRepo } from '../config/repo.js';
import { identityLookup } from '../identity/lookup.js';
import { startDaemon, type DaemonOptions, type RunningDaemon } from '../daemon/run.js';
import { oneLine } from '../escape.js';
import type { IdentityLookup } from '../bundle/open.js';
import { reportError } from './report.js';
import type { Command, CliIo, CommandInput } from './types.js';

const command: Command = { run: (input, io) => runDaemon(resolveDaemonInput(input, io), defaultDaemonDeps(io)) };
export default command;

function settleMs(raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 60_000) {
    throw new AppError('E_USAGE', `--settle-ms must be a whole number of milliseconds from 0 to 60000, not "${String(raw).slice(0, 20)}"`, { hint: 'e.g. --settle-ms 75' });
  }
  return n;
}

/** `daemon`'s options, resolved: no raw argv values past this point. */
export interface DaemonInput {
  readonly common: CommonOptions;
  /** `--settle-ms`, or undefined for the watcher's default. */
  readonly settleMs: number | undefined;
  /** Store an identity found in the environment into the keychain (off with `--no-cache-identity`). */
  readonly cacheIdentity: boolean;
}

/** The part of a running daemon the command drives. */
export type DaemonHandle = Pick<RunningDaemon, 'stopped' | 'stop' | 'reload'>;

/** What `daemon` needs from the outside; tests pass fakes (no watcher, no socket, no signals). */
export interface DaemonDeps {
  readonly io: CliIo;
  /** The repo: `--repo`, else the git top level of `cwd`. */
  readonly resolveRepo: (input: { repoFlag: string | null; cwd: string; source: string }) => Promise<string>;
  /** Where identities come from (DESIGN.md "Identity"). */
  readonly identityLookup: (options: { cache: boolean; onNotice(message: string): void }) => () => Promise<IdentityLookup>;
  /** Starts the daemon (claims home and the socket, first sync); rejects when it cannot start. */
  readonly startDaemon: (options: DaemonOptions) => Promise<DaemonHandle>;
  /** Routes SIGTERM/SIGINT to `stop` and SIGHUP to `reload`; returns the undo. */
  readonly onSignals: (handlers: { stop(signal: NodeJS.Signals): void; reload(): void }) => () => void;
}

/** Resolves `daemon`'s flags; a bad one is E_USAGE (exit 64, which the service unit does not restart on either). */
export function resolveDaemonInput(input: CommandInput, io: Pick<CliIo, 'env' | 'cwd'>): DaemonInput {
  return {
    common: resolveCommonOptions(input.values, io.env, io.cwd),
    settleMs: settleMs(input.values['settle-ms']),
    cacheIdentity: input.values['no-cache-identity'] !== true,
  };
}

/** The real collaborators: the daemon itself and this process's signals. */
export function defaultDaemonDeps(io: CliIo): DaemonDeps {
  return {
    io,
    resolveRepo,
    identityLookup: (options) => identityLookup({ env: io.env, ...options }),
    startDaemon,
    onSignals: ({ stop, reload }) => {
      const onHup = (): void => reload();
      process.on('SIGTERM', stop);
      process.on('SIGINT', stop);
      process.on('SIGHUP', onHup);
      return () => {
        process.off('SIGTERM', stop);
        process.off('SIGINT', stop);
        process.off('SIGHUP', onHup);
      };
    },
  };
}

/**
 * Starts the daemon and runs it until it stops (SIGTERM/SIGINT; SIGHUP reloads). A start-up
 * failure is reported here (as JSON with `--json`) and exits 78 (EXIT.CONFIG: a restart cannot fix
 * it), except E_WRITE (a full disk may clear) and bugs, which keep their own code.
 */
export async function runDaemon(input: DaemonInput, deps: DaemonDeps): Promise<number> {
  const { io } = deps;
  let daemon: DaemonHandle;
  try {
    const { common } = input;
    const repo = await deps.resolveRepo({ repoFlag: common.repoFlag, cwd: common.cwd, source: common.source });
    const identities = deps.identityLookup({ cache: input.cacheIdentity, onNotice: (message) => io.stderr(`mcp-secrets: ${oneLine(message)}\n`) });
    daemon = await deps.startDaemon({ common, repo, identities, env: io.env, settleMs: input.settleMs });
  } catch (error) {
    const code = reportError(error, io, input.common.json);
    // nothing a restart can fix: tell the service manager not to loop
    return isAppError(error) && error.code !== 'E_WRITE' ? EXIT.CONFIG : code;
  }
  const running = daemon;
  const detach = deps.onSignals({ stop: (signal) => void running.stop(signal), reload: () => void running.reload() });
  try {
    await running.stopped;
  } finally {
    detach();
  }
  return EXIT.OK;
}

