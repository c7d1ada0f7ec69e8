import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, lstat, mkdir, mkdtemp, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AppError } from '../../../src/errors.js';
import { fromPlain, type TreeMap } from '../../../src/sops/tree.js';
import { toEntries } from '../../../src/render/entries.js';
import { renderEnv } from '../../../src/render/env.js';
import { renderConsole } from '../../../src/render/console.js';
import { publish } from '../../../src/publish/publisher.js';
import { snapshotHome, tempsIn } from '../../helpers/home-snapshot.js';

const CHILD = fileURLToPath(new URL('../../helpers/publish-child.js', import.meta.url));
const NOBODY = { uid: 65534, gid: 65534 };
const SETPRIV = '/usr/bin/setpriv';
const canDropPrivileges = process.getuid?.() === 0 && existsSync(SETPRIV);

interface ChildResult {
  ok?: boolean;
  code?: string;
  message?: string;
  paused?: boolean;
  removed?: string[];
  result?: { written: string[]; unchanged: string[]; warnings: string[] };
}

function files(version: string): { name: string; text: string }[] {
  return [
    { name: '.env', text: `# header\nTOKEN='secret-${version}'\n` },
    { name: 'console-secrets.json', text: `{"value":"secret-${version}"}\n` },
  ];
}

async function workdir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-publish-it-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts the child (optionally behind a wrapper command) with the outputs on stdin. */
function startChild(mode: string, home: string, outputs: { name: string; text: string }[], wrapper: string[] = []): ChildProcess {
  const argv = [...wrapper, process.execPath, CHILD, mode, home];
  const child = spawn(argv[0] as string, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin?.end(JSON.stringify(outputs));
  return child;
}

/** Resolves with the first JSON line the child prints (or rejects when it exits without one). */
function firstLine(child: ChildProcess): Promise<ChildResult> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl !== -1) resolve(JSON.parse(out.slice(0, nl)) as ChildResult);
    });
    child.on('exit', (code, signal) => reject(new Error(`child exited (${code ?? signal}) without a result: ${err.slice(0, 500)}`)));
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

async function runChild(mode: string, home: string, outputs: { name: string; text: string }[], wrapper: string[] = []): Promise<ChildResult> {
  const child = startChild(mode, home, outputs, wrapper);
  const [line] = await Promise.all([firstLine(child), exited(child)]);
  return line;
}

test('replaces a symlink planted at each output without touching the file it points at', async (t) => {
  const dir = await workdir(t);
  const home = join(dir, 'home');
  await mkdir(home, { mode: 0o700 });
  const elsewhere = join(dir, 'elsewhere');
  // The planted file already holds exactly the new bytes: still replaced, never read through the link.
  const next = files('v1');
  await writeFile(elsewhere, next[0]?.text ?? '', { mode: 0o644 });
  await symlink(elsewhere, join(home, '.env'));
  await symlink(join(dir, 'dangling'), join(home, 'console-secrets.json'));
  const result = await publish(
    home,
    next.map((f) => ({ name: f.name, bytes: new TextEncoder().encode(f.text) })),
  );
  t.is(result.written.length, 2);
  for (const f of next) {
    const st = await lstat(join(home, f.name));
    t.true(st.isFile());
    t.is(st.mode & 0o7777, 0o600);
    t.is(await readFile(join(home, f.name), 'utf8'), f.text);
  }
  t.is(await readFile(elsewhere, 'utf8'), next[0]?.text ?? '');
  t.is((await stat(elsewhere)).mode & 0o777, 0o644);
  t.false(existsSync(join(dir, 'dangling')));
});

test('writes home 0700 and outputs 0600 under umask 000', async (t) => {
  const dir = await workdir(t);
  const home = join(dir, 'new', 'home');
  const line = await runChild('publish', home, files('v1'), ['/bin/sh', '-c', 'umask 000 && exec "$0" "$@"']);
  t.true(line.ok, JSON.stringify(line));
  t.is((await stat(home)).mode & 0o777, 0o700);
  for (const f of files('v1')) t.is((await lstat(join(home, f.name))).mode & 0o7777, 0o600);
  t.deepEqual(await tempsIn(home), []);
});

