/**
 * How every command reports a failure (DESIGN.md "Commands"), and the one JSON style of every
 * `--json` document: one place, used by the dispatcher, the commands and the daemon.
 */
import { EXIT, exitCodeFor, isAppError, REPORT_BUGS } from '../errors.js';
import type { CliIo } from './types.js';

/** A `--json` document as every command prints it: indented by two spaces, one trailing newline. */
export function jsonDocument(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/**
 * Prints an error the contract's way and returns its exit code: ours as `code: message` (or as
 * `{"error":{…}}` on stdout with --json); anything else is a bug, E_INTERNAL (exit 2), with its
 * stack on stderr so it can be reported.
 */
export function reportError(error: unknown, io: CliIo, json: boolean): number {
  if (isAppError(error)) {
    if (json) io.stdout(jsonDocument({ error: error.toJSON() }));
    else io.stderr(`mcp-secrets: ${error.code}: ${error.describe()}\n`);
    return exitCodeFor(error);
  }
  const stack = error instanceof Error ? (error.stack ?? error.message) : String(error);
  if (json) io.stdout(jsonDocument({ error: { code: 'E_INTERNAL', message: `internal error (${REPORT_BUGS}): see stderr` } }));
  io.stderr(`mcp-secrets: E_INTERNAL: internal error (${REPORT_BUGS}):\n${stack}\n`);
  return EXIT.FAILED;
}
