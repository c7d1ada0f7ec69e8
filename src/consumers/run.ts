/**
 * The `run` use case: hand one consumer only the entries it needs, in its environment, without a
 * file (DESIGN.md "Consumers").
 *
 * Order matters for failing closed and cheaply: the command is looked up first (127/126 need no
 * identity), then the bundle is opened with every trust check (the caller's `openEntries`), then
 * the selectors are applied; only when all of that succeeded does the child start. Nothing here
 * writes to stdout: it belongs to the child (an MCP stdio server speaks JSON-RPC on it).
 */
import { sanitizeForMessage } from '../errors.js';
import type { Entry } from '../render/entries.js';
import { childEnvironment } from './child-env.js';
import { lookupCommand, runChild, startChild, type SignalSource } from './child.js';
import { createMaskStream } from './mask.js';
import { selectEntries, type Profile, type Selectors } from './select.js';
import { superviseWatching, type WatchDeps } from './watch.js';

export interface RunInput {
  command: string;
  args: readonly string[];
  selectors: Selectors;
  /** `--mask`: selected values are replaced in the child's stderr. */
  mask: boolean;
  /** `--preserve-env`: a variable the parent already has keeps its value. */
  preserveEnv: boolean;
  cwd: string;
  /** The parent's environment (the child's starts from it, less SOPS_AGE_*). */
  env: Readonly<Record<string, string | undefined>>;
  /** True when stdin is a terminal (see child.ts on terminal signals). */
  terminal: boolean;
  /** `--watch`: restart the child when the daemon syncs values it was given (consumers/watch.ts). */
  watch?: boolean;
}

export interface RunDeps {
  /**
   * Opens the bundle with every check `sync` makes (MAC, pinned data key, forbidden names,
   * accepted repo config) and returns its entries and the repo's profiles. Throws AppError.
   */
  openEntries(): Promise<{ entries: readonly Entry[]; profiles: Readonly<Record<string, Profile>> }>;
  /** Where `run`'s own messages go (never stdout). */
  stderr(text: string): void;
  signals?: SignalSource;
  /** For `--watch`: the daemon's status changes (exit 3 when no daemon answers). */
  subscribe?: WatchDeps['subscribe'];
  /** For `--watch`: how long a child gets after SIGTERM before SIGKILL. */
  graceMs?: number;
}

/** Runs the consumer to its end; resolves with the exit code `run` returns. Throws AppError before the child starts. */
export async function runConsumer(input: RunInput, deps: RunDeps): Promise<number> {
  const found = await lookupCommand(input.command, input.env.PATH, input.cwd);
  if (!found.ok) {
    deps.stderr(`mcp-secrets run: ${sanitizeForMessage(input.command)}: ${found.reason}\n`);
    return found.exitCode;
  }
  const open = async (): Promise<Entry[]> => {
    const { entries, profiles } = await deps.openEntries();
    return selectEntries(entries, input.selectors, profiles);
  };
  const selected = await open();
  const child = (entries: readonly Entry[]) => ({
    file: found.file,
    argv0: input.command,
    args: input.args,
    env: childEnvironment(input.env, entries, { preserveEnv: input.preserveEnv }).env,
    cwd: input.cwd,
    // one masking stream per child: a restarted child's stderr is masked with its own values
    stderrFilter: input.mask ? createMaskStream(entries.map((e) => ({ name: e.name, value: e.value }))) : undefined,
  });
  if (!input.watch) return runChild({ ...child(selected), terminal: input.terminal, signals: deps.signals });
  if (!deps.subscribe) throw new Error('run --watch needs a daemon subscription (a bug in the wiring)');
  return superviseWatching(selected, {
    subscribe: deps.subscribe,
    reopen: open,
    start: (entries) => startChild(child(entries)),
    stderr: deps.stderr,
    signals: deps.signals,
    terminal: input.terminal,
    graceMs: deps.graceMs,
    label: sanitizeForMessage(input.command),
  });
}
