import test from 'ava';
import { resolvePurgeInput, runPurge, type PurgeDeps, type PurgeInput } from '../../../src/cli/purge.js';
import { AppError } from '../../../src/errors.js';
import { MemoryKeychain } from '../../../src/identity/keychain/memory.js';
import { captureIo, type CapturedIo } from '../../helpers/cli-io.js';

const HOME = '/home/u/.mcp';

const input = (over: Partial<PurgeInput> = {}): PurgeInput => ({
  home: HOME,
  socket: '/run/mcp.sock',
  json: true,
  keepIdentity: false,
  keyFile: '/home/u/.config/sops/age/keys.txt',
  sopsAgeKeySet: false,
  ...over,
});

interface World {
  deps: PurgeDeps;
  io: CapturedIo;
  /** The files in home; wiping removes them. */
  files: Set<string>;
  /** What happened, in order. */
  log: string[];
  keychain: MemoryKeychain;
}

function world(options: { files?: string[]; record?: string[] | Error; daemon?: 'answers' | 'gone'; holder?: boolean; keychain?: MemoryKeychain | null; existing?: string[] } = {}): World {
  const io = captureIo();
  const files = new Set((options.files ?? []).map((n) => `${HOME}/${n}`));
  const log: string[] = [];
  const keychain = options.keychain ?? new MemoryKeychain({ age1alice: 'AGE-SECRET-KEY-1ALICE', age1bob: 'AGE-SECRET-KEY-1BOB' });
  const deps: PurgeDeps = {
    io,
    homeLockHolder: async () => (options.holder ? { pid: 4242, procStart: null, socket: '/run/held.sock', startedAt: 'x' } : null),
    lockDaemon: async (socket) => {
      log.push(`lock ${socket}`);
      if (options.daemon !== 'answers') throw new AppError('E_DAEMON_UNREACHABLE', 'no daemon answers');
    },
    readOutputsRecord: async () => {
      if (options.record instanceof Error) throw options.record;
      return options.record ?? [];
    },
    listHome: async () => [...files].map((f) => f.slice(HOME.length + 1)),
    wipeFile: async (file) => {
      log.push(`wipe ${file.slice(HOME.length + 1)}`);
      return files.delete(file);
    },
    keychain: () => (options.keychain === null ? null : keychain),
    exists: async (file) => (options.existing ?? []).includes(file),
  };
  return { deps, io, files, log, keychain };
}

test('locks the running daemon first, then wipes every output, temps and the record, then forgets identities', async (t) => {
  const w = world({ daemon: 'answers', files: ['.env', 'console-secrets.json', 'gemini.env', '.mcp-secrets-tmp-123', 'logs', '.mcp-secrets-outputs.json'], record: ['gemini.env'] });
  t.is(await runPurge(input(), w.deps), 0);
  t.deepEqual(w.log, ['lock /run/mcp.sock', 'wipe .env', 'wipe console-secrets.json', 'wipe gemini.env', 'wipe .mcp-secrets-tmp-123', 'wipe .mcp-secrets-outputs.json']);
  t.deepEqual([...w.files], [`${HOME}/logs`], 'only what purge did not write is left');
  t.deepEqual(w.keychain.snapshot().size, 0);
  const report = JSON.parse(w.io.out()) as Record<string, unknown>;
  t.deepEqual(report, {
    daemon: 'locked',
    removedFiles: [`${HOME}/.env`, `${HOME}/console-secrets.json`, `${HOME}/gemini.env`, `${HOME}/.mcp-secrets-tmp-123`],
    forgottenRecipients: ['age1alice', 'age1bob'],
    keptIdentity: false,
    warnings: [],
  });
  t.is(w.io.out(), JSON.stringify(report, null, 2) + '\n');
  t.false(w.io.out().includes('AGE-SECRET-KEY'));
});

test('the daemon holding home is locked on its own socket, not on --socket', async (t) => {
  const w = world({ daemon: 'answers', holder: true });
  await runPurge(input(), w.deps);
  t.is(w.log[0], 'lock /run/held.sock');
});

