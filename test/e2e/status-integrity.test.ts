/**
 * The status tells the truth about the outputs and about itself (issue 11, items 9, 13, 16, 18):
 * a real daemon child process, real files in the test's own temp home, real git checkouts.
 */
import test from 'ava';
import { chmod, link, lstat, readFile, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { daemonFixture, sampleBundle } from '../helpers/daemon.js';
import { CLI, runCli } from '../helpers/e2e.js';
import { git } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';
import type { StatusDocument } from '../../src/ipc/status.js';

const WAIT_MS = 40_000;

async function mode(file: string): Promise<number> {
  return (await stat(file)).mode & 0o777;
}

function allIntact(s: StatusDocument): boolean {
  return s.state === 'fresh' && s.outputs.length === 2 && s.outputs.every((o) => o.intact);
}

test('a chmod 644 of .env is repaired by the daemon: 0600 again, fresh and intact', async (t) => {
  const d = await daemonFixture(t);
  await d.commitBundle(sampleBundle('v1'), 'v1');
  await d.start();
  await d.waitFor(allIntact, 'fresh');
  const env = path.join(d.home, '.env');
  await chmod(env, 0o644); // our own file in the test's own temp home
  let repaired = false;
  for (const deadline = Date.now() + WAIT_MS; Date.now() < deadline && !repaired; await new Promise((r) => setTimeout(r, 100))) repaired = (await mode(env)) === 0o600;
  t.true(repaired, '.env is 0600 again');
  const s = await d.waitFor(allIntact, 'fresh and intact after the repair', WAIT_MS);
  t.is(s.secretsVersion, 'v1');
  t.true(d.stderr.join('').includes('outputs not intact'), 'the daemon log says what it repaired');
});

test('a home widened to 0755 that holds only our files is tightened back to 0700 by the running daemon', async (t) => {
  const d = await daemonFixture(t);
  await d.commitBundle(sampleBundle('v1'), 'v1');
  await d.start();
  await d.waitFor(allIntact, 'fresh');
  await chmod(d.home, 0o755); // the test's own temp home
  let m = 0o755;
  for (const deadline = Date.now() + WAIT_MS; Date.now() < deadline && m !== 0o700; await new Promise((r) => setTimeout(r, 200))) m = await mode(d.home);
  t.is(m, 0o700);
  await d.waitFor(allIntact, 'fresh after tightening', WAIT_MS);
});

test('a second hard link to .env is reported (not fresh, E_INSECURE_PATH naming .env and the inode) until the other name is gone', async (t) => {
  const d = await daemonFixture(t);
  await d.commitBundle(sampleBundle('v1'), 'v1');
  await d.start();
  await d.waitFor(allIntact, 'fresh');
  const env = path.join(d.home, '.env');
  const other = path.join(d.dir, 'copy-of-env'); // in the test's temp dir, same file system
  await link(env, other);
  const inode = (await lstat(env)).ino;
  const reported = await d.waitFor((s) => s.state === 'error', 'error for the extra link', WAIT_MS);
  t.false(reported.fresh);
  t.is(reported.lastSync?.error?.code, 'E_INSECURE_PATH');
  const message = reported.lastSync!.error!.message;
  t.true(message.includes(env), message);
  t.true(message.includes(`-inum ${inode}`), message);
  t.regex(message, /still linked under another name/);
  // .env itself was published again as a new file; the other name keeps the old one
  t.is((await lstat(env)).nlink, 1);
  t.not((await lstat(env)).ino, inode);
  t.is((await lstat(other)).ino, inode);

  const human = await runCli(['status', '--socket', d.socket], { env: d.env });
  t.is(human.code, 2);
  t.true(human.stdout.includes('E_INSECURE_PATH'), human.stdout);

  await unlink(other);
  const fresh = await d.waitFor(allIntact, 'fresh once the other name is gone', WAIT_MS);
  t.true(fresh.lastSync!.ok);
});

test('after a failed sync and a restored bundle, fresh comes with a good last sync, never with the old error', async (t) => {
  const d = await daemonFixture(t);
  await d.commitBundle(sampleBundle('v1'), 'v1');
  await d.start();
  await d.waitFor(allIntact, 'fresh');
  const good = await readFile(d.bundle);
  await writeFile(d.bundle, 'not: [a sops bundle\n');
  const failed = await d.waitFor((s) => s.state === 'error', 'error after the tampered bundle', WAIT_MS);
  t.false(failed.lastSync!.ok);
  await writeFile(d.bundle, good);
  const restored = await d.waitFor((s) => s.state === 'fresh', 'fresh after the restore', WAIT_MS);
  t.true(restored.lastSync!.ok, JSON.stringify(restored.lastSync));
  t.is(restored.lastSync!.error, null);
  t.not(restored.source.commit, null, 'the restored bytes are the committed ones');
});

test('no plaintext digest in the status: outputs carry intact, never sha256', async (t) => {
  const d = await daemonFixture(t);
  await d.commitBundle(sampleBundle('v1'), 'v1');
  await d.start();
  const s = await d.waitFor(allIntact, 'fresh');
  t.deepEqual(Object.keys(s.outputs[0]!).sort(), ['format', 'intact', 'kind', 'path']);
  const { createHash } = await import('node:crypto');
  const digests = await Promise.all(['.env', 'console-secrets.json'].map(async (f) => createHash('sha256').update(await readFile(path.join(d.home, f))).digest('hex')));
  const json = (await runCli(['status', '--json', '--socket', d.socket], { env: d.env })).stdout;
  for (const digest of digests) t.false(json.includes(digest), 'no output digest in status --json');
});

test('a multi-line locked message keeps its lines in status and in the waybar tooltip', async (t) => {
  const d = await daemonFixture(t, { identityInEnv: false });
  await d.commitBundle(sampleBundle('v1'), 'v1');
  await d.start();
  const locked = await d.waitFor((s) => s.state === 'locked', 'locked');
  t.true(locked.lastSync!.error!.message.includes('\n'), 'the message lists each source on its own line');
  t.deepEqual(locked.identity, { source: 'none', recipients: [], opens: false, opensNothing: [] });
  const human = (await runCli(['status', '--socket', d.socket], { env: d.env })).stdout;
  t.false(human.includes('tried:?'), human);
  t.regex(human, /\n {12} +SOPS_AGE_KEY: not set\n/);
  const waybar = JSON.parse((await runCli(['tray', '--format', 'waybar', '--socket', d.socket], { env: d.env })).stdout) as { tooltip: string };
  t.false(waybar.tooltip.includes('?'), waybar.tooltip);
  t.true(waybar.tooltip.split('\n').some((l) => /^\s*SOPS_AGE_KEY: not set$/.test(l)), waybar.tooltip);
  t.true(waybar.tooltip.includes('identity: none found'));

  d.child!.kill('SIGHUP');
  const again = await d.waitFor((s) => s.state === 'locked' && s.lastSync!.at !== locked.lastSync!.at, 'locked again after SIGHUP', WAIT_MS);
  t.deepEqual(again.identity, { source: 'none', recipients: [], opens: false, opensNothing: [] });
});

test('during 100 checkouts, every console-secrets.json names only the commit whose bundle it holds', async (t) => {
  const d = await daemonFixture(t);
  await d.commitBundle(sampleBundle('v1'), 'v1');
  const commitA = (await git(d.repo, ['rev-parse', 'HEAD'])).trim();
  await git(d.repo, ['checkout', '-q', '-b', 'b']);
  await d.commitBundle(sampleBundle('v2'), 'v2');
  const commitB = (await git(d.repo, ['rev-parse', 'HEAD'])).trim();
  const versionOf = new Map([
    [commitA, 'v1'],
    [commitB, 'v2'],
  ]);
  await d.start();
  await d.waitFor((s) => s.state === 'fresh' && s.secretsVersion === 'v2', 'fresh on b');
  const consolePath = path.join(d.home, 'console-secrets.json');
  let samples = 0;
  const wrong: string[] = [];
  let storming = true;
  const sampler = (async () => {
    while (storming) {
      const doc = JSON.parse(await readFile(consolePath, 'utf8')) as { secretsVersion: string; source: { commit: string | null } };
      samples++;
      if (doc.source.commit !== null && versionOf.get(doc.source.commit) !== doc.secretsVersion) wrong.push(`${doc.secretsVersion} beside ${doc.source.commit}`);
      await new Promise((r) => setTimeout(r, 5));
    }
  })();
  for (let i = 0; i < 100; i++) await git(d.repo, ['checkout', '-q', i % 2 === 0 ? 'main' : 'b']);
  // fresh on v2 can be seen while git's last HEAD write is still queued behind the sync that read
  // the bundle: wait for the daemon to settle on b's commit (it must get there by itself)
  const last = await d.waitFor((s) => s.state === 'fresh' && s.secretsVersion === 'v2' && s.source.commit === commitB, 'fresh on b at the end, naming b', 60_000);
  storming = false;
  await sampler;
  t.true(samples > 10, `${samples} samples`);
  t.deepEqual(wrong, [], `${wrong.length}/${samples} samples paired values with another commit`);
  t.is(last.source.commit, commitB);
  const final = JSON.parse(await readFile(consolePath, 'utf8')) as { source: { commit: string | null } };
  t.is(final.source.commit, commitB);
});

test('--repo naming a directory that is no git work tree and holds no bundle (like /tmp) fails with E_NO_REPO', async (t) => {
  const dir = await tempDir(t);
  const r = await runCli(['sync', '--repo', dir, '--home', path.join(dir, 'home'), '--json'], { env: { PATH: process.env.PATH ?? '', HOME: dir, MCP_SECRETS_KEYCHAIN: 'none' } });
  t.is(r.code, 2);
  t.regex(r.stdout + r.stderr, /E_NO_REPO/);
  t.notRegex(r.stdout + r.stderr, /E_SOURCE_MISSING/);
});

test("another user's status says permission denied (EACCES), not that no daemon answers; exit 3", async (t) => {
  if (process.getuid?.() !== 0) {
    t.fail('needs root and setpriv to run `status` as another user (root ignores socket modes)');
    return;
  }
  const d = await daemonFixture(t);
  await d.commitBundle(sampleBundle('v1'), 'v1');
  await d.start();
  await d.waitFor(allIntact, 'fresh');
  // open only the test's own temp dirs (never /tmp itself) so nobody reaches the socket and is refused by its mode
  await chmod(d.dir, 0o755);
  await chmod(path.dirname(d.socket), 0o711);
  const r = await execa('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, CLI, 'status', '--socket', d.socket], {
    reject: false,
    env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent', MCP_SECRETS_KEYCHAIN: 'none' },
  });
  t.is(r.exitCode, 3, r.stderr);
  t.regex(r.stderr + r.stdout, /permission denied \(EACCES\)/);
  t.regex(r.stderr + r.stdout, /belongs to uid 0, not to you \(uid 65534\)/);
  t.notRegex(r.stderr + r.stdout, /no mcp-secrets daemon answers/);
});
