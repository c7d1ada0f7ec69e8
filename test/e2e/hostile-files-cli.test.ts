/**
 * One-shot commands against what a checkout or a hurried user can put where a file is expected:
 * a symlink to /dev/zero, a FIFO, a huge sparse file, a document nested thousands deep. Each must
 * end quickly with a code, keep the outputs, and stay bounded in memory (peak RSS of the child,
 * from getrusage, measured by the system python).
 */
import test from 'ava';
import { mkdir, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { encrypt } from '../../src/sops/index.js';
import { CLI, isolatedEnv } from '../helpers/e2e.js';
import { git, initRepo } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';
import { SYSTEM_PYTHON } from '../helpers/env-readers.js';

const MIB = 1024 * 1024;

/** Runs the CLI as a child of python, which prints the child's peak RSS (kB) on its own last stderr line. */
const MEASURE = [
  'import resource, subprocess, sys',
  'try:',
  '    code = subprocess.run(sys.argv[1:], timeout=150).returncode',
  'except subprocess.TimeoutExpired:',
  '    code = 124',
  'sys.stderr.write("\\nMAXRSS_KB=%d\\n" % resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)',
  'sys.exit(code)',
].join('\n');

interface Measured {
  code: number;
  stdout: string;
  stderr: string;
  peakRss: number;
}

async function measured(args: string[], env: Record<string, string>): Promise<Measured> {
  const r = await execa(SYSTEM_PYTHON, ['-c', MEASURE, process.execPath, CLI, ...args], { env, extendEnv: false, reject: false, timeout: 170_000 });
  const match = /\nMAXRSS_KB=(\d+)\n?$/.exec(r.stderr);
  if (!match) throw new Error(`no peak RSS reported (exit ${String(r.exitCode)}): ${r.stderr.slice(-500)}`);
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr.slice(0, match.index), peakRss: Number(match[1]) * 1024 };
}

const errorCode = (r: Measured): string | undefined => (JSON.parse(r.stdout) as { error?: { code?: string } }).error?.code;

async function setup(t: Parameters<typeof tempDir>[0]) {
  const dir = await tempDir(t, 'mcph-');
  const repo = await initRepo(path.join(dir, 'repo'));
  const home = path.join(dir, 'home');
  const bundle = path.join(repo, 'config', 'secrets.enc.yaml');
  await mkdir(path.dirname(bundle));
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  await writeFile(bundle, await encrypt({ MCP_SECRETS_VERSION: 'good', openai: { api_key: 'sk-hostile-test-value-0123' } }, { format: 'yaml', recipients: [recipient] }));
  await writeFile(path.join(repo, '.sops.yaml'), `creation_rules:\n  - age: ${recipient}\n`);
  await git(repo, ['add', '-A']);
  await git(repo, ['commit', '-qm', 'bundle']);
  const env = isolatedEnv(dir, { SOPS_AGE_KEY: identity });
  const args = ['sync', '--json', '--repo', repo, '--home', home];
  const first = await measured(args, env);
  if (first.code !== 0) throw new Error(`the first sync failed: ${first.stderr}`);
  const outputs = () => Promise.all([readFile(path.join(home, '.env')), readFile(path.join(home, 'console-secrets.json'))]);
  return { dir, repo, home, bundle, identity, env, args, outputs, before: await outputs() };
}

test('one-shot sync of a bundle symlinked to /dev/zero exits 2 with E_PARSE, bounded, outputs kept', async (t) => {
  const s = await setup(t);
  await rm(s.bundle);
  await symlink('/dev/zero', s.bundle);
  const r = await measured(s.args, s.env);
  t.is(r.code, 2, r.stderr);
  t.is(errorCode(r), 'E_PARSE');
  t.regex(r.stdout, /is a symbolic link: refused/);
  t.true(r.peakRss < 300 * MIB, `peak RSS ${Math.round(r.peakRss / MIB)} MiB`);
  const after = await s.outputs();
  t.true(after[0].equals(s.before[0]) && after[1].equals(s.before[1]), 'outputs byte-identical');
});

