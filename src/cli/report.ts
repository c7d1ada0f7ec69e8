/** How every command reports a failure (DESIGN.md "Commands"): one place, used by the dispatcher and the daemon. */
import { EXIT, exitCodeFor, isAppError, REPORT_BUGS } from '../errors.js';
import type { CliIo } from './types.js';

/**
 * Prints an error the contract's way and returns its exit code: ours as `code: message` (or as
 * `{"error":{…}}` on stdout with --json); anything else is a bug, E_INTERNAL (exit 2), with its
 * stack on stderr so it can be reported.
 */
export function reportError(error: unknown, io: CliIo, json: boolean): number {
  if (isAppError(error)) {
    if (json) io.stdout(JSON.stringify({ error: error.toJSON() }, null, 2) + '\n');
    else io.stderr(`mcp-secrets: ${error.code}: ${error.describe()}\n`);
    return exitCodeFor(error);
  }
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  if (json) io.stdout(JSON.stringify({ error: { code: 'E_INTERNAL', message: `internal error (${REPORT_BUGS}): see stderr` } }, null, 2) + '\n');
  io.stderr(`mcp-secrets: E_INTERNAL: internal error (${REPORT_BUGS}):\n${stack}\n`);
  return EXIT.FAILED;
}
