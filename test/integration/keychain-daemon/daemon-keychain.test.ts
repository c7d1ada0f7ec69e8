/**
 * The daemon with the OS keychain as its identity source, against a REAL Secret Service
 * (gnome-keyring, one private D-Bus session per test): identities imported with the CLI, cached
 * from SOPS_AGE_KEY, re-keyed bundles, forgotten identities, and a keychain that cannot be used.
 * The daemon is a real child process, observed only over its IPC socket.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import type { ExecutionContext } from 'ava';
import { updateRecipients } from '../../../src/sops/index.js';
import { daemonFixture, sampleBundle, type DaemonFixture } from '../../helpers/daemon.js';
import { runCli, type CliResult } from '../../helpers/e2e.js';
import { git } from '../../helpers/git.js';
import { fixtureFlags } from '../../helpers/cli-flags.js';
import { keyringTests, startKeyringSession, type KeyringMode, type KeyringSession } from '../../helpers/keyring.js';

const keyringTest = await keyringTests();

interface KeychainDaemon {
  d: DaemonFixture;
  session: KeyringSession;
  /** The built CLI with the daemon's environment (same keyring, repo and socket). */
  cli(args: string[], input?: string, extraEnv?: Record<string, string>): Promise<CliResult>;
  /** Recipients stored in the keychain, as `identity show --json` reports them. */
  stored(): Promise<string[]>;
}

/** A daemon fixture (no identity in its environment) joined to a fresh private keyring session. */
async function keychainDaemon(t: ExecutionContext, mode: KeyringMode = 'unlocked'): Promise<KeychainDaemon> {
  const session = await startKeyringSession(mode);
  t.teardown(() => session.stop());
  const d = await daemonFixture(t, { identityInEnv: false, keychain: true });
  Object.assign(d.env, session.env);
  const cli = (args: string[], input?: string, extraEnv: Record<string, string> = {}) =>
    runCli([...args, ...fixtureFlags(args, { repo: d.repo, home: d.home, socket: d.socket })], { env: { ...d.env, ...extraEnv }, cwd: d.repo, input: input ?? '' });
  const stored = async (): Promise<string[]> => {
    const shown = await cli(['identity', 'show', '--json']);
    if (shown.code !== 0) throw new Error(`identity show failed: ${shown.stderr}`);
    return (JSON.parse(shown.stdout) as { identities: { recipient: string }[] }).identities.map((i) => i.recipient);
  };
  return { d, session, cli, stored };
}

function alive(d: DaemonFixture): boolean {
  return d.child !== null && d.child.exitCode === null && d.child.signalCode === null;
}

keyringTest('the daemon syncs with an identity imported into the keychain, with no env key and no key file', async (t) => {
  const { d, cli } = await keychainDaemon(t);
  await d.commitBundle(sampleBundle('v1'), 'v1');
  const imported = await cli(['identity', 'import'], `# public key: ${d.recipient}\n${d.identity}\n`);
  t.is(imported.code, 0, imported.stderr);

  await d.start();
  const fresh = await d.waitFor((s) => s.state === 'fresh', 'fresh');
  t.deepEqual(fresh.identity, { source: 'keychain', recipients: [d.recipient], opens: true, opensNothing: [] });
  t.is(fresh.secretsVersion, 'v1');
  t.true((await d.readEnv()).includes('OPENAI_API_KEY='));
});

keyringTest('an identity from SOPS_AGE_KEY is cached into the keychain once (not with --no-cache-identity) and found there on the next run', async (t) => {
  const { d, cli, stored } = await keychainDaemon(t);
  await d.commitBundle(sampleBundle('v1'), 'v1');

  const uncached = await cli(['sync', '--no-cache-identity'], '', { SOPS_AGE_KEY: d.identity });
  t.is(uncached.code, 0, uncached.stderr);
  t.false(uncached.stderr.includes('OS keychain'));
  t.deepEqual(await stored(), [], '--no-cache-identity stores nothing');

  d.env.SOPS_AGE_KEY = d.identity;
  await d.start();
  const first = await d.waitFor((s) => s.state === 'fresh', 'fresh from env');
  t.is(first.identity.source, 'env');
  t.deepEqual(await stored(), [d.recipient]);
  await d.stop();
  const notices = d.stderr.join('').split('\n').filter((l) => l.includes('now in the OS keychain'));
  t.deepEqual(notices, ['mcp-secrets: the identity from SOPS_AGE_KEY is now in the OS keychain; you can unset SOPS_AGE_KEY']);

  delete d.env.SOPS_AGE_KEY;
  d.stderr.length = 0;
  await d.start();
  const second = await d.waitFor((s) => s.state === 'fresh' && s.identity.source === 'keychain', 'fresh from the keychain');
  t.deepEqual(second.identity.recipients, [d.recipient]);
  t.false(d.stderr.join('').includes('now in the OS keychain'), 'nothing to cache the second time');
});

