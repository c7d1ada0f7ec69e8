/**
 * Control characters planted where a hostile bundle or a local process can put them: an
 * MCP_SECRETS_VERSION in a real encrypted bundle, an account name in the real keyring. Nothing
 * printed by `sync`, the daemon (stderr and its JSON log), `identity show` or `purge` may carry
 * them raw: no escape sequence reaches a terminal, no line is split.
 */
import test from 'ava';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { daemonFixture, sampleBundle } from '../helpers/daemon.js';
import { eventually, runCli } from '../helpers/e2e.js';
import { keyringTests, usePrivateKeyring } from '../helpers/keyring.js';
import { openKeychainStore } from '../../src/identity/keychain/index.js';

/** The default backend, as the CLI under test uses it. */
const defaultKeychain = () => openKeychainStore('napi-keyring', process.env);

const HOSTILE_VERSION = 'v\u001b[31mRED\u0007\nINJECTED LINE';
const ESCAPED_VERSION = 'v?[31mRED??INJECTED LINE';

/** No control character but the line feeds that end lines. */
function assertClean(t: ExecutionContext, text: string, what: string): void {
  const bad = [...text].filter((ch) => ch !== '\n' && (ch.charCodeAt(0) < 0x20 || (ch.charCodeAt(0) >= 0x7f && ch.charCodeAt(0) <= 0x9f)));
  t.deepEqual(bad, [], `${what}: ${JSON.stringify(text)}`);
  for (const line of text.split('\n')) t.false(line.startsWith('INJECTED'), `${what}: a line was split`);
}

const keyringTest = await keyringTests();
// a private keyring whose bus this process and the children it starts share
usePrivateKeyring(test);

test.serial('a version with escape codes and a newline in the bundle is printed escaped by sync and logged escaped by the daemon', async (t) => {
  const d = await daemonFixture(t);
  await d.commitBundle(sampleBundle('2026.01.1', { MCP_SECRETS_VERSION: HOSTILE_VERSION }), 'hostile version');
  const synced = await runCli(['sync', '--repo', d.repo, '--home', d.home], { env: d.env });
  t.is(synced.code, 0, synced.stderr);
  assertClean(t, synced.stdout + synced.stderr, 'sync');
  t.true(synced.stdout.includes(`secrets version: ${ESCAPED_VERSION}`), synced.stdout);

  await d.start();
  await d.waitFor((s) => s.state === 'fresh', 'fresh');
  const stderr = await eventually(() => {
    const text = d.stderr.join('');
    return text.includes('synced') ? text : undefined;
  }, 15_000, 'the daemon to log its sync');
  assertClean(t, stderr, 'daemon stderr');
  t.true(stderr.includes(ESCAPED_VERSION), stderr);
  await d.stop();
  const file = await readFile(path.join(d.home, 'logs', 'daemon.log'), 'utf8');
  const lines = file.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  const synced2 = lines.find((l) => l.message === 'synced');
  t.is(synced2?.secretsVersion, ESCAPED_VERSION, 'the JSON log holds the escaped text, so `jq -r` prints it safely too');
  for (const l of lines) assertClean(t, JSON.stringify(Object.values(l)), 'daemon.log values');
});

keyringTest('an account name with escape codes planted in the real keyring is shown escaped by identity show and purge', async (t) => {
  for (const r of await defaultKeychain().listRecipients()) await defaultKeychain().delete(r);
  const planted = `age1planted${HOSTILE_VERSION}`;
  await defaultKeychain().set(planted, 'not a key');
  const d = await daemonFixture(t, { identityInEnv: false, keychain: true });
  await d.commitBundle(sampleBundle('2026.01.1'), 'bundle');
  const shown = await runCli(['identity', 'show', '--repo', d.repo], { env: d.env, cwd: d.repo });
  t.is(shown.code, 0, shown.stderr);
  assertClean(t, shown.stdout + shown.stderr, 'identity show');
  t.true(shown.stdout.includes(`age1planted${ESCAPED_VERSION}`), shown.stdout);
  const purged = await runCli(['purge', '--home', d.home, '--socket', d.socket], { env: d.env });
  t.is(purged.code, 0, purged.stderr);
  assertClean(t, purged.stdout + purged.stderr, 'purge');
  t.true(purged.stdout.includes(`forgot identity age1planted${ESCAPED_VERSION}`), purged.stdout);
});
