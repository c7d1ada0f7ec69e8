import test from 'ava';
import { formatTray } from '../../../src/tray/format.js';
import { checkExitCode, parseDuration, humanStatus } from '../../../src/cli/status.js';
import { fakeStatus } from '../../helpers/ipc.js';

test('text, json, waybar and xbar lines for a fresh daemon', (t) => {
  const s = fakeStatus('fresh', '2026.11.3');
  t.is(formatTray(s, 'text'), 'mcp-secrets ● fresh 2026.11.3');
  t.deepEqual(JSON.parse(formatTray(s, 'json')), { state: 'fresh', fresh: true, secretsVersion: '2026.11.3', notices: 0, text: '● fresh 2026.11.3' });
  const waybar = JSON.parse(formatTray(s, 'waybar')) as Record<string, string>;
  t.is(waybar.class, 'fresh');
  t.is(waybar.text, '● fresh 2026.11.3');
  t.true(waybar.tooltip!.includes('secrets version: 2026.11.3'));
  const xbar = formatTray(s, 'xbar').split('\n');
  t.is(xbar[0], '● mcp-secrets');
  t.is(xbar[1], '---');
});

test('a missing daemon shows "down", and failures are marked for the bar to colour', (t) => {
  t.is(formatTray(null, 'text'), 'mcp-secrets ○ down');
  t.is((JSON.parse(formatTray(null, 'waybar')) as { class: string }).class, 'down');
  const error = { ...fakeStatus('error'), lastSync: { at: '2026-11-28T10:00:00Z', ok: false, durationMs: 1, sourceSha256: null, error: { code: 'E_MAC_MISMATCH', message: 'MAC mismatch | x' } } };
  t.is(formatTray(error, 'text'), 'mcp-secrets ✖ error v1');
  const xbar = formatTray(error, 'xbar');
  t.true(xbar.startsWith('✖ mcp-secrets | color=red'));
  t.false(xbar.split('\n').slice(2).some((l) => l.includes('|')), 'no stray xbar parameters in detail lines');
});

test('notices add a "!" to the headline', (t) => {
  const s = { ...fakeStatus('fresh', 'v2'), notices: [{ code: 'RECIPIENTS_CHANGED', message: 'm', since: 'x' }] };
  t.is(formatTray(s, 'text'), 'mcp-secrets ● fresh v2 !');
});

test('--check: 0 fresh, 1 not fresh or too old, 2 failed states', (t) => {
  const now = new Date('2026-11-28T12:00:00Z');
  const fresh = { ...fakeStatus('fresh'), lastSync: { at: '2026-11-28T11:55:00Z', ok: true, durationMs: 1, sourceSha256: null, error: null } };
  t.is(checkExitCode(fresh, null, now), 0);
  t.is(checkExitCode(fresh, parseDuration('10m'), now), 0);
  t.is(checkExitCode(fresh, parseDuration('1m'), now), 1);
  t.is(checkExitCode(fakeStatus('syncing'), null, now), 1);
  t.is(checkExitCode(fakeStatus('stale'), null, now), 1);
  for (const state of ['error', 'conflict', 'locked', 'missing'] as const) t.is(checkExitCode(fakeStatus(state), null, now), 2, state);
});

test('durations: 90s, 10m, 1h, 500ms; anything else is a usage error', (t) => {
  t.is(parseDuration('90s'), 90_000);
  t.is(parseDuration('10m'), 600_000);
  t.is(parseDuration('1h'), 3_600_000);
  t.is(parseDuration('500ms'), 500);
  t.throws(() => parseDuration('10 minutes'), { message: /duration like/ });
});

test('the human summary names the state, version, outputs and daemon', (t) => {
  const text = humanStatus(fakeStatus('fresh', '2026.11.3'), new Date());
  t.regex(text, /^mcp-secrets: fresh \(outputs match the bundle\) — secrets 2026\.11\.3, 3 entries/);
  t.regex(text, /daemon {4}pid \d+/);
});

test('control characters from the daemon cannot break a line or add xbar parameters', (t) => {
  const s = {
    ...fakeStatus('error', 'v1\n| bash=/bin/sh'),
    lastSync: { at: '2026-11-28T10:00:00Z', ok: false, durationMs: 1, sourceSha256: null, error: { code: 'E_PARSE', message: 'bad \u001b[31mfile\nnext line | terminal=true' } },
  };
  t.false(formatTray(s, 'text').includes('\n'));
  t.false(formatTray(s, 'text').includes('\u001b'));
  const xbar = formatTray(s, 'xbar').split('\n');
  t.is(xbar.length, 2 + 6, 'title, ---, and six detail lines (state, version, entries, last sync, its error on two lines)');
  t.false(xbar.slice(2).some((l) => l.includes('|') || l.includes('\u001b')));
  const human = humanStatus(s, new Date('2026-11-28T10:00:05Z'));
  t.false(human.includes('\u001b'));
  t.is(human.split('\n').filter((l) => l.includes('next line')).length, 1);
});
