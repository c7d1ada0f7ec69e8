/**
 * `mcp-secrets tray`: one line for a status bar. One-shot (exit 3 and a "down" line when no
 * daemon answers), or `--watch`: a new line on every change, reconnecting with a backoff when
 * the daemon goes away, until killed. Fast path: loads only the client, never the daemon.
 */
import { AppError, EXIT } from '../errors.js';
import { resolveCommonOptions } from '../config/options.js';
import { getStatus, subscribe, type StatusDocument, type Subscription } from '../ipc/client.js';
import { formatTray, TRAY_FORMATS, type TrayFormat } from '../tray/format.js';
import { jsonDocument } from './report.js';
import type { Command, CliIo, CommandInput } from './types.js';

const command: Command = { run: (input, io) => runTray(resolveTrayInput(input, io), defaultTrayDeps(io)) };
export default command;

function trayFormat(value: unknown): TrayFormat {
  if (value === undefined) return 'text';
  if (typeof value === 'string' && (TRAY_FORMATS as readonly string[]).includes(value)) return value as TrayFormat;
  throw new AppError('E_USAGE', `--format must be one of ${TRAY_FORMATS.join(', ')}, not "${String(value).slice(0, 20)}"`, { hint: 'e.g. --format waybar' });
}

/** `tray`'s options, resolved. */
export interface TrayInput {
  readonly socket: string;
  readonly format: TrayFormat;
  /**
   * `--json`: the json format as the house's JSON document (two-space indented) in one-shot mode;
   * with `--watch`, one compact document per line, since a watch stream is read line by line.
   */
  readonly json: boolean;
  readonly watch: boolean;
}

/** What `tray` needs from the outside; tests pass fakes (no socket, no real waiting). */
export interface TrayDeps {
  readonly io: Pick<CliIo, 'stdout'>;
  /** The daemon's status on `socket`; rejects when none answers. */
  readonly getStatus: (socket: string) => Promise<StatusDocument>;
  /** Status changes from the daemon on `socket`; `closed` resolves when the daemon goes away. */
  readonly subscribe: (socket: string, onStatus: (status: StatusDocument) => void) => Subscription;
  /** Waits before reconnecting (`--watch`). */
  readonly sleep: (ms: number) => Promise<void>;
}

/** Resolves `tray`'s flags: `--json` is the json format, and excludes any other `--format`. */
export function resolveTrayInput(input: CommandInput, io: Pick<CliIo, 'env' | 'cwd'>): TrayInput {
  const options = resolveCommonOptions(input.values, io.env, io.cwd);
  const format = trayFormat(input.values.format);
  if (options.json && input.values.format !== undefined && format !== 'json') {
    throw new AppError('E_USAGE', `--json prints the json format: it excludes --format ${format}`, { hint: 'give one of them, e.g. --format waybar' });
  }
  return { socket: options.socket, format: options.json ? 'json' : format, json: options.json, watch: input.values.watch === true };
}

/**
 * One line for a status bar (exit 0, or 3 with a "down" line when no daemon answers), or with
 * `--watch` a new line on every change, reconnecting with a backoff (1 s doubling to 30 s, back to
 * 1 s after a connection that answered) until killed.
 */
export async function runTray(input: TrayInput, deps: TrayDeps): Promise<number> {
  const line = (status: StatusDocument | null): string => {
    const text = formatTray(status, input.format);
    // `--json` alone is one document in the house style; a watch stream stays a line per update
    return input.json && !input.watch ? jsonDocument(JSON.parse(text)).trimEnd() : text;
  };
  if (!input.watch) {
    try {
      deps.io.stdout(line(await deps.getStatus(input.socket)) + '\n');
      return EXIT.OK;
    } catch {
      deps.io.stdout(line(null) + '\n');
      return EXIT.UNREACHABLE;
    }
  }
  let last = '';
  const print = (text: string): void => {
    if (text === last) return;
    last = text;
    deps.io.stdout(text + '\n');
  };
  for (let backoffMs = 1_000; ; backoffMs = Math.min(backoffMs * 2, 30_000)) {
    let connected = false;
    const sub = deps.subscribe(input.socket, (status) => {
      connected = true;
      print(line(status));
    });
    await sub.closed;
    if (connected) backoffMs = 1_000;
    print(line(null));
    await deps.sleep(backoffMs);
  }
}

/** The real collaborators: the IPC client this fast path already loads. */
export function defaultTrayDeps(io: CliIo): TrayDeps {
  return {
    io,
    getStatus: (socketPath) => getStatus({ socketPath, timeoutMs: 2_000 }),
    subscribe: (socketPath, onStatus) => subscribe(onStatus, { socketPath }),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  };
}
