/**
 * `mcp-secrets status`: ask the daemon. A one-screen summary; `--json` prints the status
 * document; `--check [--max-age 10m]` answers by exit code alone; `--ack` clears the notices.
 * Fast path: loads only the client, never the daemon's dependencies.
 */
import { AppError, EXIT, exitCodeForState } from '../errors.js';
import { resolveCommonOptions } from '../config/options.js';
import { ack, getStatus } from '../ipc/client.js';
import type { StatusDocument } from '../ipc/status.js';
import { messageLines, oneLine } from '../tray/format.js';
import { jsonDocument } from './report.js';
import type { Command, CliIo, CommandInput } from './types.js';

const command: Command = { run: (input, io) => runStatus(resolveStatusInput(input, io), defaultStatusDeps(io)) };
export default command;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "10m", "1h", "500ms" → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) throw new AppError('E_USAGE', `--max-age takes a duration like 90s, 10m or 1h, not "${text.slice(0, 20)}"`, { hint: 'e.g. --max-age 10m' });
  return Number(m[1]) * UNIT_MS[m[2]!]!;
}

/** The exit code `--check` answers with (DESIGN.md "Commands"). */
export function checkExitCode(status: StatusDocument, maxAgeMs: number | null, now: Date): number {
  const code = exitCodeForState(status);
  if (code !== EXIT.OK) return code;
  if (maxAgeMs !== null) {
    const at = status.lastSync ? Date.parse(status.lastSync.at) : NaN;
    if (!Number.isFinite(at) || now.getTime() - at > maxAgeMs) return EXIT.NOT_FRESH;
  }
  return EXIT.OK;
}

function ago(iso: string, now: Date): string {
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
}

/** A labelled entry whose text may span lines: the first line after the label, the rest indented under it. */
function entry(label: string, text: string): string[] {
  const [first = '', ...rest] = messageLines(text);
  return [`  ${label.padEnd(9)} ${first}`, ...rest.map((line) => `            ${line}`)];
}

function identityText(identity: StatusDocument['identity']): string {
  const held = identity.recipients.length ? ` (${identity.recipients.join(', ')})` : '';
  if (identity.opens === false) return identity.recipients.length ? `${identity.source}${held}: opens nothing yet (not a recipient of the bundle)` : 'none found';
  return `${identity.source}${held}`;
}

/** The one-screen summary; control characters from daemon-supplied text are shown as `?`, line breaks as new indented lines. */
export function humanStatus(s: StatusDocument, now: Date): string {
  const lines = [
    oneLine(`mcp-secrets: ${s.state}${s.fresh ? ' (outputs match the bundle)' : ''} — secrets ${s.secretsVersion ?? '(no version)'}, ${s.entries} entries`),
    ...entry('source', `${s.source.path}${s.source.exists ? '' : ' (missing)'}${s.source.commit ? ` @ ${s.source.commit.slice(0, 12)}` : ''}${s.source.dirty ? ' (not a committed version)' : ''}`),
    ...(s.lastSync
      ? entry('last sync', `${s.lastSync.at} (${ago(s.lastSync.at, now)}), ${s.lastSync.durationMs} ms, ${s.lastSync.ok ? 'ok' : `failed: ${s.lastSync.error?.code}: ${s.lastSync.error?.message}`}`)
      : entry('last sync', 'none yet')),
    ...s.outputs.flatMap((o, i) => entry(i === 0 ? 'outputs' : '', `${o.path}${o.intact ? '' : ' (not intact: not yet published, or changed, re-moded or linked since)'}`)),
    ...entry('identity', identityText(s.identity)),
    ...(s.identity.opensNothing.length ? entry('', `also held, opens nothing yet (neither the bundle nor .sops.yaml lists it): ${s.identity.opensNothing.join(', ')}`) : []),
    ...s.notices.flatMap((n) => entry('notice', `${n.code} since ${n.since}: ${n.message}`)),
    ...entry('daemon', `pid ${s.daemon.pid}, v${s.daemon.version}, up since ${s.daemon.startedAt}, socket ${s.daemon.socket}`),
  ];
  return lines.join('\n') + '\n';
}

/** `status`'s options, resolved: no raw argv values past this point. */
export interface StatusInput {
  readonly socket: string;
  readonly json: boolean;
  /** `--check`: answer by exit code alone, print nothing. */
  readonly check: boolean;
  /** `--max-age`, in milliseconds (only `--check` reads it); null when not given. */
  readonly maxAgeMs: number | null;
  /** `--ack`: clear the notices (and accept what they ask to accept) before printing. */
  readonly ack: boolean;
}

/** What `status` needs from the outside; tests pass fakes (no socket, a fixed clock). */
export interface StatusDeps {
  readonly io: Pick<CliIo, 'stdout'>;
  /** The daemon's status on `socket`; rejects (E_DAEMON_UNREACHABLE) when none answers. */
  readonly getStatus: (socket: string) => Promise<StatusDocument>;
  /** Clears the notices; resolves with the status after it. */
  readonly ack: (socket: string) => Promise<StatusDocument>;
  readonly now: () => Date;
}

/** Resolves `status`'s flags; a bad `--max-age` is E_USAGE. */
export function resolveStatusInput(input: CommandInput, io: Pick<CliIo, 'env' | 'cwd'>): StatusInput {
  const options = resolveCommonOptions(input.values, io.env, io.cwd);
  const maxAge = input.values['max-age'];
  return {
    socket: options.socket,
    json: options.json,
    check: input.values.check === true,
    maxAgeMs: typeof maxAge === 'string' ? parseDuration(maxAge) : null,
    ack: input.values.ack === true,
  };
}

/**
 * Asks the daemon and prints its answer: `--check` prints nothing and answers 0/1/2 by state (3
 * when no daemon answers); otherwise the summary (or the document with `--json`) and the exit code
 * for its state. An unreachable daemon outside `--check` throws E_DAEMON_UNREACHABLE (exit 3).
 */
export async function runStatus(input: StatusInput, deps: StatusDeps): Promise<number> {
  if (input.check) {
    try {
      return checkExitCode(await deps.getStatus(input.socket), input.maxAgeMs, deps.now());
    } catch {
      return EXIT.UNREACHABLE;
    }
  }
  const status = input.ack ? await deps.ack(input.socket) : await deps.getStatus(input.socket);
  deps.io.stdout(input.json ? jsonDocument(status) : humanStatus(status, deps.now()));
  return exitCodeForState(status);
}

/** The real collaborators: the IPC client this fast path already loads. */
export function defaultStatusDeps(io: CliIo): StatusDeps {
  const client = (socketPath: string) => ({ socketPath, timeoutMs: 3_000 });
  return {
    io,
    getStatus: (socket) => getStatus(client(socket)),
    ack: (socket) => ack(client(socket)),
    now: () => new Date(),
  };
}
