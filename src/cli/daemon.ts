/**
 * `mcp-secrets daemon`: runs in the foreground until SIGTERM/SIGINT (service managers run it).
 * SIGHUP re-reads the identities and syncs. Start-up failures that a restart cannot fix exit with
 * EXIT.CONFIG (78), which the service unit lists in RestartPreventExitStatus.
 */
import { AppError, EXIT, isAppError } from '../errors.js';
import { resolveCommonOptions } from '../config/options.js';
import { resolveRepo } from '../config/repo.js';
import { identityLookup } from '../identity/lookup.js';
import { startDaemon } from '../daemon/run.js';
import { reportError } from './report.js';
import type { Command, CliIo, CommandInput } from './types.js';

const command: Command = { run: runDaemon };
export default command;

function settleMs(raw: unknown): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n > 60_000) {
    throw new AppError('E_USAGE', `--settle-ms must be a whole number of milliseconds from 0 to 60000, not "${String(raw).slice(0, 20)}"`, { hint: 'e.g. --settle-ms 75' });
  }
  return n;
}

export async function runDaemon(input: CommandInput, io: CliIo): Promise<number> {
  let daemon;
  try {
    const common = resolveCommonOptions(input.values, io.env, io.cwd);
    const repo = await resolveRepo({ repoFlag: common.repoFlag, cwd: io.cwd, source: common.source });
    const identities = identityLookup({
      env: io.env,
      cache: input.values['no-cache-identity'] !== true,
      onNotice: (message) => io.stderr(`mcp-secrets: ${message}\n`),
    });
    daemon = await startDaemon({ common, repo, identities, env: io.env, settleMs: settleMs(input.values['settle-ms']) });
  } catch (error) {
    const code = reportError(error, io, false);
    // nothing a restart can fix: tell the service manager not to loop
    return isAppError(error) && error.code !== 'E_WRITE' ? EXIT.CONFIG : code;
  }
  const running = daemon;
  const onStop = (signal: NodeJS.Signals): void => void running.stop(signal);
  const onHup = (): void => void running.reload();
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onHup);
  try {
    await running.stopped;
  } finally {
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGHUP', onHup);
  }
  return EXIT.OK;
}