keyringTest('a bundle re-keyed to a new recipient locks the daemon with E_IDENTITY_MISMATCH, and importing the new key makes it fresh without a restart', async (t) => {
  const { d, cli } = await keychainDaemon(t);
  await d.commitBundle(sampleBundle('v1'), 'v1');
  t.is((await cli(['identity', 'import'], d.identity)).code, 0);
  await d.start();
  await d.waitFor((s) => s.state === 'fresh', 'fresh with key A');
  const pid = d.child!.pid!;

  const keyB = await generateIdentity();
  const recipientB = await identityToRecipient(keyB);
  // `rotate` (and `sops updatekeys`) by default: the data key re-wrapped for B only, so key A opens
  // nothing. A rotated data key would also need accepting here (see test/e2e/forged-bundle.test.ts).
  const rekeyed = await updateRecipients(await readFile(d.bundle), { format: 'yaml', identities: [d.identity], recipients: [recipientB] });
  await writeFile(d.bundle, rekeyed);
  await writeFile(`${d.repo}/.sops.yaml`, `creation_rules:\n  - path_regex: config/secrets\\.enc\\.yaml$\n    age: ${recipientB}\n`);
  await git(d.repo, ['commit', '-qam', 're-key to B']);

  const locked = await d.waitFor((s) => s.state === 'locked', 'locked after the re-key');
  t.is(locked.lastSync?.error?.code, 'E_IDENTITY_MISMATCH');
  t.true(locked.lastSync!.error!.message.includes(`encrypted to ${recipientB}`), locked.lastSync!.error!.message);
  t.true(locked.lastSync!.error!.message.includes(`you have ${d.recipient}`));
  t.true((await d.readEnv()).includes('# '), 'the last good .env is kept');
  t.deepEqual(locked.identity, { source: 'keychain', recipients: [d.recipient], opens: false, opensNothing: [] }, 'key A was in .sops.yaml when last seen');
  t.is(locked.source.commit, null, 'no commit of the last good bytes beside the re-keyed bundle');

  const imported = await cli(['identity', 'import'], keyB);
  t.is(imported.code, 0, imported.stderr);
  t.regex(imported.stdout, /the running daemon re-read the keychain: fresh/);
  const fresh = await d.waitFor((s) => s.state === 'fresh', 'fresh with key B');
  t.deepEqual(fresh.identity, { source: 'keychain', recipients: [recipientB], opens: true, opensNothing: [d.recipient] }, 'key A, re-keyed away, now opens nothing');
  t.is(fresh.daemon.pid, pid, 'the same daemon, not restarted');
});

