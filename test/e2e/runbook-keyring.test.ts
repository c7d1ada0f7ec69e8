/**
 * The runbook on a machine with a real keychain (gnome-keyring in a private D-Bus session) and a
 * real daemon: a rotation locks the daemon out until the new key is imported, and `purge` wipes
 * the outputs and the cached identity and keeps the daemon from bringing them back.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { keyringTests, usePrivateKeyring } from '../helpers/keyring.js';
import { daemonFixture, sampleBundle, type DaemonFixture } from '../helpers/daemon.js';
import { eventually, runCli } from '../helpers/e2e.js';
import { git } from '../helpers/git.js';
import { napiKeychain } from '../../src/identity/keychain/napi.js';
import { secretKeyIn } from '../helpers/runbook.js';
import type { ExecutionContext } from 'ava';

const keyringTest = await keyringTests();
// a private keyring whose bus this process and the children it starts share
usePrivateKeyring(test);

function cli(d: DaemonFixture, args: string[], input?: string) {
  return runCli([...args, '--home', d.home, '--socket', d.socket], { env: d.env, cwd: d.repo, input });
}

/** A running daemon whose only identity is key A, imported into the (empty) keychain. */
async function daemonWithKeychainIdentity(t: ExecutionContext): Promise<DaemonFixture> {
  for (const r of await napiKeychain().listRecipients()) await napiKeychain().delete(r);
  const d = await daemonFixture(t, { identityInEnv: false, keychain: true });
  await d.commitBundle(sampleBundle('2026.01.1'), 'bundle for A');
  const imported = await cli(d, ['identity', 'import'], `${d.identity}\n`);
  t.is(imported.code, 0, imported.stderr);
  await d.start();
  const fresh = await d.waitFor((s) => s.state === 'fresh', 'fresh with the keychain identity');
  t.is(fresh.identity.source, 'keychain');
  return d;
}

const outputs = (d: DaemonFixture) => [path.join(d.home, '.env'), path.join(d.home, 'console-secrets.json')];

keyringTest('a daemon goes locked after a rotation commit and fresh again after `identity import` of the new key, without a restart', async (t) => {
  const d = await daemonWithKeychainIdentity(t);
  const pid = (await d.status()).daemon.pid;

  const rotated = await runCli(['rotate', '--ticket', 'TASK-OPS-301', '--repo', d.repo, '--key-to-stdout'], { env: d.env, cwd: d.repo });
  t.is(rotated.code, 0, rotated.stderr);
  const newKey = secretKeyIn(rotated.stdout)!;
  await git(d.repo, ['add', '-A']);
  await git(d.repo, ['commit', '-q', '-m', 'TASK-OPS-301: rotate the age key']);

  const locked = await d.waitFor((s) => s.state === 'locked', 'locked after the rotation');
  t.is(locked.lastSync?.error?.code, 'E_IDENTITY_MISMATCH');
  t.true(outputs(d).every((f) => existsSync(f)), 'the last good outputs are kept');

  const imported = await cli(d, ['identity', 'import'], `${newKey}\n`);
  t.is(imported.code, 0, imported.stderr);
  t.regex(imported.stdout, /the running daemon re-read the keychain: fresh/);
  const fresh = await d.waitFor((s) => s.state === 'fresh' && s.secretsVersion !== '2026.01.1', 'fresh with the new key');
  t.is(fresh.daemon.pid, pid, 'the same daemon process');
  t.is(fresh.identity.source, 'keychain');
  t.regex(fresh.notices.find((n) => n.code === 'RECIPIENTS_CHANGED')?.message ?? '', /added age1/);
  for (const r of [rotated, imported]) t.false(`${r.stderr}`.includes(newKey));
});

keyringTest('purge wipes the outputs and the keychain, locks the daemon, and the daemon does not restore the outputs', async (t) => {
  const d = await daemonWithKeychainIdentity(t);
  const r = await cli(d, ['purge']);
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /^mcp-secrets purge: daemon locked\n/);
  t.true(r.stdout.includes(`removed ${path.join(d.home, '.env')}`));
  t.true(r.stdout.includes(`forgot identity ${d.recipient}`));
  t.deepEqual(await napiKeychain().listRecipients(), []);
  t.true(outputs(d).every((f) => !existsSync(f)));

  const status = await d.status();
  t.is(status.state, 'locked');
  t.deepEqual(status.identity, { source: 'none', recipients: [], opens: null, opensNothing: [] });
  t.true(status.notices.some((n) => n.code === 'LOCKED'));

  // the deletions (and a new commit) reach the daemon, which ignores them while locked
  await d.commitBundle(sampleBundle('2026.01.2'), 'a change while purged');
  await eventually(() => (d.stderr.join('').includes('locked by request; ignoring trigger') ? true : undefined), 15_000, 'the daemon to see and ignore a trigger');
  t.true(outputs(d).every((f) => !existsSync(f)), 'nothing restored');
  t.is((await d.status()).state, 'locked');
});

keyringTest('purge --keep-identity keeps the keychain entry, prints JSON, and `sync --daemon` resumes', async (t) => {
  const d = await daemonWithKeychainIdentity(t);
  const r = await cli(d, ['purge', '--keep-identity', '--json']);
  t.is(r.code, 0, r.stderr);
  t.deepEqual(JSON.parse(r.stdout), {
    daemon: 'locked',
    removedFiles: outputs(d),
    forgottenRecipients: [],
    keptIdentity: true,
    warnings: [],
  });
  t.deepEqual(await napiKeychain().listRecipients(), [d.recipient]);
  t.is((await d.status()).state, 'locked');

  const resumed = await cli(d, ['sync', '--daemon']);
  t.is(resumed.code, 0, resumed.stdout);
  t.regex(resumed.stdout, /the daemon synced: state fresh/);
  t.true(outputs(d).every((f) => existsSync(f)));
  t.false((await d.status()).notices.some((n) => n.code === 'LOCKED'));
});

keyringTest('purge with no daemon running still wipes the outputs and the keychain', async (t) => {
  const d = await daemonWithKeychainIdentity(t);
  await d.stop();
  const r = await cli(d, ['purge', '--json']);
  t.is(r.code, 0, r.stderr);
  const report = JSON.parse(r.stdout) as { daemon: string; forgottenRecipients: string[] };
  t.is(report.daemon, 'not running');
  t.deepEqual(report.forgottenRecipients, [d.recipient]);
  t.true(outputs(d).every((f) => !existsSync(f)));
});

keyringTest('CI mode (--skip-without-identity) never writes to the keychain, where a plain sync caches the identity', async (t) => {
  for (const r of await napiKeychain().listRecipients()) await napiKeychain().delete(r);
  const d = await daemonFixture(t, { identityInEnv: true, keychain: true });
  await d.commitBundle(sampleBundle('2026.01.1'), 'bundle');
  const ci = await runCli(['sync', '--skip-without-identity', '--repo', d.repo, '--home', d.home], { env: d.env });
  t.is(ci.code, 0, ci.stderr);
  t.regex(ci.stdout, /identity: env /);
  t.deepEqual(await napiKeychain().listRecipients(), [], 'nothing cached in CI mode');

  const plain = await runCli(['sync', '--repo', d.repo, '--home', d.home], { env: d.env });
  t.is(plain.code, 0, plain.stderr);
  t.regex(plain.stderr, /from SOPS_AGE_KEY is now in the OS keychain/);
  t.deepEqual(await napiKeychain().listRecipients(), [d.recipient], 'the contrast: a plain sync caches it');
});