test('refuses to purge while a daemon holds home but cannot be locked: nothing is wiped or forgotten', async (t) => {
  const w = world({ daemon: 'gone', holder: true, files: ['.env'] });
  const error = await t.throwsAsync<AppError>(runPurge(input(), w.deps));
  t.is(error?.code, 'E_ALREADY_RUNNING');
  t.regex(error?.message ?? '', /pid 4242\) holds .* cannot be locked/);
  t.deepEqual(w.log, ['lock /run/held.sock']);
  t.is(w.files.size, 1);
  t.is(w.keychain.snapshot().size, 2);
});

test('no daemon at all is fine: it purges and says so', async (t) => {
  const w = world({ daemon: 'gone', files: ['.env'] });
  t.is(await runPurge(input({ json: false }), w.deps), 0);
  t.regex(w.io.out(), /^mcp-secrets purge: daemon not running\n {2}removed \/home\/u\/\.mcp\/\.env\n {2}forgot identity age1alice\n {2}forgot identity age1bob\nnext: /);
});

test('--keep-identity leaves the keychain alone', async (t) => {
  const w = world({ daemon: 'answers' });
  t.is(await runPurge(input({ keepIdentity: true, json: false }), w.deps), 0);
  t.is(w.keychain.snapshot().size, 2);
  t.regex(w.io.out(), / {2}no output files to remove\n {2}identities kept in the keychain \(--keep-identity\)\n/);
});

test('an unreadable outputs record still wipes the defaults and is reported', async (t) => {
  const w = world({ daemon: 'answers', files: ['.env'], record: new Error('not JSON') });
  t.is(await runPurge(input(), w.deps), 0);
  const report = JSON.parse(w.io.out()) as { removedFiles: string[]; warnings: string[] };
  t.deepEqual(report.removedFiles, [`${HOME}/.env`]);
  t.regex(report.warnings[0] ?? '', /the outputs record could not be read \(not JSON\)/);
});

test('an unreachable keychain is a warning and exit 2, after the files are wiped', async (t) => {
  const keychain = new MemoryKeychain({ age1alice: 'AGE-SECRET-KEY-1ALICE' });
  keychain.failWith('no-dbus');
  const w = world({ daemon: 'answers', files: ['.env'], keychain });
  t.is(await runPurge(input(), w.deps), 2);
  const report = JSON.parse(w.io.out()) as { removedFiles: string[]; warnings: string[] };
  t.is(report.removedFiles.length, 1);
  t.regex(report.warnings[0] ?? '', /^could not reach the keychain to forget identities/);
});

test('warns about a plaintext key file and SOPS_AGE_KEY, without touching either', async (t) => {
  const w = world({ daemon: 'answers', existing: ['/home/u/.config/sops/age/keys.txt'], keychain: null });
  t.is(await runPurge(input({ sopsAgeKeySet: true }), w.deps), 0);
  const report = JSON.parse(w.io.out()) as { warnings: string[] };
  t.deepEqual(report.warnings, [
    'a plaintext age key file still exists at /home/u/.config/sops/age/keys.txt: delete it if it holds the compromised key',
    'SOPS_AGE_KEY is set in this shell: unset it and remove it from your shell profile',
  ]);
  t.false(w.log.some((l) => l.includes('keys.txt')));
});

test('flags and environment resolve into the input', (t) => {
  const resolved = resolvePurgeInput({ values: { 'keep-identity': true, home: '/h' }, positionals: [] }, { env: { HOME: '/home/u', XDG_CONFIG_HOME: '/cfg', SOPS_AGE_KEY: 'x' }, cwd: '/' });
  t.like(resolved, { home: '/h', keepIdentity: true, json: false, keyFile: '/cfg/sops/age/keys.txt', sopsAgeKeySet: true });
  t.is(resolvePurgeInput({ values: {}, positionals: [] }, { env: { HOME: '/home/u' }, cwd: '/' }).keyFile, '/home/u/.config/sops/age/keys.txt');
});
