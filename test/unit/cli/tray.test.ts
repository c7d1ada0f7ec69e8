import test from 'ava';
import { resolveTrayInput, runTray, type TrayDeps, type TrayInput } from '../../../src/cli/tray.js';
import { AppError } from '../../../src/errors.js';
import type { StatusDocument } from '../../../src/ipc/status.js';
import { captureIo, type CapturedIo } from '../../helpers/cli-io.js';
import { fakeStatus } from '../../helpers/ipc.js';

const input = (over: Partial<TrayInput> = {}): TrayInput => ({ socket: '/run/mcp.sock', format: 'text', json: false, watch: false, ...over });

function oneShot(status: StatusDocument | null): { deps: TrayDeps; io: CapturedIo } {
  const io = captureIo();
  const deps: TrayDeps = {
    io,
    getStatus: async (socket) => {
      if (status === null) throw new AppError('E_DAEMON_UNREACHABLE', `no daemon answers on ${socket}`);
      return status;
    },
    subscribe: () => {
      throw new Error('one-shot mode must not subscribe');
    },
    sleep: async () => {
      throw new Error('one-shot mode must not wait');
    },
  };
  return { deps, io };
}

test('one line in each format for a fresh daemon, exit 0', async (t) => {
  const expected: Record<TrayInput['format'], (out: string) => void> = {
    text: (out) => t.is(out, 'mcp-secrets ● fresh 2026.11.3\n'),
    json: (out) => t.deepEqual(JSON.parse(out), { state: 'fresh', fresh: true, secretsVersion: '2026.11.3', notices: 0, text: '● fresh 2026.11.3' }),
    waybar: (out) => t.like(JSON.parse(out), { class: 'fresh', text: '● fresh 2026.11.3' }),
    xbar: (out) => t.is(out.split('\n')[0], '● mcp-secrets'),
  };
  for (const format of ['text', 'json', 'waybar', 'xbar'] as const) {
    const f = oneShot(fakeStatus('fresh', '2026.11.3'));
    t.is(await runTray(input({ format }), f.deps), 0, format);
    expected[format](f.io.out());
    if (format !== 'xbar') t.is(f.io.out().split('\n').length, 2, `${format}: one line`);
  }
});

test('no daemon: a "down" line in the chosen format and exit 3', async (t) => {
  const f = oneShot(null);
  t.is(await runTray(input({ format: 'waybar' }), f.deps), 3);
  t.like(JSON.parse(f.io.out()), { class: 'down', alt: 'down' });
});

test('--json prints the json format as one document in the house style, also when no daemon answers', async (t) => {
  const fresh = oneShot(fakeStatus('fresh', 'v2'));
  t.is(await runTray(input({ format: 'json', json: true }), fresh.deps), 0);
  const doc = JSON.parse(fresh.io.out()) as Record<string, unknown>;
  t.like(doc, { state: 'fresh', secretsVersion: 'v2' });
  t.is(fresh.io.out(), JSON.stringify(doc, null, 2) + '\n');

  const down = oneShot(null);
  t.is(await runTray(input({ format: 'json', json: true }), down.deps), 3);
  t.like(JSON.parse(down.io.out()), { state: 'down', fresh: false });
});

test('--watch prints a line per change (not repeats), "down" when the daemon goes, and backs off 1 s doubling, reset after an answer', async (t) => {
  const io = captureIo();
  const waits: number[] = [];
  // each round: what the daemon sends before it goes away (empty: it never answered)
  const rounds: StatusDocument[][] = [[fakeStatus('syncing'), fakeStatus('syncing'), fakeStatus('fresh')], [], [], [fakeStatus('fresh')], []];
  const stop = new Error('end of test');
  const deps: TrayDeps = {
    io,
    getStatus: async () => {
      throw new Error('watch mode subscribes');
    },
    subscribe: (socket, onStatus) => {
      t.is(socket, '/run/mcp.sock');
      for (const status of rounds.shift() ?? []) onStatus(status);
      return { close: () => undefined, closed: Promise.resolve() };
    },
    sleep: async (ms) => {
      waits.push(ms);
      if (rounds.length === 0) throw stop;
    },
  };
  t.is(await t.throwsAsync(runTray(input({ watch: true }), deps)), stop);
  t.deepEqual(io.out().split('\n'), [
    'mcp-secrets ◐ syncing v1',
    'mcp-secrets ● fresh v1',
    'mcp-secrets ○ down',
    'mcp-secrets ● fresh v1',
    'mcp-secrets ○ down',
    '',
  ]);
  t.deepEqual(waits, [1_000, 2_000, 4_000, 1_000, 2_000]);
});

test('--watch --json prints one compact document per line: a stream is read line by line', async (t) => {
  const io = captureIo();
  const stop = new Error('end of test');
  const deps: TrayDeps = {
    io,
    getStatus: async () => fakeStatus(),
    subscribe: (_socket, onStatus) => {
      onStatus(fakeStatus('fresh'));
      return { close: () => undefined, closed: Promise.resolve() };
    },
    sleep: async () => {
      throw stop;
    },
  };
  await t.throwsAsync(runTray(input({ watch: true, json: true, format: 'json' }), deps));
  const lines = io.out().trimEnd().split('\n');
  t.is(lines.length, 2);
  t.like(JSON.parse(lines[0]!), { state: 'fresh' });
  t.like(JSON.parse(lines[1]!), { state: 'down' });
});

test('flags resolve: --json selects the json format and refuses another --format; a bad --format is a usage error', (t) => {
  const io = { env: { HOME: '/home/u', MCP_SECRETS_SOCKET: '/run/env.sock' }, cwd: '/' };
  t.deepEqual(resolveTrayInput({ values: {}, positionals: [] }, io), { socket: '/run/env.sock', format: 'text', json: false, watch: false });
  t.deepEqual(resolveTrayInput({ values: { json: true, watch: true }, positionals: [] }, io), { socket: '/run/env.sock', format: 'json', json: true, watch: true });
  t.like(resolveTrayInput({ values: { json: true, format: 'json' }, positionals: [] }, io), { format: 'json', json: true });
  t.is(t.throws<AppError>(() => resolveTrayInput({ values: { json: true, format: 'waybar' }, positionals: [] }, io))?.code, 'E_USAGE');
  t.is(t.throws<AppError>(() => resolveTrayInput({ values: { format: 'svg' }, positionals: [] }, io))?.code, 'E_USAGE');
});
