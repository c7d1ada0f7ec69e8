/**
 * The secret key goes into the keychain and nowhere else: not into a file (temp HOME, the repo,
 * the temp dir, the keyring's own files, which gnome-keyring encrypts), not onto stdout/stderr,
 * not into any process's argv, not into the environment of a helper child process.
 */
import { encrypt } from '../../../src/sops/index.js';
import test from 'ava';
import { mkdtemp, mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { execa } from 'execa';
import { keyringTests, keyringUnavailable, startKeyringSession, type KeyringSession } from '../../helpers/keyring.js';

const MAIN = fileURLToPath(new URL('../../../src/main.js', import.meta.url));
const keyringTest = await keyringTests();

let session: KeyringSession | null = null;
let root = '';
let startedAt = 0;

test.before(async () => {
  if ((await keyringUnavailable()) !== null) return;
  startedAt = Date.now() - 1000;
  session = await startKeyringSession('unlocked');
  root = await mkdtemp(path.join(os.tmpdir(), 'mcp-identity-leaks-'));
});

test.after.always(async () => {
  await session?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

/** Every regular file under dir (recursively), optionally only those changed since `since`. */
async function filesUnder(dir: string, since = 0): Promise<string[]> {
  const out: string[] = [];
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(full, since)));
    else if (entry.isFile()) {
      const info = await stat(full).catch(() => null);
      if (info && info.mtimeMs >= since && info.size < 8 * 1024 * 1024) out.push(full);
    }
  }
  return out;
}

/** Forms of the key worth searching for: the line, its bech32 body, and lower case. */
function needles(line: string): string[] {
  return [line, line.slice('AGE-SECRET-KEY-1'.length, 40), line.toLowerCase().slice(0, 40)];
}

async function filesHolding(files: readonly string[], line: string): Promise<string[]> {
  const hits: string[] = [];
  for (const file of files) {
    const text = (await readFile(file).catch(() => Buffer.alloc(0))).toString('latin1');
    if (needles(line).some((n) => text.includes(n) || text.includes(n.toLowerCase()))) hits.push(file);
  }
  return hits;
}

/** pid and all its descendants, from /proc. */
async function processTree(pid: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const statText = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const ppid = Number(statText.slice(statText.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid) parents.set(Number(name), ppid);
  }
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) for (const [child, parent] of parents) if (parent === tree[i]) tree.push(child);
  return tree;
}

interface Watched {
  stdout: string;
  stderr: string;
  exitCode: number | undefined;
  argv: Set<string>;
  childEnvironments: Set<string>;
}

/**
 * Runs the CLI with the key written to its stdin AFTER it started, and samples the argv of its
 * whole process tree (and the environment of its helper children) until it exits.
 */
async function runWatched(args: string[], stdinText: string, env: Record<string, string>, cwd: string): Promise<Watched> {
  const child = execa('node', [MAIN, ...args], { cwd, env, extendEnv: false, reject: false, stdin: 'pipe' });
  const argv = new Set<string>();
  const childEnvironments = new Set<string>();
  let done = false;
  const finished = child.then((r) => {
    done = true;
    return r;
  });
  const sample = async () => {
    for (const pid of await processTree(child.pid as number)) {
      const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
      if (cmdline) argv.add(cmdline.replaceAll('\0', ' '));
      if (pid !== child.pid) {
        const environ = await readFile(`/proc/${pid}/environ`, 'utf8').catch(() => '');
        if (environ) childEnvironments.add(environ);
      }
    }
  };
  await sample();
  child.stdin?.end(stdinText);
  while (!done) await sample();
  const result = await finished;
  return { stdout: String(result.stdout), stderr: String(result.stderr), exitCode: result.exitCode, argv, childEnvironments };
}

keyringTest('import, show and forget leave the secret in no file, output, argv or child environment', async (t) => {
  const s = session as KeyringSession;
  const home = path.join(root, 'home');
  const repo = path.join(root, 'repo');
  await mkdir(home, { recursive: true });
  await mkdir(path.join(repo, 'config'), { recursive: true });
  const line = await generateX25519Identity();
  const recipient = await identityToRecipient(line);
  const teammate = await identityToRecipient(await generateX25519Identity());
  await execa('git', ['init', '-q', repo]);
  await writeFile(path.join(repo, '.sops.yaml'), `creation_rules:\n  - age: ${teammate}\n`);
  await writeFile(path.join(repo, 'config', 'secrets.enc.yaml'), await encrypt({ a: 'teammate-only-value' }, { format: 'yaml', recipients: [teammate] }));
  const env = { PATH: process.env.PATH ?? '', HOME: home, ...s.env };

  const imported = await runWatched(['identity', 'import'], `# public key: ${recipient}\n${line}\n`, env, repo);
  t.is(imported.exitCode, 0, imported.stderr);
  t.regex(imported.stderr, /warning: .* is not a recipient/); // the repo's check ran (git and yaml involved)
  t.true([...imported.argv].some((a) => a.includes('identity import')), 'the argv sampler saw the process');

  // While the key is stored: the keyring's own file holds it encrypted, never in plain text.
  const keyringFiles = (await filesUnder(s.dir)).filter((f) => f.includes(`${path.sep}keyrings${path.sep}`));
  t.true(keyringFiles.length > 0, 'the keyring file exists');
  t.deepEqual(await filesHolding([...keyringFiles, ...(await filesUnder(root))], line), []);

  const fromEnv = await runWatched(['identity', 'import', '--from-env'], '', { ...env, SOPS_AGE_KEY: line }, repo);
  t.is(fromEnv.exitCode, 0, fromEnv.stderr);
  const shown = await runWatched(['identity', 'show'], '', env, repo);
  const shownJson = await runWatched(['identity', 'show', '--json'], '', env, repo);
  t.true(shown.stdout.includes(`${recipient}  opens nothing yet`), shown.stdout);
  const forgot = await runWatched(['identity', 'forget', recipient], '', env, repo);
  t.is(forgot.exitCode, 0, forgot.stderr);

  for (const run of [imported, fromEnv, shown, shownJson, forgot]) {
    for (const needle of needles(line)) {
      t.false(run.stdout.includes(needle), 'stdout');
      t.false(run.stderr.includes(needle), 'stderr');
      for (const a of run.argv) t.false(a.includes(needle), `argv: ${a.slice(0, 60)}`);
      for (const e of run.childEnvironments) t.false(e.includes(needle), 'a helper child got the key in its environment');
    }
  }

  const files = [...(await filesUnder(root)), ...(await filesUnder(s.dir)), ...(await filesUnder(os.tmpdir(), startedAt))];
  t.deepEqual(await filesHolding(files, line), []);
});