test('one-shot sync and decrypt of a FIFO at the bundle path return E_PARSE instead of hanging', async (t) => {
  const s = await setup(t);
  await rm(s.bundle);
  await execa('mkfifo', [s.bundle]);
  const r = await measured(s.args, s.env);
  t.not(r.code, 124, 'the sync hung');
  t.is(r.code, 2, r.stderr);
  t.is(errorCode(r), 'E_PARSE');
  t.regex(r.stdout, /is a FIFO \(named pipe\)/);
  const d = await measured(['decrypt', s.bundle], s.env);
  t.not(d.code, 124, 'decrypt hung');
  t.is(d.code, 2);
  t.regex(d.stderr, /the file .* is a FIFO \(named pipe\): refused/);
});

test('a regular bundle over 32 MiB is refused by its size, without reading it into memory', async (t) => {
  const s = await setup(t);
  await rm(s.bundle);
  await writeFile(s.bundle, '');
  await truncate(s.bundle, 600 * MIB); // sparse: no disk used
  const r = await measured(s.args, s.env);
  t.is(r.code, 2, r.stderr);
  t.is(errorCode(r), 'E_PARSE');
  t.regex(r.stdout, /is 600 MiB: refused \(only a regular file of at most 32 MiB is read\)/);
  t.true(r.peakRss < 300 * MIB, `peak RSS ${Math.round(r.peakRss / MIB)} MiB`);
});

test('.sops.yaml symlinked to /dev/zero does not stop a sync nor grow it', async (t) => {
  const s = await setup(t);
  await rm(path.join(s.repo, '.sops.yaml'));
  await symlink('/dev/zero', path.join(s.repo, '.sops.yaml'));
  const r = await measured(s.args, s.env);
  t.is(r.code, 0, r.stderr);
  t.true(r.peakRss < 300 * MIB, `peak RSS ${Math.round(r.peakRss / MIB)} MiB`);
});

test('a key file that is a FIFO is an attempt that failed, not a hang: SOPS_AGE_KEY_FILE, keys.txt, identity import --file', async (t) => {
  const s = await setup(t);
  const fifo = path.join(s.dir, 'key.fifo');
  await execa('mkfifo', [fifo]);
  const keysTxt = path.join(s.dir, 'userhome', '.config', 'sops', 'age', 'keys.txt');
  await mkdir(path.dirname(keysTxt), { recursive: true });
  await execa('mkfifo', [keysTxt]);

  // the identity in SOPS_AGE_KEY still opens the bundle
  const withEnv = await measured(s.args, { ...s.env, SOPS_AGE_KEY_FILE: fifo });
  t.not(withEnv.code, 124, 'sync hung on the key file');
  t.is(withEnv.code, 0, withEnv.stderr);

  // only the FIFOs: E_NO_IDENTITY listing both refusals
  const noKey = { ...s.env, SOPS_AGE_KEY: '', SOPS_AGE_KEY_FILE: fifo };
  const without = await measured(['sync', '--repo', s.repo, '--home', s.home], noKey);
  t.not(without.code, 124, 'sync hung on the key file');
  t.is(without.code, 2);
  t.regex(without.stderr, /E_NO_IDENTITY|no age identity found/);
  t.regex(without.stderr, /key\.fifo is a FIFO \(named pipe\)/);
  t.regex(without.stderr, /keys\.txt is a FIFO \(named pipe\)/);

  // import needs a keychain before it reads; the file is refused before the keychain is touched
  const imported = await measured(['identity', 'import', '--file', fifo], isolatedEnv(s.dir, {}, { keychain: true }));
  t.not(imported.code, 124, 'identity import hung');
  t.is(imported.code, 2);
  t.regex(imported.stderr, /the age key file .*key\.fifo is a FIFO \(named pipe\): refused/);
});

test('sync of a 6 KB bundle nested 3,000 deep is E_PARSE naming the limit, not an internal error', async (t) => {
  const s = await setup(t);
  await writeFile(s.bundle, `x: ${'['.repeat(3000)}${']'.repeat(3000)}\n`);
  const r = await measured(s.args, s.env);
  t.is(r.code, 2, r.stderr);
  t.is(errorCode(r), 'E_PARSE');
  t.regex(r.stdout, /nest deeper than 100 levels \(the limit\)/);
  t.false(/internal error|RangeError/.test(r.stdout + r.stderr));
  const deepJson = path.join(s.dir, 'deep.json');
  await writeFile(deepJson, `{"x":${'['.repeat(50_000)}${']'.repeat(50_000)}}`);
  const d = await measured(['decrypt', deepJson], s.env);
  t.is(d.code, 2, d.stderr);
  t.regex(d.stderr, /nest deeper than 100 levels/);
  t.false(/internal error|RangeError/.test(d.stderr));
});
