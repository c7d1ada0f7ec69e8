/**
 * `mcp-secrets sync`: the one-shot replacement for the runbook's `make secrets-sync`.
 * Prints a one-screen summary (never a value); `--json` prints the same as JSON.
 */
import { AppError, EXIT, exitCodeForState, isAppError } from '../errors.js';
import type { StatusDocument } from '../ipc/status.js';
import { oneLine } from '../escape.js';
import { resolveCommonOptions, type CommonOptions } from '../config/options.js';
import { resolveRepo } from '../config/repo.js';
import { planFor, syncOnce, type IdentityLookup } from '../bundle/sync-once.js';
import { identityLookup } from '../identity/lookup.js';
import { liveHomeLockHolder, type HomeLockHolder } from '../bundle/home.js';
import type { SyncSuccess } from '../bundle/sync-result.js';
import { jsonDocument } from './report.js';
import type { Command, CliIo, CommandInput } from './types.js';

const command: Command = { run: (input, io) => runSync(resolveSyncInput(input, io), defaultSyncDeps(io)) };
export default command;

/** `sync`'s options, resolved: no raw argv values past this point. */
export interface SyncInput extends Pick<CommonOptions, 'repoFlag' | 'source' | 'home' | 'socket' | 'engine' | 'json' | 'cwd'> {
  /** `--daemon`: ask the daemon on `socket` to sync instead of syncing here. */
  readonly viaDaemon: boolean;
  readonly acceptDataKey: boolean;
  readonly acceptConfig: boolean;
  /** Store an identity found in the environment into the keychain (off with `--no-cache-identity`). */
  readonly cacheIdentity: boolean;
  /** `--skip-without-identity` (CI mode): no identity anywhere is a skip, exit 0, not a failure. */
  readonly skipWithoutIdentity: boolean;
}

/** The repo config accepted by `--accept-config`, or null when the repo has none. */
export type AcceptedConfig = { file: string; widening: string[] } | null;

/** What `sync` needs from the outside; tests pass fakes (no lock file, no socket, no bundle). */
export interface SyncDeps {
  readonly io: Pick<CliIo, 'stdout' | 'stderr' | 'env'>;
  /** The live daemon holding `home`'s lock, or null (none, or a stale lock). */
  readonly homeLockHolder: (home: string) => Promise<HomeLockHolder | null>;
  /** Asks the daemon on `socket` to sync now; rejects with E_DAEMON_UNREACHABLE when none answers. */
  readonly daemonSync: (socket: string) => Promise<StatusDocument>;
  /** The repo: `--repo`, else the git top level of `cwd` (E_NO_REPO when there is none). */
  readonly resolveRepo: (input: { repoFlag: string | null; cwd: string; source: string }) => Promise<string>;
  /** Where identities come from (DESIGN.md "Identity"); `ci` leaves the keychain out. */
  readonly identityLookup: (options: { cache: boolean; ci: boolean; onNotice(message: string): void }) => () => Promise<IdentityLookup>;
  /** The sync itself: open the bundle, render, publish. */
  readonly syncOnce: typeof syncOnce;
  /** `--accept-config`: records the repo's `.mcp-secrets.yaml` as accepted. */
  readonly acceptRepoConfig: (repo: string, home: string) => Promise<AcceptedConfig>;
}

/** Resolves `sync`'s flags (E_USAGE for a bad common one). */
export function resolveSyncInput(input: CommandInput, io: Pick<CliIo, 'env' | 'cwd'>): SyncInput {
  const options = resolveCommonOptions(input.values, io.env, io.cwd);
  const { repoFlag, source, home, socket, engine, json, cwd } = options;
  return {
    repoFlag,
    source,
    home,
    socket,
    engine,
    json,
    cwd,
    viaDaemon: input.values.daemon === true,
    acceptDataKey: input.values['accept-data-key'] === true,
    acceptConfig: input.values['accept-config'] === true,
    cacheIdentity: input.values['no-cache-identity'] !== true,
    skipWithoutIdentity: input.values['skip-without-identity'] === true,
  };
}

/** The real collaborators. The IPC client and the repo-config use case load only when used. */
export function defaultSyncDeps(io: CliIo): SyncDeps {
  return {
    io,
    homeLockHolder: (home) => liveHomeLockHolder(home),
    daemonSync: async (socketPath) => {
      const { sync } = await import('../ipc/client.js');
      return sync({ socketPath, timeoutMs: 60_000 });
    },
    resolveRepo,
    identityLookup: (options) => identityLookup({ env: io.env, ...options }),
    syncOnce,
    acceptRepoConfig: async (repo, home) => {
      const { acceptRepoConfig } = await import('../bundle/consumer-entries.js');
      return acceptRepoConfig(repo, home);
    },
  };
}

/**
 * One sync: through the daemon with `--daemon`, or when a live daemon holds home (one writer per
 * home: writing beside it would race it); else here. Prints a summary, or with `--json` the result
 * without values or plaintext digests. Returns the exit code; expected failures throw AppError.
 */
