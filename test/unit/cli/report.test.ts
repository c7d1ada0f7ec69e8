import test from 'ava';
import { AppError, exitCodeForState } from '../../../src/errors.js';
import { reportError } from '../../../src/cli/report.js';
import type { CliIo } from '../../../src/cli/types.js';

function io(): { io: CliIo; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { stdout: (s) => void out.push(String(s)), stderr: (s) => void err.push(s), env: {}, cwd: '/', stdin: process.stdin, stdoutIsTTY: false }, out, err };
}

test('a bug is E_INTERNAL with exit 2 and its stack on stderr, as text and as JSON', (t) => {
  const text = io();
  t.is(reportError(new TypeError('boom'), text.io, false), 2);
  t.regex(text.err.join(''), /E_INTERNAL: internal error \(a bug: please report it/);
  t.regex(text.err.join(''), /TypeError: boom/);
  const json = io();
  t.is(reportError(new TypeError('boom'), json.io, true), 2);
  t.is((JSON.parse(json.out.join('')) as { error: { code: string } }).error.code, 'E_INTERNAL');
});

test('our errors keep their code and exit code', (t) => {
  const h = io();
  t.is(reportError(new AppError('E_USAGE', 'bad flag'), h.io, false), 64);
  t.is(h.err.join(''), 'mcp-secrets: E_USAGE: bad flag\n');
});

test('one state → exit code table for every command: fresh 0, not fresh yet 1, failed states 2', (t) => {
  t.is(exitCodeForState({ state: 'fresh', fresh: true }), 0);
  for (const state of ['starting', 'syncing', 'stale']) t.is(exitCodeForState({ state, fresh: false }), 1, state);
  for (const state of ['error', 'conflict', 'locked', 'missing']) t.is(exitCodeForState({ state, fresh: false }), 2, state);
});