test('a publish killed mid-way leaves the previous outputs; a fresh process removes its temps and publishes', async (t) => {
  const dir = await workdir(t);
  const home = join(dir, 'home');
  t.true((await runChild('publish', home, files('v1'))).ok);
  const before = await snapshotHome(home);

  const child = startChild('pause', home, files('v2'));
  const paused = await firstLine(child);
  t.true(paused.paused);
  child.kill('SIGKILL');
  await exited(child);
  t.is(child.signalCode, 'SIGKILL');

  const left = await tempsIn(home);
  t.true(left.length >= 2, `temps left by the crash: ${left.join(', ')}`);
  for (const name of left) t.is((await lstat(join(home, name))).mode & 0o777, 0o600);
  const targets = await snapshotHome(home);
  t.deepEqual(targets['.env'], before['.env']);
  t.deepEqual(targets['console-secrets.json'], before['console-secrets.json']);

  const rerun = await runChild('rerun', home, files('v2'));
  t.true(rerun.ok, JSON.stringify(rerun));
  t.deepEqual(rerun.removed?.map((p) => p.slice(home.length + 1)).sort(), left.sort());
  t.deepEqual(await tempsIn(home), []);
  for (const f of files('v2')) t.is(await readFile(join(home, f.name), 'utf8'), f.text);
});

test('keeps the outputs and leaves no temp when home is read-only (as a non-root user)', async (t) => {
  if (!canDropPrivileges) {
    t.fail('needs root and setpriv to run the publisher as nobody (root ignores file modes)');
    return;
  }
  const dir = await workdir(t);
  await chmod(dir, 0o755); // nobody must reach home
  const home = join(dir, 'home');
  await mkdir(home, { mode: 0o700 });
  for (const f of files('v1')) await writeFile(join(home, f.name), f.text, { mode: 0o600 });
  await chown(home, NOBODY.uid, NOBODY.gid);
  for (const f of files('v1')) await chown(join(home, f.name), NOBODY.uid, NOBODY.gid);
  await chmod(home, 0o500);
  const before = await snapshotHome(home);

  const line = await runChild('publish', home, files('v2'), [SETPRIV, `--reuid=${NOBODY.uid}`, `--regid=${NOBODY.gid}`, '--clear-groups']);
  t.false(line.ok);
  t.is(line.code, 'E_WRITE');
  t.regex(line.message ?? '', /EACCES/);
  t.false((line.message ?? '').includes('secret-v'));
  t.deepEqual(await snapshotHome(home), before);
  t.deepEqual(await tempsIn(home), []);
  t.is((await stat(home)).mode & 0o777, 0o500);
});

test('refuses a home owned by another user with E_INSECURE_PATH', async (t) => {
  if (!canDropPrivileges) {
    t.fail('needs root to chown a directory to nobody');
    return;
  }
  const dir = await workdir(t);
  const home = join(dir, 'home');
  await mkdir(home, { mode: 0o700 });
  await chown(home, NOBODY.uid, NOBODY.gid);
  const line = await runChild('publish', home, files('v1'));
  t.false(line.ok);
  t.is(line.code, 'E_INSECURE_PATH');
  t.deepEqual(await snapshotHome(home), {});
});

test('a value no form carries stops the sync before anything is written', async (t) => {
  const dir = await workdir(t);
  const home = join(dir, 'home');
  t.true((await runChild('publish', home, files('v1'))).ok);
  const before = await snapshotHome(home);
  const source = { path: 'config/secrets.enc.yaml', sha256: '0'.repeat(64), commit: null };
  const document = fromPlain({ GOOD: 'x', BAD: 'carriage\rreturn' }) as TreeMap;
  // The order sync must follow: render both outputs, then publish them together.
  const error = t.throws(() => {
    const entries = toEntries(document);
    const rendered = [
      { name: '.env', bytes: renderEnv(entries, source) },
      { name: 'console-secrets.json', bytes: renderConsole(entries, source) },
    ];
    return publish(home, rendered);
  });
  t.true(error instanceof AppError);
  t.is((error as AppError).code, 'E_UNREPRESENTABLE');
  t.deepEqual(await snapshotHome(home), before);
});
