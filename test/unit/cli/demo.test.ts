import test from 'ava';
import { maskedEnvLines, maskValue, resolveDemoInput, runDemo, storeSummary, type DemoDeps } from '../../../src/cli/demo.js';
import { AppError } from '../../../src/errors.js';
import type { StatusDocument } from '../../../src/ipc/status.js';
import type { TreeMap } from '../../../src/sops/index.js';
import { captureIo, type CapturedIo } from '../../helpers/cli-io.js';
import { fakeStatus } from '../../helpers/ipc.js';

const SECRET_V1 = 'sk-demo-first-value-0123456789';
const SECRET_V2 = 'sk-demo-second-value-9876543210';

test('a value is shown as its first four characters and its length', (t) => {
  t.is(maskValue('sk-demo-abcdef'), 'sk-d… (14 chars)');
});

test('the .env is shown without comments, blank lines or values; quotes do not count', (t) => {
  t.deepEqual(maskedEnvLines(`# source config/secrets.enc.yaml sha256 abc\n\nA=${SECRET_V1}\nB='with space'\n`), ['A=sk-d… (30 chars)', 'B=with… (10 chars)']);
});

test('the SecretStore summary keeps names and providers and drops the values', (t) => {
  const summary = storeSummary(JSON.stringify({ kind: 'SecretStore', secretsVersion: 'v1', source: { commit: 'c'.repeat(40) }, secrets: [{ name: 'OPENAI_API_KEY', provider: 'openai', value: SECRET_V1 }] }));
  t.deepEqual(summary, { secretsVersion: 'v1', commit: 'c'.repeat(40), secrets: [{ name: 'OPENAI_API_KEY', provider: 'openai' }] });
});

interface World {
  deps: DemoDeps;
  io: CapturedIo;
  log: string[];
}

function fresh(version: string): StatusDocument {
  return { ...fakeStatus('fresh', version), lastSync: { at: 'x', ok: true, durationMs: 5, sourceSha256: null, error: null } };
}

function world(over: Partial<DemoDeps> = {}): World {
  const io = captureIo();
  const log: string[] = [];
  let version = '2026.11.1';
  let clock = 1_000;
  const deps: DemoDeps = {
    io,
    makeTempDir: async () => '/tmp/demo-x',
    makeSocketDir: async (dir) => void log.push(`mkdir ${dir}`),
    createSample: async (dir, v) => {
      log.push(`sample ${dir} ${v}`);
      return { sample: { repo: `${dir}/repo`, bundle: `${dir}/repo/config/secrets.enc.yaml`, identity: 'AGE-SECRET-KEY-1DEMO', recipient: 'age1demo' }, document: new Map() as TreeMap };
    },
    startDaemon: ({ repo, home, socket, onLine }) => {
      log.push(`daemon ${repo} ${home} ${socket}`);
      onLine('(daemon) started');
      return { stop: async () => void log.push('stop daemon') };
    },
    waitReady: async () => fakeStatus('starting'),
    waitFresh: async () => fresh(version),
    waitForVersion: async (_socket, v) => {
      log.push(`wait ${v}`);
      return fresh(v);
    },
    commitVersion: async (_sample, _previous, v) => {
      log.push(`commit ${v}`);
      version = v;
      clock += 120;
    },
    readText: async (file) =>
      file.endsWith('.env')
        ? `# header\nMCP_SECRETS_VERSION=${version}\nOPENAI_API_KEY=${version.endsWith('1') ? SECRET_V1 : SECRET_V2}\n`
        : JSON.stringify({ secretsVersion: version, source: { commit: 'c'.repeat(40) }, secrets: [{ name: 'OPENAI_API_KEY', provider: 'openai', value: SECRET_V1 }] }),
    remove: async (dir) => void log.push(`rm ${dir}`),
    now: () => clock,
    ...over,
  };
  return { deps, io, log };
}

test('runs the sample, follows the commit, then stops the daemon and removes the temp dir; values are masked', async (t) => {
  const w = world();
  t.is(await runDemo({ keep: false, json: false }, w.deps), 0);
  t.deepEqual(w.log, [
    'mkdir /tmp/demo-x/run',
    'sample /tmp/demo-x 2026.11.1',
    'daemon /tmp/demo-x/repo /tmp/demo-x/home /tmp/demo-x/run/daemon.sock',
    'wait 2026.11.2',
    'commit 2026.11.2',
    'stop daemon',
    'rm /tmp/demo-x',
  ]);
  const out = w.io.out();
  t.true(out.includes('  | (daemon) started\n'));
  t.true(out.includes('  fresh again 120 ms after the commit\n'));
  t.true(out.includes('    OPENAI_API_KEY=sk-d… (30 chars)\n'));
  t.false(out.includes(SECRET_V1) || out.includes(SECRET_V2), 'no value printed');
  t.false(out.includes('AGE-SECRET-KEY'), 'no identity printed');
});

test('--json prints one document (names, states, timings; no value) and sends the daemon lines to stderr', async (t) => {
  const w = world();
  t.is(await runDemo({ keep: true, json: true }, w.deps), 0);
  const text = w.io.out();
  const doc = JSON.parse(text) as Record<string, unknown>;
  t.is(text, JSON.stringify(doc, null, 2) + '\n');
  t.like(doc, { ok: true, dir: '/tmp/demo-x', kept: true, recipient: 'age1demo', first: { secretsVersion: '2026.11.1', fresh: true }, afterCommit: { secretsVersion: '2026.11.2', followMs: 120 } });
  t.deepEqual(doc.secrets, [{ name: 'OPENAI_API_KEY', provider: 'openai' }]);
  t.false(text.includes(SECRET_V1) || text.includes(SECRET_V2) || text.includes('AGE-SECRET-KEY'));
  t.is(w.io.err(), '(daemon) started\n');
  t.false(w.log.includes('rm /tmp/demo-x'), '--keep keeps the dir');
});

test('a daemon that does not become fresh fails the demo, and it still stops the daemon and cleans up', async (t) => {
  const w = world({ waitFresh: async () => fakeStatus('locked') });
  const error = await t.throwsAsync<AppError>(runDemo({ keep: false, json: false }, w.deps));
  t.regex(error?.message ?? '', /did not become fresh \(state locked\)/);
  t.deepEqual(w.log.slice(-2), ['stop daemon', 'rm /tmp/demo-x']);
});

test('a failed commit is reported as itself, not as the wait for the daemon that it cut short', async (t) => {
  const w = world({
    waitForVersion: () => Promise.reject(new AppError('E_WRITE', 'the demo daemon did not pick up the commit within 15 s')),
    commitVersion: async () => {
      throw new AppError('E_WRITE', 'git commit failed');
    },
  });
  t.regex((await t.throwsAsync<AppError>(runDemo({ keep: true, json: false }, w.deps)))?.message ?? '', /git commit failed/);
  t.true(w.io.out().endsWith('\nkept /tmp/demo-x\n'));
  t.true(w.log.includes('stop daemon'));
});

test('flags resolve into the input', (t) => {
  t.deepEqual(resolveDemoInput({ values: { keep: true, json: true }, positionals: [] }), { keep: true, json: true });
  t.deepEqual(resolveDemoInput({ values: {}, positionals: [] }), { keep: false, json: false });
});
