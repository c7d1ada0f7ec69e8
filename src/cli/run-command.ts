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
import { resolveCommonOptions } from '../config/options.js';
import { resolveRepo } from '../config/repo.js';
import { planFor } from '../bundle/open.js';
import { openForConsumer } from '../bundle/consumer-entries.js';
import { identityLookup } from '../identity/lookup.js';
import { runConsumer } from '../consumers/run.js';
import { splitList } from '../consumers/select.js';
import type { StatusDocument } from '../ipc/status.js';
import type { Command, CliIo, CommandInput } from './types.js';

const USAGE =
  'run [--repo DIR] [--source PATH] [--home DIR] [--engine auto|native|sops] [--profile NAME]… [--only LIST]… [--provider NAME]… [--mask] [--preserve-env] [--watch [--socket PATH] [--grace SECONDS]] [--log-level LEVEL] -- COMMAND [ARG…]';

const command: Command = { run: runRun };
export default command;

function usageError(message: string): AppError {
  return new AppError('E_USAGE', `mcp-secrets run: ${message}`, { hint: `usage: mcp-secrets ${USAGE}` });
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

export async function runRun(input: CommandInput, io: CliIo): Promise<number> {
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
  const selectors = {
    only: splitList(strings(input.values.only)),
    providers: strings(input.values.provider),
    profiles: strings(input.values.profile),
  };
  const lookup = identityLookup({
    env: io.env,
    // run leaves no trace: an identity found in the environment is not copied into the keychain
    cache: false,
    onNotice: (message) => io.stderr(`mcp-secrets run: ${oneLine(message)}\n`),
  });

  return runConsumer(
    {
      command: commandName,
      args,
      selectors,
      mask: input.values.mask === true,
      preserveEnv: input.values['preserve-env'] === true,
      cwd: io.cwd,
      env: io.env,
      terminal: io.stdinIsTTY ?? false,
      watch,
    },
    {
      openEntries: async () => {
        const repo = await resolveRepo({ repoFlag: options.repoFlag, cwd: io.cwd, source: options.source });
        const plan = planFor(repo, options.source, options.home, options.engine);
        return openForConsumer(plan, { identities: lookup, env: io.env }, selectors.profiles.length > 0);
      },
      stderr: io.stderr,
      graceMs,
      subscribe: watch ? (onStatus, onGone) => subscribeToDaemon(options.socket, onStatus, onGone) : undefined,
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
