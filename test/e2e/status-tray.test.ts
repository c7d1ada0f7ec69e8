/**
 * `mcp-secrets status` and `mcp-secrets tray`, spawned from the build, against a real IPC server
 * with a fake daemon behind it: output, and the exit codes scripts rely on (DESIGN.md).
 */
import test from 'ava';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { startIpcServer } from '../../src/ipc/server.js';
import type { StatusDocument } from '../../src/ipc/status.js';
import { FakePort, fakeServer, fakeStatus } from '../helpers/ipc.js';
import { CLI, eventually, isolatedEnv, runCli } from '../helpers/e2e.js';
import { tempDir } from '../helpers/temp.js';

async function cli(t: Parameters<typeof tempDir>[0], socketPath: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = await tempDir(t);
  return runCli([...args, '--socket', socketPath], { env: isolatedEnv(dir) });
}

const synced = (minutesAgo: number): StatusDocument => ({
  ...fakeStatus('fresh', '2026.11.3'),
  lastSync: { at: new Date(Date.now() - minutesAgo * 60_000).toISOString(), ok: true, durationMs: 4.2, sourceSha256: 'b'.repeat(64), error: null },
});

test('status --json prints the daemon’s status document and exits 0 when fresh', async (t) => {
  const { socketPath, port } = await fakeServer(t);
  const r = await cli(t, socketPath, ['status', '--json']);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), port.status);
});

test('status --check answers by exit code alone: 0 fresh, 1 not fresh or too old, 2 failed, 3 no daemon', async (t) => {
  const { socketPath, port } = await fakeServer(t);
  const check = async (...extra: string[]) => {
    const r = await cli(t, socketPath, ['status', '--check', ...extra]);
    t.is(r.stdout, '', 'nothing on stdout');
    return r.code;
  };
  port.status = synced(2);
  t.is(await check(), 0);
  t.is(await check('--max-age', '10m'), 0);
  t.is(await check('--max-age', '90s'), 1, 'older than --max-age');
  port.set('syncing');
  t.is(await check(), 1);
  for (const state of ['error', 'conflict', 'locked', 'missing'] as const) {
    port.set(state);
    t.is(await check(), 2, state);
  }
  t.is(await check('--max-age', 'soon'), 64, 'a bad duration is a usage error');
  const dir = await tempDir(t);
  t.is((await cli(t, path.join(dir, 'none.sock'), ['status', '--check'])).code, 3);
});

test('status prints a one-screen summary with the last error, notices and daemon; --ack clears the notices', async (t) => {
  const port = new FakePort();
  port.status = {
    ...synced(1),
    state: 'error',
    fresh: false,
    lastSync: { at: new Date().toISOString(), ok: false, durationMs: 3, sourceSha256: null, error: { code: 'E_MAC_MISMATCH', message: 'MAC mismatch: config/secrets.enc.yaml' } },
    notices: [{ code: 'RECIPIENTS_CHANGED', message: 'the bundle’s recipients changed', since: '2026-11-28T10:00:00.000Z' }],
    identity: { source: 'keychain', recipients: ['age1examplerecipient'], opens: true, opensNothing: [] },
  };
  port.acknowledge = () => (port.status = { ...port.status, notices: [] });
  const { socketPath } = await fakeServer(t, {}, port);
  const r = await cli(t, socketPath, ['status']);
  t.is(r.code, 2, 'a failed state');
  for (const part of ['mcp-secrets: error', 'E_MAC_MISMATCH: MAC mismatch: config/secrets.enc.yaml', 'RECIPIENTS_CHANGED', 'keychain (age1examplerecipient)', `pid ${process.pid}`, '/repo/config/secrets.enc.yaml']) {
    t.true(r.stdout.includes(part), part);
  }
  const acked = await cli(t, socketPath, ['status', '--ack', '--json']);
  t.deepEqual((JSON.parse(acked.stdout) as StatusDocument).notices, []);
  t.deepEqual(port.status.notices, []);
});

test('status with no daemon exits 3 and says so; with --json as {"error"} on stdout', async (t) => {
  const dir = await tempDir(t);
  const socketPath = path.join(dir, 'none.sock');
  const human = await cli(t, socketPath, ['status']);
  t.is(human.code, 3);
  t.regex(human.stderr, /no mcp-secrets daemon answers/);
  const json = await cli(t, socketPath, ['status', '--json']);
  t.is(json.code, 3);
  t.is((JSON.parse(json.stdout) as { error: { code: string } }).error.code, 'E_DAEMON_UNREACHABLE');
});

test('tray prints one line per format, and a "down" line with exit 3 when no daemon answers', async (t) => {
  const { socketPath } = await fakeServer(t);
  t.is((await cli(t, socketPath, ['tray'])).stdout, 'mcp-secrets ● fresh v1');
  const waybar = await cli(t, socketPath, ['tray', '--format', 'waybar']);
  t.deepEqual(Object.keys(JSON.parse(waybar.stdout) as object).sort(), ['alt', 'class', 'text', 'tooltip']);
  const xbar = (await cli(t, socketPath, ['tray', '--format', 'xbar'])).stdout.split('\n');
  t.is(xbar[0], '● mcp-secrets');
  t.is(xbar[1], '---');
  const dir = await tempDir(t);
  const down = await cli(t, path.join(dir, 'none.sock'), ['tray', '--format', 'waybar']);
  t.is(down.code, 3);
  t.is((JSON.parse(down.stdout) as { class: string }).class, 'down');
  t.is((await cli(t, socketPath, ['tray', '--format', 'svg'])).code, 64);
});

test('tray --watch prints a line on every change, "down" when the daemon goes, and reconnects when it is back', async (t) => {
  const { socketPath, port, server } = await fakeServer(t);
  const dir = await tempDir(t);
  const child = spawn(process.execPath, [CLI, 'tray', '--watch', '--socket', socketPath], { env: isolatedEnv(dir), stdio: ['ignore', 'pipe', 'inherit'] });
  t.teardown(() => child.kill('SIGKILL'));
  let out = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => (out += chunk));
  const lines = (): string[] => out.split('\n').filter(Boolean);
  await eventually(() => (lines().length === 1 ? true : undefined), 10_000, 'the first line');
  port.set('syncing', 'v2');
  port.set('fresh', 'v2');
  await eventually(() => (lines().length === 3 ? true : undefined), 10_000, 'a line per change');
  await server.close();
  await eventually(() => (lines().at(-1) === 'mcp-secrets ○ down' ? true : undefined), 10_000, 'the down line');
  const again = await startIpcServer({ socketPath, port });
  t.teardown(() => again.close());
  port.set('fresh', 'v3');
  await eventually(() => (lines().at(-1) === 'mcp-secrets ● fresh v3' ? true : undefined), 15_000, 'the line after reconnecting');
  t.deepEqual(lines().slice(0, 4), ['mcp-secrets ● fresh v1', 'mcp-secrets ◐ syncing v2', 'mcp-secrets ● fresh v2', 'mcp-secrets ○ down']);
});
