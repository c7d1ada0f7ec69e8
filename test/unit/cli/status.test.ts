import test from 'ava';
import { resolveStatusInput, runStatus, type StatusDeps, type StatusInput } from '../../../src/cli/status.js';
import { AppError } from '../../../src/errors.js';
import type { DaemonState, StatusDocument } from '../../../src/ipc/status.js';
import { captureIo, type CapturedIo } from '../../helpers/cli-io.js';
import { fakeStatus } from '../../helpers/ipc.js';

const NOW = new Date('2026-11-28T12:00:00Z');

const input = (over: Partial<StatusInput> = {}): StatusInput => ({ socket: '/run/mcp.sock', json: false, check: false, maxAgeMs: null, ack: false, ...over });

function syncedAt(state: DaemonState, minutesAgo: number): StatusDocument {
  return { ...fakeStatus(state, '2026.11.3'), lastSync: { at: new Date(NOW.getTime() - minutesAgo * 60_000).toISOString(), ok: true, durationMs: 4.2, sourceSha256: 'b'.repeat(64), error: null } };
}

function fakes(status: StatusDocument | null): { deps: StatusDeps; io: CapturedIo; asked: string[] } {
  const io = captureIo();
  const asked: string[] = [];
  const answer = (what: string) => async (socket: string) => {
    asked.push(`${what} ${socket}`);
    if (status === null) throw new AppError('E_DAEMON_UNREACHABLE', `no daemon answers on ${socket}`);
    return what === 'ack' ? { ...status, notices: [] } : status;
  };
  return { deps: { io, getStatus: answer('status'), ack: answer('ack'), now: () => NOW }, io, asked };
}

test('--check answers by exit code alone: 0 fresh, 1 not fresh, 2 failed states, 3 no daemon', async (t) => {
  const cases: [StatusDocument | null, number][] = [
    [syncedAt('fresh', 2), 0],
    [syncedAt('starting', 2), 1],
    [syncedAt('syncing', 2), 1],
    [syncedAt('stale', 2), 1],
    [syncedAt('error', 2), 2],
    [syncedAt('conflict', 2), 2],
    [syncedAt('locked', 2), 2],
    [syncedAt('missing', 2), 2],
    [null, 3],
  ];
  for (const [status, code] of cases) {
    const f = fakes(status);
    t.is(await runStatus(input({ check: true }), f.deps), code, status?.state ?? 'no daemon');
    t.is(f.io.out(), '', 'nothing printed');
  }
});

test('--check --max-age: fresh but older than the limit is 1, within it 0, never synced 1', async (t) => {
  t.is(await runStatus(input({ check: true, maxAgeMs: 10 * 60_000 }), fakes(syncedAt('fresh', 2)).deps), 0);
  t.is(await runStatus(input({ check: true, maxAgeMs: 90_000 }), fakes(syncedAt('fresh', 2)).deps), 1);
  t.is(await runStatus(input({ check: true, maxAgeMs: 90_000 }), fakes(fakeStatus('fresh')).deps), 1, 'no lastSync');
  t.is(await runStatus(input({ check: true, maxAgeMs: 90_000 }), fakes(syncedAt('error', 1)).deps), 2, 'a failed state stays 2');
});

test('--check wins over --ack: it only asks', async (t) => {
  const f = fakes(syncedAt('fresh', 1));
  await runStatus(input({ check: true, ack: true }), f.deps);
  t.deepEqual(f.asked, ['status /run/mcp.sock']);
});

test('--json prints the status document in the house style and exits by state', async (t) => {
  const status = syncedAt('stale', 1);
  const f = fakes(status);
  t.is(await runStatus(input({ json: true }), f.deps), 1);
  t.is(f.io.out(), JSON.stringify(status, null, 2) + '\n');
});

test('without --json prints the human summary, ages measured from the injected clock', async (t) => {
  const f = fakes(syncedAt('fresh', 3));
  t.is(await runStatus(input(), f.deps), 0);
  t.regex(f.io.out(), /^mcp-secrets: fresh \(outputs match the bundle\) — secrets 2026\.11\.3, 3 entries\n/);
  t.regex(f.io.out(), /last sync .* \(3 min ago\)/);
});

test('--ack asks the daemon to clear the notices and prints the status after it', async (t) => {
  const status = { ...syncedAt('fresh', 1), notices: [{ code: 'RECIPIENTS_CHANGED', message: 'changed', since: '2026-11-28T10:00:00Z' }] };
  const f = fakes(status);
  t.is(await runStatus(input({ ack: true, json: true }), f.deps), 0);
  t.deepEqual(f.asked, ['ack /run/mcp.sock']);
  t.deepEqual((JSON.parse(f.io.out()) as StatusDocument).notices, []);
});

test('an unreachable daemon outside --check is E_DAEMON_UNREACHABLE (exit 3 from the dispatcher), nothing printed', async (t) => {
  for (const over of [{}, { json: true }, { ack: true }]) {
    const f = fakes(null);
    t.is((await t.throwsAsync<AppError>(runStatus(input(over), f.deps)))?.code, 'E_DAEMON_UNREACHABLE');
    t.is(f.io.out(), '');
  }
});

test('flags resolve into the input; a bad --max-age is a usage error', (t) => {
  const io = { env: { HOME: '/home/u', MCP_SECRETS_SOCKET: '/run/env.sock' }, cwd: '/' };
  t.deepEqual(resolveStatusInput({ values: { check: true, 'max-age': '10m' }, positionals: [] }, io), { socket: '/run/env.sock', json: false, check: true, maxAgeMs: 600_000, ack: false });
  t.like(resolveStatusInput({ values: { json: true, ack: true, socket: '/s.sock' }, positionals: [] }, io), { socket: '/s.sock', json: true, ack: true, maxAgeMs: null });
  t.is(t.throws<AppError>(() => resolveStatusInput({ values: { check: true, 'max-age': 'soon' }, positionals: [] }, io))?.code, 'E_USAGE');
});