export async function runSync(input: SyncInput, deps: SyncDeps): Promise<number> {
  const { io } = deps;
  if (input.acceptConfig) await acceptConfig(input, deps);
  if (input.viaDaemon) return syncThroughDaemon(input.socket, input.json, deps);
  const holder = await deps.homeLockHolder(input.home);
  if (holder !== null) return syncThroughHolder(input.home, holder, input.json, deps);

  const repo = await deps.resolveRepo({ repoFlag: input.repoFlag, cwd: input.cwd, source: input.source });
  const plan = planFor(repo, input.source, input.home, input.engine);
  const ci = input.skipWithoutIdentity;
  const lookup = deps.identityLookup({ cache: input.cacheIdentity, ci, onNotice: (message) => io.stderr(`mcp-secrets: ${oneLine(message)}\n`) });

  let resolved: IdentityLookup | null = null;
  const identities = async (): Promise<IdentityLookup> => (resolved ??= await lookup());
  if (ci && (await identities()).identities.length === 0) {
    const line = 'skipped: no age identity configured (SOPS_AGE_KEY unset or empty, no key file; CI mode does not use the keychain); outputs left as they were';
    if (input.json) io.stdout(jsonDocument({ ok: true, skipped: true, reason: line }));
    else io.stdout(`mcp-secrets: ${line}\n`);
    return EXIT.OK;
  }

  const result = await deps.syncOnce(plan, { identities, env: io.env, acceptDataKey: input.acceptDataKey });
  io.stdout(input.json ? jsonDocument(syncJson(result)) : summary(result, plan.sourceRel));
  return EXIT.OK;
}

/**
 * `--accept-config`: the repo's `.mcp-secrets.yaml` as it is now becomes the accepted one (what
 * `run --profile` checks). Reported on stderr, so stdout stays the sync's own summary or JSON.
 */
async function acceptConfig(input: SyncInput, deps: SyncDeps): Promise<void> {
  const { io } = deps;
  const repo = await deps.resolveRepo({ repoFlag: input.repoFlag, cwd: input.cwd, source: input.source });
  const accepted = await deps.acceptRepoConfig(repo, input.home);
  if (accepted === null) io.stderr(`mcp-secrets: ${oneLine(repo)} has no .mcp-secrets.yaml: no repo config to accept\n`);
  else if (accepted.widening.length === 0) io.stderr(`mcp-secrets: ${oneLine(accepted.file)} is accepted (nothing new in it)\n`);
  else io.stderr(`mcp-secrets: accepted ${oneLine(accepted.file)}:\n${accepted.widening.map((w) => `  - ${oneLine(w)}\n`).join('')}`);
}

/** The JSON form of a sync result: everything but the values and the outputs' digests (of plaintext). */
export function syncJson(result: SyncSuccess): Record<string, unknown> {
  const { secretValues: _values, ...rest } = result;
  const outputs = result.outputs.map((o) => ({ kind: o.kind, path: o.path }));
  return { ok: true, ...rest, outputs, durationMs: Math.round(result.durationMs * 10) / 10 };
}

/** What the summary says about the data key pin (nothing when it was simply known). */
const PIN_LINES: Partial<Record<SyncSuccess['dataKeyPin'], string>> = {
  'first-use': 'data key: first sync of this bundle here, its data key is now the accepted one (a bundle made anew will be held back)',
  accepted: 'data key: the new data key was accepted (--accept-data-key)',
  'not-pinned': 'data key: not checked (the sops binary opened the bundle and does not hand out its data key)',
};

function summary(result: SyncSuccess, sourceRel: string): string {
  const origin = result.commit ? `commit ${result.commit.slice(0, 12)}${result.dirty ? ', with uncommitted changes' : ''}` : 'not in git';
  const width = Math.max(...result.outputs.map((o) => o.path.length));
  const lines = [
    `mcp-secrets: synced ${sourceRel} (${origin})`,
    `  entries: ${result.entries}   secrets version: ${result.secretsVersion ?? '(none)'}   identity: ${result.identity.source}${result.identity.recipients[0] ? ` ${result.identity.recipients[0]}` : ''}`,
    ...result.outputs.map((o) => {
      return `  ${o.path.padEnd(width)}  ${result.written.includes(o.path) ? 'written  ' : 'unchanged'}  0600`;
    }),
    ...result.warnings.map((w) => `  warning: ${w}`),
    ...(PIN_LINES[result.dataKeyPin] ? [`  ${PIN_LINES[result.dataKeyPin]}`] : []),
    `  took ${result.durationMs.toFixed(1)} ms`,
  ];
  // the version, warnings and paths come from the bundle and the repo: escaped on the way out
  return lines.map(oneLine).join('\n') + '\n';
}

async function syncThroughHolder(home: string, holder: HomeLockHolder, json: boolean, deps: SyncDeps): Promise<number> {
  deps.io.stderr(`mcp-secrets: the daemon (pid ${holder.pid}) serving ${home} does this sync\n`);
  try {
    return await syncThroughDaemon(holder.socket, json, deps);
  } catch (error) {
    if (!isAppError(error) || error.code !== 'E_DAEMON_UNREACHABLE') throw error;
    throw new AppError('E_ALREADY_RUNNING', `a daemon (pid ${holder.pid}) holds ${home} but does not answer on ${holder.socket}`, {
      hint: 'it may still be starting: try again in a moment, or stop that daemon and sync again',
      cause: error,
    });
  }
}

async function syncThroughDaemon(socketPath: string, json: boolean, deps: SyncDeps): Promise<number> {
  const status = await deps.daemonSync(socketPath);
  if (json) deps.io.stdout(jsonDocument(status));
  else deps.io.stdout(`${oneLine(`mcp-secrets: the daemon synced: state ${status.state}${status.lastSync?.error ? ` (${status.lastSync.error.code}: ${status.lastSync.error.message})` : ''}`)}\n`);
  return exitCodeForState(status);
}
