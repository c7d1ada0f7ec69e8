/**
 * `mcp-secrets sync`: the one-shot replacement for the runbook's `make secrets-sync`.
 * Prints a one-screen summary (never a value); `--json` prints the same as JSON.
 */
import { AppError, EXIT, exitCodeForState, isAppError } from '../errors.js';
import { oneLine } from '../escape.js';
import { resolveCommonOptions } from '../config/options.js';
import { resolveRepo } from '../config/repo.js';
import { planFor, runPipeline, type IdentityLookup } from '../sync/pipeline.js';
import { identityLookup } from '../identity/lookup.js';
import { liveHomeLockHolder, type HomeLockHolder } from '../bundle/home.js';
import type { SyncSuccess } from '../sync/types.js';
import type { Command, CliIo, CommandInput } from './types.js';

const command: Command = {
  usage:
    'sync [--repo DIR] [--source PATH] [--home DIR] [--engine auto|native|sops] [--json] [--no-cache-identity] [--skip-without-identity] [--accept-data-key] [--accept-config] [--daemon]',
  options: {
    'accept-data-key': { type: 'boolean' },
    'accept-config': { type: 'boolean' },
    'no-cache-identity': { type: 'boolean' },
    'skip-without-identity': { type: 'boolean' },
    daemon: { type: 'boolean' },
  },
  run: runSync,
};
export default command;

export async function runSync(input: CommandInput, io: CliIo): Promise<number> {
  const options = resolveCommonOptions(input.values, io.env, io.cwd);
  if (input.values['accept-config'] === true) await acceptConfig(options, io);
  if (input.values.daemon === true) return syncThroughDaemon(options.socket, options.json, io);
  // one writer per home: while a daemon holds it, that daemon syncs (writing beside it would race it)
  const holder = await liveHomeLockHolder(options.home);
  if (holder !== null) return syncThroughHolder(options.home, holder, options.json, io);

  const repo = await resolveRepo({ repoFlag: options.repoFlag, cwd: io.cwd, source: options.source });
  const plan = planFor(repo, options.source, options.home, options.engine);
  const ci = input.values['skip-without-identity'] === true;
  const lookup = identityLookup({
    env: io.env,
    cache: input.values['no-cache-identity'] !== true,
    ci,
    onNotice: (message) => io.stderr(`mcp-secrets: ${oneLine(message)}\n`),
  });

  let resolved: IdentityLookup | null = null;
  const identities = async (): Promise<IdentityLookup> => (resolved ??= await lookup());
  if (ci && (await identities()).identities.length === 0) {
    const line = 'skipped: no age identity configured (SOPS_AGE_KEY unset or empty, no key file; CI mode does not use the keychain); outputs left as they were';
    if (options.json) io.stdout(JSON.stringify({ ok: true, skipped: true, reason: line }) + '\n');
    else io.stdout(`mcp-secrets: ${line}\n`);
    return EXIT.OK;
  }

  const result = await runPipeline(plan, { identities, env: io.env, acceptDataKey: input.values['accept-data-key'] === true });
  io.stdout(options.json ? JSON.stringify(syncJson(result), null, 2) + '\n' : summary(result, plan.sourceRel));
  return EXIT.OK;
}

/**
 * `--accept-config`: the repo's `.mcp-secrets.yaml` as it is now becomes the accepted one (what
 * `run --profile` checks). Reported on stderr, so stdout stays the sync's own summary or JSON.
 */
async function acceptConfig(options: ReturnType<typeof resolveCommonOptions>, io: CliIo): Promise<void> {
  const { acceptRepoConfig } = await import('../bundle/consumer-entries.js');
  const repo = await resolveRepo({ repoFlag: options.repoFlag, cwd: io.cwd, source: options.source });
  const accepted = await acceptRepoConfig(repo, options.home);
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

async function syncThroughHolder(home: string, holder: HomeLockHolder, json: boolean, io: CliIo): Promise<number> {
  io.stderr(`mcp-secrets: the daemon (pid ${holder.pid}) serving ${home} does this sync\n`);
  try {
    return await syncThroughDaemon(holder.socket, json, io);
  } catch (error) {
    if (!isAppError(error) || error.code !== 'E_DAEMON_UNREACHABLE') throw error;
    throw new AppError('E_ALREADY_RUNNING', `a daemon (pid ${holder.pid}) holds ${home} but does not answer on ${holder.socket}`, {
      hint: 'it may still be starting: try again in a moment, or stop that daemon and sync again',
      cause: error,
    });
  }
}

async function syncThroughDaemon(socketPath: string, json: boolean, io: CliIo): Promise<number> {
  const { sync } = await import('../ipc/client.js');
  const status = await sync({ socketPath, timeoutMs: 60_000 });
  if (json) io.stdout(JSON.stringify(status, null, 2) + '\n');
  else io.stdout(`${oneLine(`mcp-secrets: the daemon synced: state ${status.state}${status.lastSync?.error ? ` (${status.lastSync.error.code}: ${status.lastSync.error.message})` : ''}`)}\n`);
  return exitCodeForState(status);
}
