/**
 * Starting the consumer of `mcp-secrets run` and getting out of its way: stdin and stdout are the
 * child's own (an MCP stdio server speaks JSON-RPC on them), stderr too unless it is masked,
 * signals sent to us are passed on, and its exit status becomes ours (128+n for signal n, as a
 * shell reports it).
 *
 * The command is looked up on the PARENT's PATH before anything starts, so a missing or
 * non-executable command gives 127 / 126 with a clear line instead of a spawn error, and the
 * child's environment (which the bundle shapes) cannot change which program runs.
 */
import { spawn } from 'node:child_process';
import { constants as fsConstants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { constants as osConstants } from 'node:os';
import path from 'node:path';
import type { Transform } from 'node:stream';

/** Exit codes a shell uses, which `run` keeps: command not found, found but not executable. */
export const EXIT_NOT_FOUND = 127;
export const EXIT_NOT_EXECUTABLE = 126;

/** Signals passed on to the child. SIGKILL/SIGSTOP cannot be caught; SIGPIPE is not ours to pass. */
export const FORWARDED_SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH'];

/**
 * Signals a terminal sends to its whole foreground process group, the child included: when we
 * run in a terminal, passing them on too would deliver each twice (a second Ctrl-C means "quit
 * now" to many programs).
 */
const TERMINAL_SIGNALS: ReadonlySet<NodeJS.Signals> = new Set(['SIGINT', 'SIGQUIT', 'SIGWINCH']);

export type CommandLookup =
  | { ok: true; file: string }
  | { ok: false; exitCode: typeof EXIT_NOT_FOUND | typeof EXIT_NOT_EXECUTABLE; reason: string };

async function executableFile(file: string): Promise<'ok' | 'missing' | 'not-executable'> {
  try {
    const info = await stat(file);
    if (!info.isFile()) return 'not-executable';
    await access(file, fsConstants.X_OK);
    return 'ok';
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' ? 'missing' : 'not-executable';
  }
}

/**
 * Finds `command` as a shell would: a name with a slash is a path (relative to `cwd`), any other
 * name is searched in `pathVar`'s directories, in order (an empty entry means `cwd`, as in POSIX).
 */
export async function lookupCommand(command: string, pathVar: string | undefined, cwd: string): Promise<CommandLookup> {
  if (command.length === 0) return { ok: false, exitCode: EXIT_NOT_FOUND, reason: 'empty command name' };
  if (command.includes('/')) {
    const file = path.resolve(cwd, command);
    const state = await executableFile(file);
    if (state === 'ok') return { ok: true, file };
    return state === 'missing'
      ? { ok: false, exitCode: EXIT_NOT_FOUND, reason: 'no such file' }
      : { ok: false, exitCode: EXIT_NOT_EXECUTABLE, reason: 'not an executable file' };
  }
  let sawNonExecutable = false;
  for (const dir of (pathVar ?? '').split(path.delimiter)) {
    const file = path.resolve(cwd, dir === '' ? '.' : dir, command);
    const state = await executableFile(file);
    if (state === 'ok') return { ok: true, file };
    if (state === 'not-executable') sawNonExecutable = true;
  }
  return sawNonExecutable
    ? { ok: false, exitCode: EXIT_NOT_EXECUTABLE, reason: 'found on PATH but not executable' }
    : { ok: false, exitCode: EXIT_NOT_FOUND, reason: 'command not found on PATH' };
}

/** The process-wide hooks the supervisor needs; a seam so tests can watch signal handling. */
export interface SignalSource {
  on(signal: NodeJS.Signals, listener: () => void): unknown;
  off(signal: NodeJS.Signals, listener: () => void): unknown;
}

export interface ChildOptions {
  /** Absolute path from {@link lookupCommand}; `argv0` keeps the name the user typed. */
  file: string;
  argv0: string;
  args: readonly string[];
  env: Readonly<Record<string, string>>;
  cwd: string;
  /** When set, the child's stderr is piped through it to `stderr` (run --mask). */
  stderrFilter?: Transform;
  stderr?: NodeJS.WritableStream;
  signals?: SignalSource;
  /** True when we run in a terminal (stdin is a TTY): see {@link TERMINAL_SIGNALS}. */
  terminal?: boolean;
}

/** The exit code a shell would report for a child that exited or died of a signal. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal ? osConstants.signals[signal] : undefined;
  return 128 + (n ?? 0);
}

/** A started child: its end (the exit code `run` would return) and a way to signal it. */
export interface ChildHandle {
  /** Resolves with the exit code once the child has ended; rejects if it could not start at all. */
  readonly exited: Promise<number>;
  kill(signal: NodeJS.Signals): void;
}

/** Starts the child with stdin/stdout inherited and stderr inherited or filtered. */
export function startChild(options: Omit<ChildOptions, 'signals' | 'terminal'>): ChildHandle {
  const child = spawn(options.file, [...options.args], {
    argv0: options.argv0,
    cwd: options.cwd,
    env: options.env,
    stdio: ['inherit', 'inherit', options.stderrFilter ? 'pipe' : 'inherit'],
  });
  if (options.stderrFilter && child.stderr) {
    child.stderr.pipe(options.stderrFilter).pipe(options.stderr ?? process.stderr, { end: false });
  }
  const exited = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve(exitCodeOf(code, signal)));
  });
  return {
    exited,
    kill: (signal) => {
      // The child may already be gone; its end decides what we return.
      try {
        child.kill(signal);
      } catch {
        /* ignore */
      }
    },
  };
}

/**
 * Passes the signals `run` receives on to whatever `target()` returns (the current child; `run
 * --watch` replaces it). Every one is caught, so `run` outlives the signal and reports the child's
 * own end. Returns the function that removes the handlers.
 */
export function forwardSignals(target: () => ChildHandle | null, opts: { signals?: SignalSource; terminal?: boolean } = {}): () => void {
  const signals = opts.signals ?? process;
  const forwarders = FORWARDED_SIGNALS.map((signal) => {
    const forward = (): void => {
      if (opts.terminal && TERMINAL_SIGNALS.has(signal)) return;
      target()?.kill(signal);
    };
    signals.on(signal, forward);
    return { signal, forward };
  });
  return () => {
    for (const { signal, forward } of forwarders) signals.off(signal, forward);
  };
}

/**
 * Runs the child to its end and resolves with the exit code to return. Rejects only when the
 * child cannot be started at all (a race with the lookup above, e.g. the file was removed).
 */
export async function runChild(options: ChildOptions): Promise<number> {
  const child = startChild(options);
  const stop = forwardSignals(() => child, { signals: options.signals, terminal: options.terminal });
  try {
    return await child.exited;
  } finally {
    stop();
  }
}
