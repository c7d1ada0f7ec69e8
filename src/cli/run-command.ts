/**
 * `mcp-secrets run [--repo] [--source] [selectors] -- COMMAND [ARG…]`: starts COMMAND with the
 * selected entries in its environment; no file is written (DESIGN.md "Consumers",
 * docs/consumers.md). This module only parses and wires: the use cases are
 * `bundle/consumer-entries.ts` (open, with every trust check) and `consumers/run.ts` (select, start,
 * supervise).
 *
 * stdout is the child's: this command writes nothing there, ever (errors and notices go to
 * stderr; the dispatcher knows it, see `stdoutIsTheChilds`).
 */
import { AppError } from '../errors.js';
import { oneLine } from '../escape.js';
import { resolveCommonOptions, type CommonOptions } from '../config/options.js';
import { resolveRepo } from '../config/repo.js';
import { planFor, type IdentityLookup } from '../bundle/open.js';
import { openForConsumer } from '../bundle/consumer-entries.js';
import { identityLookup } from '../identity/lookup.js';
import { runConsumer } from '../consumers/run.js';
import { splitList } from '../consumers/select.js';
import type { StatusDocument } from '../ipc/status.js';
import { COMMAND_SPECS, usageLine } from './spec.js';
import type { Command, CliIo, CommandInput } from './types.js';

const USAGE = usageLine('run', COMMAND_SPECS.run!);

const command: Command = { run: (input, io) => runRun(resolveRunInput(input, io), defaultRunDeps(io)) };
export default command;

