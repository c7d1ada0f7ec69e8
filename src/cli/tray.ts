/**
 * `mcp-secrets tray`: one line for a status bar. One-shot (exit 3 and a "down" line when no
 * daemon answers), or `--watch`: a new line on every change, reconnecting with a backoff when
 * the daemon goes away, until killed. Fast path: loads only the client, never the daemon.
 */
import { AppError, EXIT } from '../errors.js';
import { resolveCommonOptions } from '../config/options.js';
import { getStatus, subscribe } from '../ipc/client.js';
import { formatTray, TRAY_FORMATS, type TrayFormat } from '../tray/format.js';
import type { Command, CliIo, CommandInput } from './types.js';

const command: Command = { run: runTray };
export default command;

function trayFormat(value: unknown): TrayFormat {
  if (value === undefined) return 'text';
  if (typeof value === 'string' && (TRAY_FORMATS as readonly string[]).includes(value)) return value as TrayFormat;
  throw new AppError('E_USAGE', `--format must be one of ${TRAY_FORMATS.join(', ')}, not "${String(value).slice(0, 20)}"`, { hint: 'e.g. --format waybar' });
}

export async function runTray(input: CommandInput, io: CliIo): Promise<number> {
  const options = resolveCommonOptions(input.values, io.env, io.cwd);
  const format = trayFormat(input.values.format);
  if (input.values.watch !== true) {
    try {
      io.stdout(formatTray(await getStatus({ socketPath: options.socket, timeoutMs: 2_000 }), format) + '\n');
      return EXIT.OK;
    } catch {
      io.stdout(formatTray(null, format) + '\n');
      return EXIT.UNREACHABLE;
    }
  }
  let last = '';
  const print = (line: string): void => {
    if (line === last) return;
    last = line;
    io.stdout(line + '\n');
  };
  for (let backoffMs = 1_000; ; backoffMs = Math.min(backoffMs * 2, 30_000)) {
    let connected = false;
    const sub = subscribe(
      (status) => {
        connected = true;
        print(formatTray(status, format));
      },
      { socketPath: options.socket },
    );
    await sub.closed;
    if (connected) backoffMs = 1_000;
    print(formatTray(null, format));
    await new Promise((r) => setTimeout(r, backoffMs));
  }
}
