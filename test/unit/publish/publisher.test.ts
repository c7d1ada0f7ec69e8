import test from 'ava';
import { createHash } from 'node:crypto';
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile, link } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../../src/errors.js';
import { realFs, withFaults, type FsStep } from '../../../src/publish/fs.js';
import { ensureHome, publish, removeStaleTemps, TEMP_PREFIX, type OutputFile } from '../../../src/publish/publisher.js';
import { snapshotHome, tempsIn } from '../../helpers/home-snapshot.js';

const SECRET = 'SUPER-SECRET-VALUE-42';

function outputs(version: string): OutputFile[] {
  return [
    { name: '.env', bytes: new TextEncoder().encode(`# header\nTOKEN='${SECRET}-${version}'\n`) },
    { name: 'console-secrets.json', bytes: new TextEncoder().encode(`{"value":"${SECRET}-${version}"}\n`) },
  ];
}

async function freshHome(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-publish-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return join(dir, 'home');
}

test('creates home 0700 and writes both outputs 0600, reporting each sha256', async (t) => {
  const home = await freshHome(t);
  const files = outputs('v1');
  const result = await publish(home, files);
  t.is((await stat(home)).mode & 0o777, 0o700);
  for (const file of files) {
    const path = join(home, file.name);
    t.is((await lstat(path)).mode & 0o7777, 0o600);
    t.deepEqual(new Uint8Array(await readFile(path)), file.bytes);
  }
  t.deepEqual(result.written, [join(home, '.env'), join(home, 'console-secrets.json')]);
  t.deepEqual(result.unchanged, []);
  t.deepEqual(result.warnings, []);
  t.deepEqual(
    result.outputs,
    files.map((f) => ({ name: f.name, path: join(home, f.name), sha256: createHash('sha256').update(f.bytes).digest('hex') })),
  );
  t.deepEqual(await tempsIn(home), []);
});

test('leaves byte-equal outputs alone and rewrites only what changed', async (t) => {
  const home = await freshHome(t);
  await publish(home, outputs('v1'));
  const envInode = (await lstat(join(home, '.env'))).ino;
  const again = await publish(home, outputs('v1'));
  t.deepEqual(again.written, []);
  t.deepEqual(again.unchanged, [join(home, '.env'), join(home, 'console-secrets.json')]);
  t.is((await lstat(join(home, '.env'))).ino, envInode);

  const mixed = [outputs('v1')[0] as OutputFile, outputs('v2')[1] as OutputFile];
  const partly = await publish(home, mixed);
  t.deepEqual(partly.written, [join(home, 'console-secrets.json')]);
  t.deepEqual(partly.unchanged, [join(home, '.env')]);
});

test('rewrites a byte-equal output whose mode is loose or that has a second hard link', async (t) => {
  const home = await freshHome(t);
  await publish(home, outputs('v1'));
  await chmod(join(home, '.env'), 0o644);
  await link(join(home, 'console-secrets.json'), join(home, 'extra-link'));
  const result = await publish(home, outputs('v1'));
  t.deepEqual(result.written, [join(home, '.env'), join(home, 'console-secrets.json')]);
  t.is((await lstat(join(home, '.env'))).mode & 0o7777, 0o600);
  t.is((await lstat(join(home, 'console-secrets.json'))).nlink, 1);
});

type Case = { step: FsStep; nth: number };
const FAULTS: Case[] = [
  { step: 'open', nth: 1 },
  { step: 'open', nth: 2 },
  { step: 'write', nth: 1 },
  { step: 'write', nth: 2 },
  { step: 'fsync', nth: 1 },
  { step: 'fsync', nth: 2 },
  { step: 'rename', nth: 1 },
  { step: 'rename', nth: 2 },
  { step: 'dirFsync', nth: 1 },
];

for (const { step, nth } of FAULTS) {
  test(`keeps both previous outputs and leaves no temp when ${step} #${nth} fails`, async (t) => {
    const home = await freshHome(t);
    await publish(home, outputs('v1'));
    const before = await snapshotHome(home);
    const error = await t.throwsAsync(publish(home, outputs('v2'), { fs: withFaults(realFs, { failAt: step, nth }) }), { instanceOf: AppError });
    t.is(error?.code, 'E_WRITE');
    t.regex(error?.message ?? '', /EIO/);
    t.truthy(error?.hint);
    t.false(JSON.stringify({ m: error?.message, h: error?.hint, d: error?.details }).includes(SECRET));
    t.deepEqual(await snapshotHome(home), before);
    t.deepEqual(await tempsIn(home), []);
  });

  test(`leaves no output at all when ${step} #${nth} fails on a first publish`, async (t) => {
    const home = await freshHome(t);
    await t.throwsAsync(publish(home, outputs('v1'), { fs: withFaults(realFs, { failAt: step, nth }) }), { instanceOf: AppError });
    t.deepEqual(await snapshotHome(home), {});
  });
}

