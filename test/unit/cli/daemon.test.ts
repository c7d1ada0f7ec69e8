import test from 'ava';
import { resolveDaemonInput, runDaemon, type DaemonDeps, type DaemonHandle, type DaemonInput } from '../../../src/cli/daemon.js';
import { resolveCommonOptions } from '../../../src/config/options.js';
import type { DaemonOptions } from '../../../src/daemon/run.js';
import { AppError } from '../../../src/errors.js';
import { captureIo, type CapturedIo } from '../../helpers/cli-io.js';

const ENV = { HOME: '/home/u' };

function input(values: Record<string, string | boolean> = {}): DaemonInput {
  return resolveDaemonInput({ values: { repo: '/work/repo', ...values }, positionals: [] }, { env: ENV, cwd: '/work' });
}

interface World {
  deps: DaemonDeps;
  io: CapturedIo;
  started: DaemonOptions[];
  lookups: { cache: boolean }[];
  /** What the daemon was asked to do, in order. */
  asked: string[];
  /** The signal handlers the command installed; null once detached. */
  signals: { stop(signal: NodeJS.Signals): void; reload(): void } | null;
  /** Ends the fake daemon's run. */
  finish(): void;
}

function world(start?: (options: DaemonOptions) => Promise<DaemonHandle>): World {
  const io = captureIo({ env: ENV });
  let finish = (): void => undefined;
  const stopped = new Promise<void>((resolve) => (finish = resolve));
  const w: World = {
    io,
    started: [],
    lookups: [],
    asked: [],
    signals: null,
    finish: () => finish(),
    deps: {
      io,
      resolveRepo: async ({ repoFlag }) => repoFlag ?? '/work/repo',
      identityLookup: (options) => {
        w.lookups.push({ cache: options.cache });
        options.onNotice('found SOPS_AGE_KEY\u001b[2J');
        return async () => ({ identities: [], attempts: [] });
      },
      startDaemon:
        start ??
        (async (options) => {
          w.started.push(options);
          return {
            stopped,
            stop: async (reason) => void w.asked.push(`stop ${reason}`),
            reload: async () => void w.asked.push('reload'),
          };
        }),
      onSignals: (handlers) => {
        w.signals = handlers;
        return () => (w.signals = null);
      },
    },
  };
  return w;
}

test('starts the daemon with the resolved options and runs until it stops, routing signals to it', async (t) => {
  const w = world();
  const run = runDaemon(input({ 'settle-ms': '120', 'no-cache-identity': true, home: '/h', socket: '/s.sock' }), w.deps);
  await new Promise((r) => setImmediate(r));
  t.is(w.started.length, 1);
  const started = w.started[0]!;
  t.is(started.repo, '/work/repo');
  t.is(started.settleMs, 120);
  t.like(started.common, { home: '/h', socket: '/s.sock', engine: 'auto' });
  t.deepEqual(w.lookups, [{ cache: false }]);
  t.is(w.io.err(), 'mcp-secrets: found SOPS_AGE_KEY?[2J\n', 'notices are escaped');

  w.signals!.reload();
  w.signals!.stop('SIGTERM');
  t.deepEqual(w.asked, ['reload', 'stop SIGTERM']);
  w.finish();
  t.is(await run, 0);
  t.is(w.signals, null, 'signal handlers removed once stopped');
});

test('a start-up failure is reported and exits 78 so the service manager does not loop', async (t) => {
  const w = world(async () => {
    throw new AppError('E_ALREADY_RUNNING', 'a daemon (pid 7) holds /h');
  });
  t.is(await runDaemon(input(), w.deps), 78);
  t.regex(w.io.err(), /^mcp-secrets: E_ALREADY_RUNNING: a daemon \(pid 7\) holds \/h/m);
  t.is(w.signals, null, 'no signal handler installed');
});

test('with --json the start-up failure is the error document on stdout', async (t) => {
  const w = world(async () => {
    throw new AppError('E_INSECURE_PATH', 'home is 0755');
  });
  t.is(await runDaemon(input({ json: true }), w.deps), 78);
  t.deepEqual(JSON.parse(w.io.out()), { error: { code: 'E_INSECURE_PATH', message: 'home is 0755' } });
});

test('E_WRITE (a full disk may clear) and a bug keep their exit code: a restart may help', async (t) => {
  const write = world(async () => {
    throw new AppError('E_WRITE', 'disk full');
  });
  t.is(await runDaemon(input(), write.deps), 2);
  const bug = world(async () => {
    throw new TypeError('undefined is not a function');
  });
  t.is(await runDaemon(input(), bug.deps), 2);
  t.regex(bug.io.err(), /E_INTERNAL/);
});

test('no repo is a start-up failure too (exit 78), before anything starts', async (t) => {
  const w = world();
  w.deps = {
    ...w.deps,
    resolveRepo: async () => {
      throw new AppError('E_NO_REPO', 'not in a git repository');
    },
  };
  t.is(await runDaemon(input(), w.deps), 78);
  t.is(w.started.length, 0);
});

test('option validation: --settle-ms and --log-level are usage errors (exit 64) before anything starts', (t) => {
  for (const values of [{ 'settle-ms': '-5' } as Record<string, string>, { 'settle-ms': '1.5' }, { 'settle-ms': '60001' }, { 'settle-ms': 'soon' }, { 'log-level': 'trace' }, { engine: 'gpg' }]) {
    t.is(t.throws<AppError>(() => input(values))?.code, 'E_USAGE', JSON.stringify(values));
  }
  t.is(input({ 'settle-ms': '0' }).settleMs, 0);
  t.is(input().settleMs, undefined);
  t.true(input().cacheIdentity);
  t.deepEqual(input().common, resolveCommonOptions({ repo: '/work/repo' }, ENV, '/work'));
});
