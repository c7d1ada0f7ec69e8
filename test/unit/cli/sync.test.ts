import test from 'ava';
import { resolveSyncInput, runSync, type SyncDeps, type SyncInput } from '../../../src/cli/sync.js';
import { AppError } from '../../../src/errors.js';
import type { IdentityLookup, SyncPlan } from '../../../src/bundle/sync-once.js';
import type { SyncSuccess } from '../../../src/bundle/sync-result.js';
import type { HomeLockHolder } from '../../../src/publish/home-lock.js';
import type { StatusDocument } from '../../../src/ipc/status.js';
import { captureIo, type CapturedIo } from '../../helpers/cli-io.js';
import { fakeStatus } from '../../helpers/ipc.js';

const SECRET = 'sk-test-value-that-must-never-print';

const input = (over: Partial<SyncInput> = {}): SyncInput => ({
  repoFlag: '/work/repo',
  source: 'config/secrets.enc.yaml',
  home: '/home/u/.mcp',
  socket: '/run/mcp.sock',
  engine: 'auto',
  json: false,
  cwd: '/work/repo',
  viaDaemon: false,
  acceptDataKey: false,
  acceptConfig: false,
  cacheIdentity: true,
  skipWithoutIdentity: false,
  ...over,
});

function success(): SyncSuccess {
  return {
    sourcePath: '/work/repo/config/secrets.enc.yaml',
    sourceSha256: 'b'.repeat(64),
    commit: 'c'.repeat(40),
    dirty: false,
    entries: 2,
    secretsVersion: '2026.11.3',
    outputs: [{ kind: 'env', format: 'env', file: '.env', path: '/home/u/.mcp/.env', sha256: 'd'.repeat(64), entriesDigest: 'e'.repeat(64) }],
    written: ['/home/u/.mcp/.env'],
    unchanged: [],
    removed: [],
    warnings: [],
    identity: { source: 'env', recipients: ['age1example'], opensNothing: [] },
    bundleRecipients: ['age1example'],
    sopsConfigRecipients: null,
    dataKeyPin: 'known',
    durationMs: 12.345,
    secretValues: [SECRET],
  };
}

interface Recorder {
  deps: SyncDeps;
  io: CapturedIo;
  calls: string[];
  plans: SyncPlan[];
  lookups: { cache: boolean; ci: boolean }[];
}

function fakes(over: Partial<SyncDeps> = {}, identities: IdentityLookup = { identities: [{ line: 'AGE-SECRET-KEY-1X', recipient: 'age1example', source: 'env', origin: 'SOPS_AGE_KEY' }], attempts: [] }): Recorder {
  const io = captureIo();
  const calls: string[] = [];
  const plans: SyncPlan[] = [];
  const lookups: { cache: boolean; ci: boolean }[] = [];
  const deps: SyncDeps = {
    io,
    homeLockHolder: async () => null,
    daemonSync: async (socket) => {
      calls.push(`daemon ${socket}`);
      return fakeStatus('fresh');
    },
    resolveRepo: async ({ repoFlag }) => repoFlag ?? '/work/repo',
    identityLookup: (options) => {
      lookups.push({ cache: options.cache, ci: options.ci });
      return async () => identities;
    },
    syncOnce: async (plan, pipelineDeps) => {
      plans.push(plan);
      calls.push(`pipeline accept=${String(pipelineDeps.acceptDataKey)}`);
      await pipelineDeps.identities();
      return success();
    },
    acceptRepoConfig: async () => {
      calls.push('accept-config');
      return null;
    },
    ...over,
  };
  return { deps, io, calls, plans, lookups };
}

const holder: HomeLockHolder = { pid: 4242, procStart: null, socket: '/run/other.sock', startedAt: '2026-11-28T10:00:00Z' };