test('puts symlinks back as they were when the second rename fails', async (t) => {
  const home = await freshHome(t);
  await ensureHome(home);
  const elsewhere = join(home, '..', 'elsewhere.txt');
  await writeFile(elsewhere, 'not ours');
  await symlink(elsewhere, join(home, '.env'));
  await symlink(elsewhere, join(home, 'console-secrets.json'));
  const before = await snapshotHome(home);
  await t.throwsAsync(publish(home, outputs('v1'), { fs: withFaults(realFs, { failAt: 'rename', nth: 2 }) }), { instanceOf: AppError });
  t.deepEqual(await snapshotHome(home), before);
  t.is(await readFile(elsewhere, 'utf8'), 'not ours');
});

test('refuses a directory at an output path before writing anything', async (t) => {
  const home = await freshHome(t);
  await ensureHome(home);
  await mkdir(join(home, 'console-secrets.json'));
  const error = await t.throwsAsync(publish(home, outputs('v1')), { instanceOf: AppError });
  t.is(error?.code, 'E_WRITE');
  t.deepEqual(Object.keys(await snapshotHome(home)), ['console-secrets.json']);
});

test('tightens a home with mode 0755 to 0700 with a warning', async (t) => {
  const home = await freshHome(t);
  await mkdir(home, { mode: 0o755 });
  await chmod(home, 0o755);
  const result = await publish(home, outputs('v1'));
  t.is((await stat(home)).mode & 0o777, 0o700);
  t.is(result.warnings.length, 1);
  t.regex(result.warnings[0] ?? '', /0755 to 0700/);
  t.deepEqual((await publish(home, outputs('v1'))).warnings, []);
});

test('refuses a home owned by another user with E_INSECURE_PATH and writes nothing', async (t) => {
  const home = await freshHome(t);
  await mkdir(home, { mode: 0o700 });
  // As root: really give it away (nobody = 65534). Otherwise: claim to be someone else.
  const root = process.getuid?.() === 0;
  if (root) await chown(home, 65534, 65534);
  const deps = root ? {} : { uid: (process.getuid?.() ?? 0) + 1 };
  const error = await t.throwsAsync(publish(home, outputs('v1'), deps), { instanceOf: AppError });
  t.is(error?.code, 'E_INSECURE_PATH');
  t.regex(error?.message ?? '', /owned by another user/);
  t.truthy(error?.hint);
  t.deepEqual(await snapshotHome(home), {});
});

test('refuses a home that is a symlink or not a directory', async (t) => {
  const home = await freshHome(t);
  const real = `${home}-real`;
  await mkdir(real, { mode: 0o700 });
  await symlink(real, home);
  t.is((await t.throwsAsync(ensureHome(home), { instanceOf: AppError }))?.code, 'E_INSECURE_PATH');
  const file = `${home}-file`;
  await writeFile(file, '');
  t.is((await t.throwsAsync(ensureHome(file), { instanceOf: AppError }))?.code, 'E_INSECURE_PATH');
});

test('removes temps of dead writers, keeps those of live ones and of this process, and nothing else', async (t) => {
  const home = await freshHome(t);
  await publish(home, outputs('v1'));
  const dead = `${TEMP_PREFIX}999999-aaaaaaaaaaaa-.env`;
  const deadBackup = `${TEMP_PREFIX}999999-bbbbbbbbbbbb-bak-.env`;
  const live = `${TEMP_PREFIX}4242-cccccccccccc-.env`;
  const own = `${TEMP_PREFIX}${process.pid}-dddddddddddd-.env`;
  const odd = `${TEMP_PREFIX}garbage`;
  for (const name of [dead, deadBackup, live, own, odd]) await writeFile(join(home, name), SECRET, { mode: 0o600 });
  const removed = await removeStaleTemps(home, { isAlive: (pid) => pid === 4242 });
  t.deepEqual(removed.sort(), [dead, deadBackup, odd].map((n) => join(home, n)).sort());
  t.deepEqual((await tempsIn(home)).sort(), [live, own].sort());
  t.deepEqual(Object.keys(await snapshotHome(home)).filter((n) => !n.startsWith(TEMP_PREFIX)), ['.env', 'console-secrets.json']);
});

