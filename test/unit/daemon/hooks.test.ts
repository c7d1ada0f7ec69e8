import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { changedOutputs, hookEnv, runHook } from '../../../src/daemon/hooks.js';
import type { SyncSuccess } from '../../../src/bundle/sync-result.js';
import { parseUserConfig } from '../../../src/config/user-config.js';

const now = () => new Date('2026-12-01T00:00:00Z');

function result(digests: Record<string, string>): SyncSuccess {
  return {
    outputs: Object.entries(digests).map(([file, d]) => ({ kind: 'env', format: 'env', file, path: `/h/${file}`, sha256: `sha-${file}-${Math.random()}`, entriesDigest: d })),
  } as unknown as SyncSuccess;
}

test('only outputs whose rendered entries changed are picked, never on the first sync', (t) => {
  t.deepEqual(changedOutputs(result({ a: '1', b: '2' }), null), []);
  t.deepEqual(changedOutputs(result({ a: '1', b: '3', c: '9' }), result({ a: '1', b: '2' })), ['/h/b', '/h/c']);
  t.deepEqual(changedOutputs(result({ a: '1' }), result({ a: '1' })), [], 'other file bytes, same entries: nothing');
});

test('a hook environment holds only the allowlist and the two hook variables', (t) => {
  const env = hookEnv({ PATH: '/bin', HOME: '/h', SOPS_AGE_KEY: 'AGE-SECRET-KEY-1X', OPENAI_API_KEY: 'sk', NODE_OPTIONS: '--x' }, '/h/.env', 'v1');
  t.deepEqual(env, { PATH: '/bin', HOME: '/h', MCP_SECRETS_OUTPUT: '/h/.env', MCP_SECRETS_VERSION: 'v1' });
});

test('a pid file hook refuses pid 0, 1, negative and non-numeric contents, and signals a real process', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcp-hooks-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const pidFile = path.join(dir, 'p.pid');
  for (const text of ['0', '1', '-5', 'abc', '12 34', '']) {
    await writeFile(pidFile, text);
    t.is((await runHook({ pidFile, signal: 'SIGHUP', timeoutMs: 1000 }, '/h/.env', null, { env: {}, now })).outcome, 'failed', JSON.stringify(text));
  }
  t.is((await runHook({ pidFile: path.join(dir, 'missing'), signal: 'SIGHUP', timeoutMs: 1000 }, '/h/.env', null, { env: {}, now })).outcome, 'failed');
  const child = spawn(process.execPath, ['-e', 'process.on("SIGUSR2", () => process.exit(42)); process.stdout.write("ready"); setInterval(() => {}, 1000)'], { stdio: ['ignore', 'pipe', 'ignore'] });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await new Promise((r) => child.stdout.once('data', r)); // its handler is installed
  await writeFile(pidFile, `${child.pid}\n`);
  const outcome = await runHook({ pidFile, signal: 'SIGUSR2', timeoutMs: 1000 }, '/h/.env', null, { env: {}, now });
  t.is(outcome.outcome, 'ok');
  t.is(await exited, 42);
});

test('a run hook that cannot start, fails, or hangs is reported as such', async (t) => {
  const env = { PATH: process.env.PATH };
  t.like(await runHook({ run: ['/nonexistent/hook'], signal: 'SIGHUP', timeoutMs: 5000 }, '/h/.env', null, { env, now }), { outcome: 'failed', exitCode: null });
  t.like(await runHook({ run: [process.execPath, '-e', 'process.exit(7)'], signal: 'SIGHUP', timeoutMs: 20_000 }, '/h/.env', null, { env, now }), { outcome: 'failed', exitCode: 7 });
  t.like(await runHook({ run: [process.execPath, '-e', 'setInterval(() => {}, 1000)'], signal: 'SIGHUP', timeoutMs: 500 }, '/h/.env', null, { env, now }), { outcome: 'timeout', exitCode: null });
  t.like(await runHook({ run: [process.execPath, '-e', ''], signal: 'SIGHUP', timeoutMs: 20_000 }, '/h/.env', null, { env, now }), { outcome: 'ok', exitCode: 0 });
});

test('the user config takes hooks keyed by output file with exactly one action', async (t) => {
  const ok = await parseUserConfig('version: 1\nhooks:\n  gemini.env: {run: [systemctl, --user, restart, my-mcp], timeoutSeconds: 5}\n  .env: {pidFile: /run/x.pid, signal: SIGUSR1}\n', '/c.yaml');
  t.deepEqual({ ...ok.hooks['gemini.env'] }, { run: ['systemctl', '--user', 'restart', 'my-mcp'], signal: 'SIGHUP', timeoutMs: 5000 });
  t.deepEqual({ ...ok.hooks['.env'] }, { pidFile: '/run/x.pid', signal: 'SIGUSR1', timeoutMs: 30_000 });
  for (const bad of ['hooks:\n  a: {}\n', 'hooks:\n  a: {run: [x], pidFile: /p}\n', 'hooks:\n  a: {pidFile: rel.pid}\n', 'hooks:\n  a: {run: [x], shell: true}\n', 'hooks:\n  a/b: {run: [x]}\n', 'hooks:\n  a: {pidFile: /p, signal: SIGKILL}\n']) {
    await t.throwsAsync(parseUserConfig(bad, '/c.yaml'), { message: /\/c\.yaml/ }, bad);
  }
});