test('syncs here when no daemon holds home, and prints a summary without values', async (t) => {
  const r = fakes();
  t.is(await runSync(input(), r.deps), 0);
  t.deepEqual(r.calls, ['pipeline accept=false']);
  t.is(r.plans[0]?.sourceAbs, '/work/repo/config/secrets.enc.yaml');
  t.is(r.plans[0]?.home, '/home/u/.mcp');
  t.regex(r.io.out(), /^mcp-secrets: synced config\/secrets\.enc\.yaml \(commit c{12}\)/);
  t.regex(r.io.out(), /\/home\/u\/\.mcp\/\.env {2}written {4}0600/);
  t.false(r.io.out().includes(SECRET));
  t.deepEqual(r.lookups, [{ cache: true, ci: false }]);
});

test('a daemon holding home does the sync, on the socket it holds, and its state decides the exit code', async (t) => {
  const r = fakes({ homeLockHolder: async () => holder });
  t.is(await runSync(input(), r.deps), 0);
  t.deepEqual(r.calls, ['daemon /run/other.sock'], 'no pipeline run beside the daemon');
  t.regex(r.io.err(), /the daemon \(pid 4242\) serving \/home\/u\/\.mcp does this sync/);
  t.is(r.io.out(), 'mcp-secrets: the daemon synced: state fresh\n');

  const locked = fakes({ homeLockHolder: async () => holder, daemonSync: async () => fakeStatus('locked') });
  t.is(await runSync(input(), locked.deps), 2);
  const syncing = fakes({ homeLockHolder: async () => holder, daemonSync: async () => fakeStatus('syncing') });
  t.is(await runSync(input(), syncing.deps), 1);
});

test('a daemon that holds home but does not answer is E_ALREADY_RUNNING, and nothing is synced beside it', async (t) => {
  const r = fakes({
    homeLockHolder: async () => holder,
    daemonSync: async () => {
      throw new AppError('E_DAEMON_UNREACHABLE', 'no daemon answers');
    },
  });
  const error = await t.throwsAsync<AppError>(runSync(input(), r.deps));
  t.is(error?.code, 'E_ALREADY_RUNNING');
  t.regex(error?.message ?? '', /pid 4242.*\/home\/u\/\.mcp.*\/run\/other\.sock/);
  t.is(r.plans.length, 0);
});

test('another failure of the holding daemon is passed on as it is', async (t) => {
  const r = fakes({
    homeLockHolder: async () => holder,
    daemonSync: async () => {
      throw new AppError('E_INTERNAL', 'bug');
    },
  });
  t.is((await t.throwsAsync<AppError>(runSync(input(), r.deps)))?.code, 'E_INTERNAL');
});

test('--daemon asks the daemon on --socket without looking at the home lock', async (t) => {
  const r = fakes({
    homeLockHolder: async () => {
      throw new Error('must not be asked');
    },
  });
  t.is(await runSync(input({ viaDaemon: true, json: true }), r.deps), 0);
  t.deepEqual(r.calls, ['daemon /run/mcp.sock']);
  t.is(r.io.out(), JSON.stringify(fakeStatus('fresh'), null, 2) + '\n');
});

test('--skip-without-identity with no identity skips, exit 0, in words or as one JSON document', async (t) => {
  const none: IdentityLookup = { identities: [], attempts: [{ source: 'SOPS_AGE_KEY', outcome: 'not set' }] };
  const human = fakes({}, none);
  t.is(await runSync(input({ skipWithoutIdentity: true }), human.deps), 0);
  t.regex(human.io.out(), /^mcp-secrets: skipped: no age identity configured .*; outputs left as they were\n$/);
  t.is(human.plans.length, 0, 'nothing synced');
  t.deepEqual(human.lookups, [{ cache: true, ci: true }], 'CI mode: the lookup leaves the keychain out');

  const json = fakes({}, none);
  t.is(await runSync(input({ skipWithoutIdentity: true, json: true }), json.deps), 0);
  const doc = JSON.parse(json.io.out()) as Record<string, unknown>;
  t.like(doc, { ok: true, skipped: true });
  t.is(json.io.out(), JSON.stringify(doc, null, 2) + '\n', 'the house JSON style');
});

