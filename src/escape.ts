/**
 * The one escaper for text that came from outside (a bundle value such as MCP_SECRETS_VERSION, a
 * keychain account name, a path, git, the daemon) on its way to a terminal, a status bar or a log
 * line. Pure; used by status, tray, every command's human-readable output and the logger.
 */

/**
 * Control characters (C0, DEL, C1) and the Unicode line and paragraph separators, shown as `?`:
 * they could move the cursor, recolour or clear a terminal, ring its bell, or start a new line
 * that looks like our own (in a journal, a one-line status bar, xbar's parameter lines).
 */
export function oneLine(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, '?');
}
