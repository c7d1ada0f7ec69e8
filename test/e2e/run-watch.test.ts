/**
 * `run --watch` with a real daemon, real git commits and a real child: the child is restarted
 * exactly when the values it was given change, never for other entries, and run exits 3 when no
 * daemon answers.
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CLI, eventually } from '../helpers/e2e.js';
import { daemonFixture, sampleBundle } from '../helpers/daemon.js';

/** A consumer that appends the value it was started with to a file, then waits for a signal. */
const CONSUMER = `
const fs = require('fs');
fs.appendFileSync(process.argv[2], (process.env.OPENAI_API_KEY ?? 'none') + '\\n');
process.on('SIGTERM', () => process.exit(0));
setInterval(() => {}, 1000);
`;

async function lines(file: string): Promise<string[]> {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.split('\n').filter((l) => l.length > 0);
}

test('exits 3 without starting the command when no daemon answers', async (t) => {
  const d = await daemonFixture(t);
  await d.commitBundle(sampleBundle('v1'), 'v1');
  const marker = path.join(d.dir, 'started');
  const child = spawn(process.execPath, [CLI, 'run', '--watch', '--repo', d.repo, '--home', d.home, '--socket', d.socket, '--only', 'OPENAI_API_KEY', '--', process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`], { env: d.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  t.is(code, 3, stderr);
  t.regex(stderr, /E_DAEMON_UNREACHABLE/);
  await t.throwsAsync(readFile(marker), { code: 'ENOENT' });
});

test('restarts the command when its selected values change, not for other entries, and returns its exit code', async (t) => {
  const d = await daemonFixture(t);
  await d.commitBundle(sampleBundle('v1'), 'v1');
  await d.start();
  await d.waitFor((s) => s.state === 'fresh' && s.secretsVersion === 'v1', 'fresh on v1');
  const script = path.join(d.dir, 'consumer.js');
  const log = path.join(d.dir, 'values.log');
  await writeFile(script, CONSUMER);
  const run = spawn(process.execPath, [CLI, 'run', '--watch', '--grace', '5', '--repo', d.repo, '--home', d.home, '--socket', d.socket, '--only', 'OPENAI_API_KEY', '--', process.execPath, script, log], { env: d.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  run.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const ended = new Promise<number | null>((resolve) => run.once('close', resolve));
  t.teardown(() => run.kill('SIGKILL'));
  await eventually(async () => ((await lines(log)).length === 1 ? true : undefined), 20_000, 'the command started').catch((e: Error) => {
    throw new Error(`${e.message}; run said: ${stderr}`);
  });
  t.deepEqual(await lines(log), ['sk-test-openai-v1-value']);

  // an entry this command was not given changes: no restart
  const before = (await d.status()).source.sha256;
  await d.commitBundle({ ...sampleBundle('v1'), anthropic: { api_key: 'sk-ant-changed-value' } }, 'anthropic only');
  await d.waitFor((s) => s.state === 'fresh' && s.source.sha256 !== before, 'synced the anthropic change');
  // its own value changes: exactly one restart, with the new value
  await d.commitBundle({ ...sampleBundle('v1'), openai: { api_key: 'sk-openai-rotated-value' }, anthropic: { api_key: 'sk-ant-changed-value' } }, 'openai rotated');
  await eventually(async () => ((await lines(log)).length >= 2 ? true : undefined), 30_000, 'the command restarted').catch((e: Error) => {
    throw new Error(`${e.message}; run said: ${stderr}; daemon: ${d.stderr.join('').slice(-2000)}`);
  });
  t.deepEqual(await lines(log), ['sk-test-openai-v1-value', 'sk-openai-rotated-value'], stderr);
  t.regex(stderr, /restarted .*: its selected values changed/);
  t.false(stderr.includes('sk-openai-rotated-value'), 'no value on stderr');

  run.kill('SIGTERM');
  t.is(await ended, 0, 'the child ended on SIGTERM with 0, and run returned that');
});