test('--skip-without-identity with an identity syncs as usual, looking identities up once', async (t) => {
  let lookedUp = 0;
  const r = fakes({
    identityLookup: () => async () => {
      lookedUp += 1;
      return { identities: [{ line: 'AGE-SECRET-KEY-1X', recipient: 'age1example', source: 'env', origin: 'SOPS_AGE_KEY' }], attempts: [] };
    },
  });
  t.is(await runSync(input({ skipWithoutIdentity: true }), r.deps), 0);
  t.is(r.plans.length, 1);
  t.is(lookedUp, 1);
});

test('--json prints the result without values or plaintext digests', async (t) => {
  const r = fakes();
  t.is(await runSync(input({ json: true, acceptDataKey: true }), r.deps), 0);
  t.deepEqual(r.calls, ['pipeline accept=true']);
  const text = r.io.out();
  const doc = JSON.parse(text) as Record<string, unknown>;
  t.is(text, JSON.stringify(doc, null, 2) + '\n');
  t.like(doc, { ok: true, entries: 2, secretsVersion: '2026.11.3', durationMs: 12.3, dataKeyPin: 'known' });
  t.deepEqual(doc.outputs, [{ kind: 'env', path: '/home/u/.mcp/.env' }]);
  t.false('secretValues' in doc);
  t.false(text.includes(SECRET));
  t.false(text.includes('d'.repeat(64)), 'no digest of plaintext');
  t.false(text.includes('e'.repeat(64)), 'no digest of the entries');
});

test('--accept-config records the repo config first and reports on stderr, leaving stdout to the sync', async (t) => {
  const r = fakes({
    acceptRepoConfig: async (repo, home) => {
      r.calls.push(`accept-config ${repo} ${home}`);
      return { file: '/work/repo/.mcp-secrets.yaml', widening: ['a new output gemini.env'] };
    },
  });
  t.is(await runSync(input({ acceptConfig: true, json: true }), r.deps), 0);
  t.deepEqual(r.calls, ['accept-config /work/repo /home/u/.mcp', 'pipeline accept=false']);
  t.is(r.io.err(), 'mcp-secrets: accepted /work/repo/.mcp-secrets.yaml:\n  - a new output gemini.env\n');
  t.notThrows(() => JSON.parse(r.io.out()));
});

test('a pipeline failure propagates (the dispatcher reports it)', async (t) => {
  const r = fakes({
    syncOnce: async () => {
      throw new AppError('E_MAC_MISMATCH', 'MAC mismatch: config/secrets.enc.yaml');
    },
  });
  t.is((await t.throwsAsync<AppError>(runSync(input(), r.deps)))?.code, 'E_MAC_MISMATCH');
  t.is(r.io.out(), '');
});

test('flags resolve into the input: --daemon, --no-cache-identity, --accept-data-key, --json', (t) => {
  const resolved = resolveSyncInput(
    { values: { daemon: true, 'no-cache-identity': true, 'accept-data-key': true, json: true, home: 'h', socket: 's.sock' }, positionals: [] },
    { env: { HOME: '/home/u' }, cwd: '/work' },
  );
  t.like(resolved, { viaDaemon: true, cacheIdentity: false, acceptDataKey: true, json: true, home: '/work/h', socket: '/work/s.sock', repoFlag: null, skipWithoutIdentity: false });
  t.throws(() => resolveSyncInput({ values: { engine: 'gpg' }, positionals: [] }, { env: {}, cwd: '/' }), { message: /--engine must be one of/ });
});

test('a failed sync through the daemon exits 2 and shows its error on one escaped line', async (t) => {
  const status: StatusDocument = { ...fakeStatus('error'), lastSync: { at: 'x', ok: false, durationMs: 1, sourceSha256: null, error: { code: 'E_DECRYPT', message: 'no\nidentity' } } };
  const human = fakes({ daemonSync: async () => status });
  t.is(await runSync(input({ viaDaemon: true }), human.deps), 2);
  t.is(human.io.out(), 'mcp-secrets: the daemon synced: state error (E_DECRYPT: no?identity)\n', 'a line break from the daemon is escaped');
});
