/**
 * The daemon with its identity in a real OS keychain (gnome-keyring on a private D-Bus session):
 * a re-key locks it and an import unlocks it without a restart; a missing or locked keychain is
 * explained in the status while the daemon keeps serving; the key never leaves the keychain.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { encrypt } from '../../../src/sops/index.js';
import { subscribe } from '../../../src/ipc/client.js';
import type { StatusDocument } from '../../../src/ipc/status.js';
import { daemonFixture, keychainDaemonFixture, sampleBundle } from '../../helpers/daemon.js';
import { git } from '../../helpers/e2e.js';
import { keyringTests } from '../../helpers/keyring.js';

const keyringTest = await keyringTests();

keyringTest('after a re-key the daemon goes locked with E_IDENTITY_MISMATCH; importing the new key makes it fresh without a restart', async (t) => {
  const { d, cli } = await keychainDaemonFixture(t);
  await d.start();
  const first = await d.waitFor((s) => s.state === 'fresh', 'fresh');
  t.is(first.identity.source, 'keychain');
  t.deepEqual(first.identity.recipients, [d.recipient]);

  const newKey = await generateIdentity();
  const newRecipient = await identityToRecipient(newKey);
  await git(d.repo, ['rm', '-q', '--cached', 'config/secrets.enc.yaml']);
  await writeFile(d.bundle, await encrypt(sampleBundle('v2'), { format: 'yaml', recipients: [newRecipient] }));
  await git(d.repo, ['add', '-A']);
  await git(d.repo, ['commit', '-qm', 're-key']);
  const locked = await d.waitFor((s) => s.state === 'locked', 'locked after the re-key');
  t.is(locked.lastSync?.error?.code, 'E_IDENTITY_MISMATCH');
  t.true(locked.lastSync!.error!.message.includes(newRecipient), 'names the recipient it needs');
  t.true(locked.lastSync!.error!.message.includes('mcp-secrets identity import'), 'says how to fix it');

  const imported = await cli(['identity', 'import'], newKey + '\n');
  t.is(imported.code, 0, imported.stderr);
  t.regex(imported.stdout, /the running daemon re-read the keychain: fresh/);
  const fresh = await d.status();
  t.is(fresh.secretsVersion, 'v2');
  t.is(fresh.daemon.pid, first.daemon.pid, 'no restart');
});

keyringTest('forgetting every identity and asking for a sync gives locked with E_NO_IDENTITY', async (t) => {
  const { d, cli } = await keychainDaemonFixture(t);
  await d.start();
  await d.waitFor((s) => s.state === 'fresh', 'fresh');
  t.is((await cli(['identity', 'forget', '--all'])).code, 0);
  const r = await cli(['sync', '--daemon', '--json']);
  t.is(r.code, 2);
  const status = JSON.parse(r.stdout) as StatusDocument;
  t.is(status.state, 'locked');
  t.is(status.lastSync?.error?.code, 'E_NO_IDENTITY');
});

keyringTest('without a D-Bus session the daemon starts, serves status, and explains the keychain problem', async (t) => {
  const d = await daemonFixture(t, { identityInEnv: false, keychain: true, env: { DBUS_SESSION_BUS_ADDRESS: '' } });
  await d.commitBundle(sampleBundle('v1'), 'v1');
  delete d.env.DBUS_SESSION_BUS_ADDRESS;
  delete d.env.DISPLAY;
  await d.start();
  const locked = await d.waitFor((s) => s.state === 'locked', 'locked');
  t.is(locked.lastSync?.error?.code, 'E_NO_IDENTITY');
  t.regex(locked.lastSync!.error!.message, /keychain: E_KEYCHAIN: no D-Bus session/);
  t.is((await d.status()).state, 'locked', 'still serving');
});

keyringTest('with a locked keyring collection the daemon does not crash and says the collection is locked', async (t) => {
  const { d, session } = await keychainDaemonFixture(t);
  await session.lock();
  await d.start();
  const locked = await d.waitFor((s) => s.state === 'locked', 'locked');
  t.regex(locked.lastSync!.error!.message, /locked collection/);
  t.is(d.child!.exitCode, null, 'the daemon is alive');
  t.is((await d.status()).state, 'locked');
});

keyringTest('a key from the keychain is in no file, log line, IPC reply, argv or the daemon environment', async (t) => {
  const { d, cli } = await keychainDaemonFixture(t);
  t.is((await cli(['identity', 'show'])).code, 0);
  await d.start();
  const replies: StatusDocument[] = [await d.waitFor((s) => s.state === 'fresh', 'fresh')];
  const sub = subscribe((s) => replies.push(s), { socketPath: d.socket });
  replies.push(await d.status());
  const ps = await execa('ps', ['-eo', 'args']);
  const environ = await readFile(`/proc/${d.child!.pid}/environ`, 'utf8');
  sub.close();
  const files: string[] = [];
  for (const root of [d.home, d.repo, d.dir]) {
    for (const e of await readdir(root, { withFileTypes: true, recursive: true })) if (e.isFile()) files.push(path.join(e.parentPath, e.name));
  }
  const haystacks: [string, string][] = [
    ['ps', ps.stdout],
    ['daemon environment', environ],
    ['IPC replies', JSON.stringify(replies)],
    ['stderr', d.stderr.join('')],
    ...(await Promise.all(files.map(async (f): Promise<[string, string]> => [f, await readFile(f, 'latin1')]))),
  ];
  for (const [where, text] of haystacks) t.false(text.includes(d.identity), `the key leaked into ${where}`);
  t.true(files.some((f) => f.endsWith('daemon.log')), 'the log was scanned');
});
