/**
 * One status line for a status bar, from a status document (or from "no daemon"). Pure.
 * Formats: text (tmux, plain bars), json, waybar (its custom-module JSON), xbar (xbar/SwiftBar).
 */
import { oneLine } from '../escape.js';
import type { DaemonState, StatusDocument } from '../ipc/status.js';

export const TRAY_FORMATS = ['text', 'json', 'waybar', 'xbar'] as const;
export type TrayFormat = (typeof TRAY_FORMATS)[number];

/** `down` is not a daemon state: it is what the bar shows when no daemon answers. */
export type TrayState = DaemonState | 'down';

const SYMBOL: Record<TrayState, string> = {
  fresh: '●',
  starting: '◐',
  syncing: '◐',
  stale: '◐',
  error: '✖',
  conflict: '✖',
  locked: '✖',
  missing: '✖',
  down: '○',
};

// Control characters in daemon-supplied text (a version, a message naming a file) would break
// the one-line formats, or start a new xbar line with its own parameters.
export { oneLine } from '../escape.js';

/**
 * A message that may span lines (an error listing each identity source tried) as escaped lines:
 * split at line breaks first, so a line break shows as a new line rather than as `?`.
 */
export function messageLines(text: string): string[] {
  return text
    .split(/\r\n|[\n\r\u2028\u2029]/)
    .map((line) => oneLine(line.trimEnd()))
    .filter((line) => line.trim() !== '');
}

/** A line about the identity when it is the problem (none found, or it opens nothing), else null. */
export function identityLine(identity: StatusDocument['identity']): string | null {
  if (identity.opens !== false) return null;
  return identity.recipients.length
    ? `identity: ${identity.source} (${identity.recipients.join(', ')}) opens nothing yet: not a recipient of the bundle`
    : 'identity: none found';
}

function summary(status: StatusDocument | null): { state: TrayState; headline: string; details: string[] } {
  if (!status) return { state: 'down', headline: 'down', details: ['no daemon answers: start it with `mcp-secrets service install`'] };
  // single values are escaped in place; messages (which may list several attempts) keep their lines
  const details = [
    ...[
      `state: ${status.state}${status.fresh ? ' (outputs match the bundle)' : ''}`,
      `secrets version: ${status.secretsVersion ?? 'none'}`,
      `entries: ${status.entries}`,
      status.lastSync ? `last sync: ${status.lastSync.at}${status.lastSync.ok ? '' : ` failed: ${status.lastSync.error?.code ?? ''}`}` : 'last sync: none yet',
    ].map(oneLine),
    ...(status.lastSync?.error ? messageLines(status.lastSync.error.message) : []),
    ...status.outputs.filter((o) => !o.intact).map((o) => oneLine(`not intact: ${o.path}`)),
    ...[identityLine(status.identity)].filter((l): l is string => l !== null).map(oneLine),
    ...(status.identity.opensNothing.length ? [oneLine(`opens nothing yet: ${status.identity.opensNothing.join(', ')}`)] : []),
    ...status.notices.flatMap((n) => messageLines(`notice ${n.code}: ${n.message}`)),
  ];
  const version = status.secretsVersion ? ` ${status.secretsVersion}` : '';
  const notice = status.notices.length > 0 ? ' !' : '';
  return { state: status.state, headline: oneLine(`${status.state}${version}${notice}`), details };
}

/** The line to print (no trailing newline; xbar's output has several lines). */
export function formatTray(status: StatusDocument | null, format: TrayFormat): string {
  const { state, headline, details } = summary(status);
  const symbol = SYMBOL[state];
  switch (format) {
    case 'text':
      return `mcp-secrets ${symbol} ${headline}`;
    case 'json':
      return JSON.stringify({ state, fresh: status?.fresh ?? false, secretsVersion: status?.secretsVersion ?? null, notices: status?.notices.length ?? 0, text: `${symbol} ${headline}` });
    case 'waybar':
      return JSON.stringify({ text: `${symbol} ${headline}`, tooltip: details.join('\n'), class: state, alt: state });
    case 'xbar': {
      const color = state === 'fresh' ? '' : state === 'down' || SYMBOL[state] === '✖' ? ' | color=red' : ' | color=orange';
      // xbar reads "|" as the start of parameters: keep it out of the text lines
      return [`${symbol} mcp-secrets${color}`, '---', ...details.map((d) => d.replace(/\|/g, '/'))].join('\n');
    }
  }
}
