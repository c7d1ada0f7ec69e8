/**
 * The runbook as commands, end to end with a real daemon: purge (with a real keyring), doctor
 * (healthy, then one broken setup per check), the recipients-changed notice, and CI mode.
 */
import test from 'ava';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { encrypt } from '../../src/sops/index.js';
import { daemonFixture, keychainDaemonFixture, sampleBundle, type DaemonFixture } from '../helpers/daemon.js';
import { git, runCli } from '../helpers/e2e.js';
import { keyringTests } from '../helpers/keyring.js';
import type { Check } from '../../src/cli/doctor.js';

const keyringTest = await keyringTests();

async function cli(d: DaemonFixture, args: string[], env: Record<string, string> = d.env, input?: string) {
  return runCli([...args, '--repo', d.repo, '--home', d.home, '--socket', d.socket], { env, cwd: d.repo, input });
}

keyringTest('purge wipes the outputs and the keychain, locks the daemon, and a new import plus sync --daemon resumes', async (t) => {
  const { d } = await keychainDaemonFixture(t);
  await d.start();
  const fresh = await d.waitFor((s) => s.state === 'fresh', 'fresh from the keychain');
  t.is(fresh.identity.source, 'keychain');

  const purged = await cli(d, ['purge', '--json']);
  t.is(purged.code, 0, purged.stderr);
  const report = JSON.parse(purged.stdout) as { daemon: string; removedFiles: string[]; forgottenRecipients: string[] };
  t.is(report.daemon, 'locked');
  t.deepEqual(report.forgottenRecipients, [d.recipient]);
  t.is(report.removedFiles.length, 2);
  t.false(existsSync(path.join(d.home, '.env')));
  t.false(existsSync(path.join(d.home, 'console-secrets.json')));
  const shown = JSON.parse((await cli(d, ['identity', 'show', '--json'])).stdout) as { identities: unknown[] };
  t.deepEqual(shown.identities, []);

  // the locked daemon does not bring the outputs back (their deletion is a change it sees), even when the bundle changes
  await d.commitBundle(sampleBundle('v2'), 'v2 while locked');
  t.is((await d.status()).state, 'locked');
  t.false(existsSync(path.join(d.home, '.env')), 'outputs stay gone');

  // the key comes back (after rotation, say): import and ask the daemon to sync
  t.is((await cli(d, ['identity', 'import'], d.env, d.identity + '\n')).code, 0);
  const resumed = await cli(d, ['sync', '--daemon']);
  t.is(resumed.code, 0, resumed.stdout + resumed.stderr);
  t.is((await d.status()).secretsVersion, 'v2');
});

keyringTest('purge --keep-identity wipes the outputs only', async (t) => {
  const { d } = await keychainDaemonFixture(t);
  t.is((await cli(d, ['sync'])).code, 0);
  const r = await cli(d, ['purge', '--keep-identity']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /daemon not running/);
  t.regex(r.stdout, /identities kept in the keychain/);
  t.false(existsSync(path.join(d.home, '.env')));
  t.true((await cli(d, ['identity', 'show'])).stdout.includes(d.recipient));
});

async function healthy(t: Parameters<typeof daemonFixture>[0]): Promise<DaemonFixture> {
  const d = await daemonFixture(t);
  await writeFile(path.join(d.repo, '.gitignore'), '.env\nconsole-secrets.json\nkeys.txt\n*.dec.*\n');
  await d.commitBundle(sampleBundle('v1'), 'v1');
  await d.start();
  await d.waitFor((s) => s.state === 'fresh', 'fresh');
  return d;
}

async function doctor(d: DaemonFixture, env = d.env): Promise<{ code: number; checks: Check[] }> {
  const r = await cli(d, ['doctor', '--json'], env);
  return { code: r.code, checks: (JSON.parse(r.stdout) as { checks: Check[] }).checks };
}

const failing = (checks: Check[]) => checks.filter((c) => c.level === 'fail').map((c) => c.id);

test('doctor: a healthy setup has no failing check', async (t) => {
  const d = await healthy(t);
  const { code, checks } = await doctor(d);
  t.deepEqual(failing(checks), [], JSON.stringify(checks, null, 1));
  t.is(code, 0);
  for (const id of ['node', 'identity', 'bundle', 'home', 'daemon', 'gitignore']) t.is(checks.find((c) => c.id === id)?.level, 'ok', id);
});

test('doctor: each broken setup is reported with its fix', async (t) => {
  const d = await healthy(t);
  const expectFail = async (id: string, fix: RegExp, env?: Record<string, string>) => {
    const { code, checks } = await doctor(d, env);
    const check = checks.find((c) => c.id === id);
    t.is(check?.level, 'fail', `${id}: ${JSON.stringify(check)}`);
    t.regex(check?.fix ?? '', fix, id);
    t.is(code, 2);
  };
  await chmod(d.home, 0o755);
  await expectFail('home', /chmod 700/);
  await chmod(d.home, 0o700);
  await chmod(path.join(d.home, '.env'), 0o644);
  await expectFail('output:.env', /chmod 600/);
  await chmod(path.join(d.home, '.env'), 0o600);
  await chmod(path.dirname(d.socket), 0o755);
  await expectFail('socket-dir', /chmod 700/);
  await chmod(path.dirname(d.socket), 0o700);
  await expectFail('identity', /identity import/, { ...d.env, SOPS_AGE_KEY: '' });
  await writeFile(path.join(d.repo, '.gitignore'), 'node_modules\n');
  await expectFail('gitignore', /\.env/);
  await git(d.repo, ['checkout', '--', '.gitignore']);

  const good = await readFile(d.bundle, 'utf8');
  await d.stop();
  await writeFile(d.bundle, good.replace(/data:([A-Za-z0-9+/])/, (_m, c: string) => `data:${c === 'A' ? 'B' : 'A'}`));
  await expectFail('bundle', /restore it from git/);
  const down = (await doctor(d)).checks.find((c) => c.id === 'daemon');
  t.is(down?.level, 'warn');
  t.regex(down?.fix ?? '', /service install/);
});

test('a commit that adds an unknown recipient raises RECIPIENTS_CHANGED while staying fresh; status --ack clears it', async (t) => {
  const d = await daemonFixture(t);
  await d.commitBundle(sampleBundle('v1'), 'v1');
  await d.start();
  await d.waitFor((s) => s.state === 'fresh', 'fresh');
  const stranger = await identityToRecipient(await generateIdentity());
  await writeFile(d.bundle, await encrypt(sampleBundle('v2'), { format: 'yaml', recipients: [d.recipient, stranger] }));
  await git(d.repo, ['commit', '-qam', 'a new recipient appears']);
  const noticed = await d.waitFor((s) => s.state === 'fresh' && s.notices.some((n) => n.code === 'RECIPIENTS_CHANGED'), 'the notice');
  t.true(noticed.notices[0]!.message.includes(stranger));
  const tray = await cli(d, ['tray']);
  t.regex(tray.stdout, /fresh v2 !/);
  const acked = await cli(d, ['status', '--ack', '--json']);
  t.is(acked.code, 0);
  t.deepEqual((JSON.parse(acked.stdout) as { notices: unknown[] }).notices, []);
});