keyringTest('after `identity forget --all`, a forced sync locks the daemon with E_NO_IDENTITY', async (t) => {
  const { d, cli, stored } = await keychainDaemon(t);
  await d.commitBundle(sampleBundle('v1'), 'v1');
  t.is((await cli(['identity', 'import'], d.identity)).code, 0);
  await d.start();
  await d.waitFor((s) => s.state === 'fresh', 'fresh');

  const forgot = await cli(['identity', 'forget', '--all']);
  t.is(forgot.code, 0, forgot.stderr);
  t.deepEqual(await stored(), []);
  // forget tells the daemon, as import does: the status no longer names the forgotten recipient
  const told = await d.status();
  t.is(told.state, 'locked');
  t.deepEqual(told.identity, { source: 'none', recipients: [], opens: false, opensNothing: [] });
  d.child!.kill('SIGHUP');
  const reloaded = await d.waitFor((s) => s.state === 'locked' && s.lastSync!.at !== told.lastSync!.at, 'locked again after SIGHUP');
  t.deepEqual(reloaded.identity, { source: 'none', recipients: [], opens: false, opensNothing: [] }, 'never "none (age1…)"');
  const synced = await cli(['sync', '--daemon']);
  t.is(synced.code, 2);
  t.regex(synced.stdout, /state locked \(E_NO_IDENTITY: /);
  const status = await d.status();
  t.is(status.state, 'locked');
  t.is(status.lastSync?.error?.code, 'E_NO_IDENTITY');
  t.is(status.identity.source, 'none');
});

keyringTest('without a D-Bus session the daemon still starts and serves status: locked, with the keychain hint', async (t) => {
  const { d } = await keychainDaemon(t);
  await d.commitBundle(sampleBundle('v1'), 'v1');
  delete d.env.DBUS_SESSION_BUS_ADDRESS;
  delete d.env.DISPLAY;
  await d.start();
  const locked = await d.waitFor((s) => s.state === 'locked', 'locked');
  const error = locked.lastSync?.error;
  t.is(error?.code, 'E_NO_IDENTITY');
  t.true(error!.message.includes('keychain: E_KEYCHAIN: no D-Bus session'), error!.message);
  t.true(error!.message.includes('DBUS_SESSION_BUS_ADDRESS is not set'), 'the hint for this cause, not a generic one');
  t.true(alive(d));
  t.is((await d.status()).state, 'locked', 'still answering');
});

keyringTest('with the keyring locked the daemon does not crash: it serves status, locked, with the unlock hint', async (t) => {
  const { d, session, cli } = await keychainDaemon(t);
  await d.commitBundle(sampleBundle('v1'), 'v1');
  t.is((await cli(['identity', 'import'], d.identity)).code, 0);
  await session.lock();
  await d.start();
  const locked = await d.waitFor((s) => s.state === 'locked', 'locked');
  t.is(locked.lastSync?.error?.code, 'E_NO_IDENTITY');
  t.true(locked.lastSync!.error!.message.includes('E_KEYCHAIN: locked collection'), locked.lastSync!.error!.message);
  t.true(locked.lastSync!.error!.message.includes('the keyring is locked: unlock it'));

  // forced syncs read the (still locked, still populated) collection again: no crash either
  t.is((await cli(['sync', '--daemon'])).code, 2);
  t.true(alive(d));
  t.is((await d.status()).state, 'locked');
});

keyringTest('a keyring locked while the daemon runs: a forced sync keeps the last good outputs and the daemon alive', async (t) => {
  const { d, session, cli } = await keychainDaemon(t);
  await d.commitBundle(sampleBundle('v1'), 'v1');
  t.is((await cli(['identity', 'import'], d.identity)).code, 0);
  await d.start();
  await d.waitFor((s) => s.state === 'fresh', 'fresh');
  const good = await d.readEnv();

  await session.lock();
  const synced = await cli(['sync', '--daemon']);
  t.is(synced.code, 2, synced.stdout);
  t.regex(synced.stdout, /locked collection/);
  t.true(alive(d));
  t.is((await d.status()).state, 'locked');
  t.is(await d.readEnv(), good);
});

keyringTest('a keychain identity that opens neither the bundle nor .sops.yaml is stored, and status says it opens nothing yet', async (t) => {
  const { d, cli } = await keychainDaemon(t);
  await d.commitBundle(sampleBundle('v1'), 'v1');
  t.is((await cli(['identity', 'import'], d.identity)).code, 0);
  await d.start();
  await d.waitFor((s) => s.state === 'fresh', 'fresh');
  const future = await generateIdentity();
  const futureRecipient = await identityToRecipient(future);
  const imported = await cli(['identity', 'import'], future);
  t.is(imported.code, 0, imported.stderr);
  const s = await d.waitFor((st) => st.state === 'fresh' && st.identity.opensNothing.length > 0, 'fresh, with the new key named as opening nothing');
  t.deepEqual(s.identity, { source: 'keychain', recipients: [d.recipient], opens: true, opensNothing: [futureRecipient] });
  const human = await cli(['status']);
  t.regex(human.stdout, new RegExp(`opens nothing yet[^\n]*${futureRecipient}`));
});