function usageError(message: string): AppError {
  return new AppError('E_USAGE', `mcp-secrets run: ${message}`, { hint: `usage: mcp-secrets ${USAGE}` });
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/** `run`'s options, resolved: no raw argv values past this point (`socket`: the daemon asked with `--watch`). */
export interface RunCommandInput extends Pick<CommonOptions, 'repoFlag' | 'source' | 'home' | 'engine' | 'socket' | 'cwd'> {
  readonly command: string;
  readonly args: readonly string[];
  readonly selectors: { readonly only: string[]; readonly providers: string[]; readonly profiles: string[] };
  readonly mask: boolean;
  readonly preserveEnv: boolean;
  readonly watch: boolean;
  /** `--grace` in milliseconds (only with `--watch`), or undefined for the default. */
  readonly graceMs: number | undefined;
  /** stdin is a terminal: terminal signals are left to the terminal. */
  readonly terminal: boolean;
}

/** What `run` needs from the outside; tests pass fakes (no bundle, no daemon). */
export interface RunCommandDeps {
  readonly io: Pick<CliIo, 'stderr' | 'env'>;
  /** The repo: `--repo`, else the git top level of `cwd`. */
  readonly resolveRepo: (input: { repoFlag: string | null; cwd: string; source: string }) => Promise<string>;
  /** Where identities come from (DESIGN.md "Identity"); `run` never caches one. */
  readonly identityLookup: (options: { cache: boolean; onNotice(message: string): void }) => () => Promise<IdentityLookup>;
  /** Opens the bundle with every trust check (bundle/consumer-entries.ts). */
  readonly openForConsumer: typeof openForConsumer;
  /** Selects, starts and supervises the child (consumers/run.ts): the real one spawns. */
  readonly runConsumer: typeof runConsumer;
  /** `--watch`: the daemon's status changes; rejects (E_DAEMON_UNREACHABLE) when none answers. */
  readonly subscribeToDaemon: (socket: string, onStatus: (status: StatusDocument) => void, onGone: (error: Error) => void) => Promise<{ close(): void }>;
}

/**
 * Resolves `run`'s words and flags. Every usage error is thrown here, before anything is opened
 * or started: `--` missing, words before it, no command, `--json` (stdout is the child's),
 * `--socket`/`--grace` without `--watch`, a bad `--grace`.
 */
export function resolveRunInput(input: CommandInput, io: Pick<CliIo, 'env' | 'cwd' | 'stdinIsTTY'>): RunCommandInput {
  const [commandName, ...args] = input.passThrough ?? [];
  if (input.passThrough === null || input.passThrough === undefined) throw usageError('`--` is required before the command (mcp-secrets run [options] -- COMMAND [ARG…])');
  if (input.positionals.length > 0) throw usageError(`"${oneLine(String(input.positionals[0])).slice(0, 80)}" comes before \`--\`: put the command after it`);
  if (commandName === undefined) throw usageError('no command after `--`');
  // stdout is the child's: there is no JSON answer to give
  if (input.values.json !== undefined) throw usageError('--json does not apply: run prints nothing on stdout (it is the command\'s)');
  const watch = input.values.watch === true;
  if (!watch && input.values.socket !== undefined) throw usageError('--socket applies only with --watch (the daemon is asked only then)');
  if (!watch && input.values.grace !== undefined) throw usageError('--grace applies only with --watch');
  const graceMs = input.values.grace === undefined ? undefined : graceSeconds(String(input.values.grace)) * 1000;

  const options = resolveCommonOptions(input.values, io.env, io.cwd);
  return {
    command: commandName,
    args,
    selectors: {
      only: splitList(strings(input.values.only)),
      providers: strings(input.values.provider),
      profiles: strings(input.values.profile),
    },
    mask: input.values.mask === true,
    preserveEnv: input.values['preserve-env'] === true,
    watch,
    graceMs,
    repoFlag: options.repoFlag,
    source: options.source,
    home: options.home,
    engine: options.engine,
    socket: options.socket,
    cwd: io.cwd,
    terminal: io.stdinIsTTY ?? false,
  };
}

/** The real collaborators; the IPC client loads only with `--watch`. */
export function defaultRunDeps(io: CliIo): RunCommandDeps {
  return {
    io,
    resolveRepo,
    identityLookup: (options) => identityLookup({ env: io.env, ...options }),
    openForConsumer,
    runConsumer,
    subscribeToDaemon,
  };
}

/** Starts the command with the selected entries; resolves with its exit code (see DESIGN.md "Consumers"). */
export async function runRun(input: RunCommandInput, deps: RunCommandDeps): Promise<number> {
  const { io } = deps;
  const lookup = deps.identityLookup({
    // run leaves no trace: an identity found in the environment is not copied into the keychain
    cache: false,
    onNotice: (message) => io.stderr(`mcp-secrets run: ${oneLine(message)}\n`),
  });

  return deps.runConsumer(
    {
      command: input.command,
      args: input.args,
      selectors: input.selectors,
      mask: input.mask,
      preserveEnv: input.preserveEnv,
      cwd: input.cwd,
      env: io.env,
      terminal: input.terminal,
      watch: input.watch,
    },
    {
      openEntries: async () => {
        const repo = await deps.resolveRepo({ repoFlag: input.repoFlag, cwd: input.cwd, source: input.source });
        const plan = planFor(repo, input.source, input.home, input.engine);
        return deps.openForConsumer(plan, { identities: lookup, env: io.env }, input.selectors.profiles.length > 0);
      },
      stderr: io.stderr,
      graceMs: input.graceMs,
      subscribe: input.watch ? (onStatus, onGone) => deps.subscribeToDaemon(input.socket, onStatus, onGone) : undefined,
    },
  );
}

function graceSeconds(text: string): number {
  const seconds = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || !(seconds > 0) || seconds > 3600) throw usageError(`--grace takes seconds between 0 and 3600, not "${oneLine(text).slice(0, 20)}"`);
  return seconds;
}

/** The daemon's status changes; rejects (E_DAEMON_UNREACHABLE, exit 3) when no daemon answers. */
async function subscribeToDaemon(socketPath: string, onStatus: (status: StatusDocument) => void, onGone: (error: Error) => void): Promise<{ close(): void }> {
  const { subscribe } = await import('../ipc/client.js');
  return new Promise((resolve, reject) => {
    let answered = false;
    const subscription = subscribe(
      (status) => {
        if (!answered) {
          answered = true;
          resolve(subscription);
        }
        onStatus(status);
      },
      { socketPath, onError: (error) => (answered ? onGone(error) : reject(error)) },
    );
  });
}