test('finds nothing stale in a home that does not exist yet', async (t) => {
  const home = await freshHome(t);
  t.deepEqual(await removeStaleTemps(home), []);
});

test('refuses output names that are not plain file names', async (t) => {
  const home = await freshHome(t);
  for (const name of ['../escape', 'a/b', '..', `${TEMP_PREFIX}x`]) {
    await t.throwsAsync(publish(home, [{ name, bytes: new Uint8Array() }]), { instanceOf: TypeError });
  }
  await t.throwsAsync(publish(home, [outputs('v1')[0] as OutputFile, outputs('v2')[0] as OutputFile]), { instanceOf: TypeError });
});

/** The modes of a temp tree this test made, to prove nothing in it changed. */
async function modes(paths: readonly string[]): Promise<number[]> {
  return Promise.all(paths.map(async (p) => (await lstat(p)).mode & 0o7777));
}

test('refuses a home open to others that holds files not ours, with the chmod to run, and changes no mode', async (t) => {
  const home = await freshHome(t);
  const parent = join(home, '..');
  await mkdir(home, { mode: 0o755 });
  await chmod(home, 0o755);
  await chmod(parent, 0o755);
  await writeFile(join(home, 'notes.txt'), 'someone else');
  const before = await modes([parent, home]);
  const error = await t.throwsAsync(publish(home, outputs('v1')), { instanceOf: AppError });
  t.is(error?.code, 'E_INSECURE_PATH');
  t.true(error?.hint?.includes(`chmod 700 ${home}`));
  t.deepEqual(await modes([parent, home]), before);
  t.deepEqual(Object.keys(await snapshotHome(home)), ['notes.txt']);
});

test('tightens the default home even when it holds other files (the old runbook left ~/.mcp 0755)', async (t) => {
  const home = await freshHome(t);
  await mkdir(home, { mode: 0o755 });
  await chmod(home, 0o755);
  await writeFile(join(home, 'mcp.json'), '{}');
  const { warnings } = await ensureHome(home, { defaultHome: home });
  t.is((await stat(home)).mode & 0o777, 0o700);
  t.regex(warnings[0] ?? '', /0755 to 0700/);
});

test('tightens a home open to others that holds only our files', async (t) => {
  const home = await freshHome(t);
  await publish(home, outputs('v1'));
  await mkdir(join(home, 'logs'));
  await writeFile(join(home, `${TEMP_PREFIX}1-aaaaaaaaaaaa-.env`), 'x');
  await chmod(home, 0o750);
  await ensureHome(home);
  t.is((await stat(home)).mode & 0o777, 0o700);
});

test('a loose home holding configured or recorded outputs of ours is tightened; the same names unknown to us make it foreign', async (t) => {
  const home = await freshHome(t);
  await mkdir(home, { mode: 0o750 });
  await chmod(home, 0o750);
  await writeFile(join(home, 'gemini.env'), 'x', { mode: 0o600 });
  // not known as ours: refused, mode unchanged
  t.is((await t.throwsAsync(ensureHome(home), { instanceOf: AppError }))?.code, 'E_INSECURE_PATH');
  t.is((await stat(home)).mode & 0o777, 0o750);
  // named by the repo config (or the outputs record, read only now, as the daemon does): ours to close
  await ensureHome(home, { ourNames: async () => ['gemini.env'] });
  t.is((await stat(home)).mode & 0o777, 0o700);
  await chmod(home, 0o750);
  await ensureHome(home, { ourNames: ['gemini.env'] });
  t.is((await stat(home)).mode & 0o777, 0o700);
  // a publish counts the names it writes and those the caller recorded
  await chmod(home, 0o750);
  await writeFile(join(home, 'old.env'), 'y', { mode: 0o600 });
  const { warnings } = await publish(home, [{ name: 'gemini.env', bytes: new TextEncoder().encode('z') }], { alsoOurs: ['old.env'] });
  t.is((await stat(home)).mode & 0o777, 0o700);
  t.regex(warnings.join('\n'), /0750 to 0700/);
});

test('never changes a directory above home: missing parents are created, existing ones keep their mode', async (t) => {
  const home = await freshHome(t);
  const top = join(home, '..');
  await chmod(top, 0o755);
  const nested = join(home, 'a', 'b');
  await ensureHome(nested);
  t.is((await stat(top)).mode & 0o777, 0o755);
  t.is((await stat(nested)).mode & 0o777, 0o700);
});
