import test from 'ava';
import { PassThrough } from 'node:stream';
import { mkdtemp, readFile, stat, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createLogger, Redactor } from '../../../src/log.js';

const AGE_KEY = 'AGE-SECRET-KEY-1QYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGPQYQSZQGP';

test('masks current secret values and age keys in the message and in every metadata field', (t) => {
  const r = new Redactor();
  r.setSecrets(['sk-live-abcdef123456', 'line-one-secret\nline-two-secret']);
  t.is(r.redact('token sk-live-abcdef123456 used'), 'token [redacted] used');
  t.is(r.redact(`key ${AGE_KEY}`), 'key AGE-SECRET-KEY-1[redacted]');
  t.deepEqual(r.redactDeep({ a: ['x line-two-secret y'], b: { c: 'sk-live-abcdef123456' } }), { a: ['x [redacted] y'], b: { c: '[redacted]' } });
});

test('does not mask tiny values such as "1" or "true" (they would destroy the log and are not secrets)', (t) => {
  const r = new Redactor();
  r.setSecrets(['1', 'true', 'abc']);
  t.is(r.redact('1 true abc'), '1 true abc');
});

test('forgets the old values when the set is replaced', (t) => {
  const r = new Redactor();
  r.setSecrets(['old-secret-value']);
  r.setSecrets([]);
  t.is(r.redact('old-secret-value'), 'old-secret-value');
});

test('writes redacted JSON lines to a 0600 daemon.log in a 0700 logs dir, and readable lines to stderr', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcps-log-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const redactor = new Redactor();
  redactor.setSecrets(['sk-very-secret-value-42']);
  const stderr = new PassThrough();
  let readable = '';
  stderr.on('data', (c: Buffer) => (readable += c.toString()));
  const logger = createLogger({ level: 'debug', redactor, logDir: path.join(dir, 'logs'), stderrStream: stderr });
  logger.child('publish').info('wrote sk-very-secret-value-42', { value: 'sk-very-secret-value-42', key: AGE_KEY, count: 3 });
  await logger.close();
  const file = await readFile(path.join(dir, 'logs', 'daemon.log'), 'utf8');
  for (const text of [file, readable]) {
    t.false(text.includes('sk-very-secret-value-42'));
    t.false(text.includes('QYQSZQGP'));
  }
  const line = JSON.parse(file.trim().split('\n')[0]!) as Record<string, unknown>;
  t.is(line.component, 'publish');
  t.is(line.count, 3);
  t.regex(readable, /info \(publish\) wrote \[redacted\]/);
  t.is((await stat(path.join(dir, 'logs'))).mode & 0o777, 0o700);
  t.is((await stat(path.join(dir, 'logs', 'daemon.log'))).mode & 0o777, 0o600);
});

test('control characters in a message or a metadata value neither split a line nor reach the reader raw, on stderr or in the JSON file', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcps-log-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const stderr = new PassThrough();
  let readable = '';
  stderr.on('data', (c: Buffer) => (readable += c.toString()));
  const logger = createLogger({ level: 'debug', redactor: new Redactor(), logDir: path.join(dir, 'logs'), stderrStream: stderr });
  logger.info('synced v\u001b[31mRED\u0007\nINJECTED LINE', { secretsVersion: 'v\u001b[31mRED\u0007\nINJECTED LINE', nested: { list: ['a\rb'] } });
  await logger.close();
  const file = await readFile(path.join(dir, 'logs', 'daemon.log'), 'utf8');
  t.is(readable.trim().split('\n').length, 1, readable);
  t.is(file.trim().split('\n').length, 1, file);
  t.true(readable.includes('synced v?[31mRED??INJECTED LINE'));
  t.true(readable.includes('secretsVersion=v?[31mRED??INJECTED LINE'));
  const line = JSON.parse(file) as { message: string; secretsVersion: string; nested: { list: string[] } };
  t.is(line.message, 'synced v?[31mRED??INJECTED LINE');
  t.is(line.secretsVersion, 'v?[31mRED??INJECTED LINE');
  t.deepEqual(line.nested.list, ['a?b']);
});
