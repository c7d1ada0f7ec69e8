/**
 * The examples in docs/status-bar.md were captured from a running daemon; these tests keep them
 * true: each is exactly what formatTray prints for the status they were captured from, and every
 * inline example of another state is a line formatTray can print.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatTray } from '../../../src/tray/format.js';
import type { DaemonState, StatusDocument } from '../../../src/ipc/status.js';
import { fakeStatus } from '../../helpers/ipc.js';

/** dist/test/unit/docs/ → the repository root. */
const ROOT = new URL('../../../../', import.meta.url);
const DOC = readFileSync(fileURLToPath(new URL('docs/status-bar.md', ROOT)), 'utf8');

/** Bodies of the fenced blocks with this info string, in document order. */
function blocks(info: string): string[] {
  return [...DOC.matchAll(new RegExp('^```' + info + '\\n([\\s\\S]*?)^```$', 'gm'))].map((m) => m[1]!.replace(/\n$/, ''));
}

/** The status the examples were captured from: 5 entries, version 2026.11.3, fresh. */
function captured(state: DaemonState = 'fresh'): StatusDocument {
  return {
    ...fakeStatus(state, '2026.11.3'),
    entries: 5,
    lastSync: { at: '2026-11-28T16:55:51.230Z', ok: true, durationMs: 209.8, sourceSha256: 'a'.repeat(64), error: null },
  };
}

test('the tmux examples are the text lines for a fresh daemon and for none', (t) => {
  t.deepEqual(blocks('text').slice(0, 2), [formatTray(captured(), 'text'), formatTray(null, 'text')]);
});

test('the Waybar example is the waybar line, and parses with the keys Waybar reads', (t) => {
  const [example] = blocks('json');
  t.is(example, formatTray(captured(), 'waybar'));
  const parsed = JSON.parse(example!) as Record<string, unknown>;
  t.deepEqual(Object.keys(parsed).sort(), ['alt', 'class', 'text', 'tooltip']);
});

test('the xbar example is the xbar output: a title, a separator and the menu', (t) => {
  t.is(blocks('text')[2], formatTray(captured(), 'xbar'));
});

test('every inline example of a tray line is one formatTray prints', (t) => {
  const lines = [...DOC.matchAll(/`((?:mcp-secrets )?[●◐✖○] [^`]+)`/g)].map((m) => m[1]!);
  t.true(lines.length >= 5);
  const states: (DaemonState | null)[] = ['starting', 'fresh', 'stale', 'syncing', 'error', 'conflict', 'locked', 'missing', null];
  const printable = new Set(
    states.flatMap((s) => {
      const status = s === null ? null : captured(s);
      return [formatTray(status, 'text'), formatTray(status, 'xbar').split('\n')[0]!];
    }),
  );
  for (const line of lines) t.true(printable.has(line), line);
});
