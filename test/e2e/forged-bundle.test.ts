/**
 * The forged bundle (issue 11, item 5): anyone who can push holds `.sops.yaml`, so anyone can
 * make a new bundle (new data key, valid MAC) with the project's own `encrypt` and the public key
 * alone. A forged bundle must never be published: forbidden names (LD_PRELOAD, NODE_OPTIONS) are
 * E_FORBIDDEN_NAME; a benign one with a new data key is held back (E_UNTRUSTED /
 * DATA_KEY_CHANGED) until the user accepts it. The last good outputs stay, in one-shot `sync`
 * and in a daemon that follows a git checkout. Item 8: a bundle whose age recipients were swapped
 * for a Vault key never makes `auto` run sops.
 */
import test from 'ava';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { encrypt } from '../../src/sops/index.js';
import { ack } from '../../src/ipc/client.js';
import { daemonFixture, sampleBundle } from '../helpers/daemon.js';
import { isolatedEnv, runCli } from '../helpers/e2e.js';
import { git } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';
import { ageRepo } from '../helpers/age-repo.js';

const HOSTILE = { MCP_SECRETS_VERSION: 'forged-1', LD_PRELOAD: '/tmp/evil-preload.so', NODE_OPTIONS: '--require /tmp/evil-hook.js' };
const BENIGN_FORGERY = { MCP_SECRETS_VERSION: 'forged-2', OPENAI_API_KEY: 'sk-attacker-chosen-value' };

/** What an attacker has: the public key in `.sops.yaml`, and nothing else. */
async function forgeFromSopsYaml(repo: string, doc: Record<string, unknown>): Promise<Uint8Array> {
  const recipient = /age:\s*(age1[0-9a-z]+)/.exec(await readFile(path.join(repo, '.sops.yaml'), 'utf8'))?.[1];
  if (recipient === undefined) throw new Error('no age recipient in .sops.yaml');
  return encrypt(doc, { format: 'yaml', recipients: [recipient] });
}

async function oneShotRepo(t: Parameters<typeof tempDir>[0]) {
  const { dir, repo, home, bundle, identity, lineage } = await ageRepo(t, 'mcp-forge-');
  const env = isolatedEnv(dir, { SOPS_AGE_KEY: identity });
  const sync = (...extra: string[]) => runCli(['sync', '--repo', repo, '--home', home, ...extra], { env });
  const readEnv = () => readFile(path.join(home, '.env'), 'utf8');
  return { dir, repo, home, bundle, lineage, env, sync, readEnv };
}

test('one-shot sync: a forged bundle setting LD_PRELOAD and NODE_OPTIONS is refused and the last good .env stays', async (t) => {
  const r = await oneShotRepo(t);
  await writeFile(r.bundle, await r.lineage.seal(sampleBundle('2026.11.1')));
  const first = await r.sync();
  t.is(first.code, 0, first.stderr);
  t.regex(first.stdout, /data key: first sync of this bundle here/);
  const good = await r.readEnv();

  await writeFile(r.bundle, await forgeFromSopsYaml(r.repo, HOSTILE));
  const forged = await r.sync('--json');
  t.is(forged.code, 2, forged.stdout);
  const error = (JSON.parse(forged.stdout) as { error: { code: string; message: string } }).error;
  t.is(error.code, 'E_FORBIDDEN_NAME');
  t.true(error.message.includes('LD_PRELOAD'));
  t.false(forged.stdout.includes('/tmp/evil-preload.so'), 'the value is never echoed');
  t.is(await r.readEnv(), good, 'the last good .env stays');

  // allowed by the user's own config, it is still a new data key: held back, not published
  await mkdir(path.join(r.env.XDG_CONFIG_HOME!, 'mcp-secrets'), { recursive: true });
  await writeFile(path.join(r.env.XDG_CONFIG_HOME!, 'mcp-secrets', 'config.yaml'), 'allowNames: [LD_PRELOAD, NODE_OPTIONS]\n', { mode: 0o600 });
  const allowed = await r.sync('--json');
  t.is(allowed.code, 2);
  t.is((JSON.parse(allowed.stdout) as { error: { code: string } }).error.code, 'E_UNTRUSTED');
  t.is(await r.readEnv(), good);
});

test('one-shot sync: a benign forgery with a new data key is E_UNTRUSTED until accepted; edits and accepted keys need nothing', async (t) => {
  const r = await oneShotRepo(t);
  const original = await r.lineage.seal(sampleBundle('2026.11.1'));
  await writeFile(r.bundle, original);
  t.is((await r.sync()).code, 0);
  const good = await r.readEnv();

  const forgery = await forgeFromSopsYaml(r.repo, BENIGN_FORGERY);
  await writeFile(r.bundle, forgery);
  const held = await r.sync();
  t.is(held.code, 2);
  t.regex(held.stderr, /E_UNTRUSTED/);
  t.regex(held.stderr, /data key this machine has not accepted/);
  t.regex(held.stderr, /mcp-secrets sync --accept-data-key/);
  t.regex(held.stderr, /status --ack/);
  t.is(await r.readEnv(), good, 'the last good .env stays');

  // a tampered forgery is a tamper error (value tag or MAC), whatever its key: never E_UNTRUSTED
  const text = Buffer.from(forgery).toString('utf8');
  const tamperedValue = text.replace(/(OPENAI_API_KEY: ENC\[AES256_GCM,data:)(.)/, (_m, p: string, c: string) => p + (c === 'A' ? 'B' : 'A'));
  const tamperedMac = text.replace(/lastmodified: "(\d{4})/, (_m, y: string) => `lastmodified: "${Number(y) + 1}`);
  for (const [tampered, code] of [[tamperedValue, 'E_DECRYPT'], [tamperedMac, 'E_MAC_MISMATCH']] as const) {
    t.not(tampered, text);
    await writeFile(r.bundle, tampered);
    const result = await r.sync();
    t.true(result.stderr.includes(code), result.stderr);
    t.false(result.stderr.includes('E_UNTRUSTED'));
    t.is(await r.readEnv(), good);
  }

  await writeFile(r.bundle, forgery);
  const accepted = await r.sync('--accept-data-key');
  t.is(accepted.code, 0, accepted.stderr);
  t.regex(accepted.stdout, /the new data key was accepted/);
  t.true((await r.readEnv()).includes('sk-attacker-chosen-value'));

  // switching back to the first bundle, or editing it with sops (same key), needs nothing
  await writeFile(r.bundle, original);
  t.is((await r.sync()).code, 0);
  await writeFile(r.bundle, await r.lineage.seal(sampleBundle('2026.11.2')));
  const edited = await r.sync();
  t.is(edited.code, 0, edited.stderr);
  t.true((await r.readEnv()).includes('2026.11.2'));
  const trust = await readFile(path.join(r.home, 'trust.json'), 'utf8');
  t.false(trust.includes('sk-'), 'the trust file holds digests only');
});

test('rotate --rotate-data-key accepts its own new data key on this machine', async (t) => {
  const r = await oneShotRepo(t);
  await writeFile(r.bundle, await r.lineage.seal(sampleBundle('2026.11.1')));
  await git(r.repo, ['add', '-A']);
  await git(r.repo, ['commit', '-qm', 'bundle']);
  t.is((await r.sync()).code, 0);
  const rotated = await runCli(['rotate', '--ticket', 'T-1', '--rotate-data-key', '--repo', r.repo, '--home', r.home, '--store-cmd', 'cat > "$KEYFILE"'], {
    env: { ...r.env, KEYFILE: path.join(r.dir, 'new.key') },
  });
  t.is(rotated.code, 0, rotated.stderr);
  t.regex(rotated.stdout, /the new data key is accepted on this machine/);
  const newKey = (await readFile(path.join(r.dir, 'new.key'), 'utf8')).trim();
  const after = await runCli(['sync', '--repo', r.repo, '--home', r.home], { env: { ...r.env, SOPS_AGE_KEY: newKey } });
  t.is(after.code, 0, after.stderr);
});

test('daemon: a checkout of a forged branch is never published; DATA_KEY_CHANGED until status --ack; accepted branches switch freely', async (t) => {
  const d = await daemonFixture(t);
  await d.commitBundle(sampleBundle('2026.11.1'), 'team bundle');
  await git(d.repo, ['checkout', '-q', '-b', 'forged']);
  await writeFile(d.bundle, await forgeFromSopsYaml(d.repo, BENIGN_FORGERY));
  await git(d.repo, ['commit', '-qam', 'looks harmless']);
  await git(d.repo, ['checkout', '-q', '-b', 'hostile', 'main']);
  await writeFile(d.bundle, await forgeFromSopsYaml(d.repo, HOSTILE));
  await git(d.repo, ['commit', '-qam', 'also harmless']);
  await git(d.repo, ['checkout', '-q', 'main']);

  await d.start();
  await d.waitFor((s) => s.state === 'fresh' && s.secretsVersion === '2026.11.1', 'fresh on main');
  const good = await d.readEnv();

  await git(d.repo, ['checkout', '-q', 'hostile']);
  const refused = await d.waitFor((s) => s.lastSync?.error?.code === 'E_FORBIDDEN_NAME', 'E_FORBIDDEN_NAME');
  t.is(refused.state, 'error');
  t.false(refused.fresh);
  t.is(await d.readEnv(), good);

  await git(d.repo, ['checkout', '-q', 'forged']);
  const held = await d.waitFor((s) => s.lastSync?.error?.code === 'E_UNTRUSTED' && s.notices.some((n) => n.code === 'DATA_KEY_CHANGED'), 'DATA_KEY_CHANGED');
  t.is(held.secretsVersion, '2026.11.1', 'still the last good version');
  t.regex(held.notices.find((n) => n.code === 'DATA_KEY_CHANGED')!.message, /status --ack/);
  t.is(await d.readEnv(), good, 'the last good .env stays');
  const human = await runCli(['status', '--socket', d.socket], { env: d.env });
  t.regex(human.stdout, /notice {4}DATA_KEY_CHANGED/);

  await git(d.repo, ['checkout', '-q', 'main']);
  const back = await d.waitFor((s) => s.state === 'fresh' && s.secretsVersion === '2026.11.1', 'fresh on main again');
  t.false(back.notices.some((n) => n.code === 'DATA_KEY_CHANGED'), 'no notice once an accepted bundle is checked out');

  await git(d.repo, ['checkout', '-q', 'forged']);
  await d.waitFor((s) => s.notices.some((n) => n.code === 'DATA_KEY_CHANGED'), 'DATA_KEY_CHANGED again');
  const acked = await ack({ socketPath: d.socket, timeoutMs: 20_000 });
  t.deepEqual(acked.notices, []);
  await d.waitFor((s) => s.state === 'fresh' && s.secretsVersion === 'forged-2', 'the accepted bundle published');
  t.true((await d.readEnv()).includes('sk-attacker-chosen-value'));

  await git(d.repo, ['checkout', '-q', 'main']);
  await d.waitFor((s) => s.state === 'fresh' && s.secretsVersion === '2026.11.1', 'main, accepted earlier');
  await git(d.repo, ['checkout', '-q', 'forged']);
  const again = await d.waitFor((s) => s.state === 'fresh' && s.secretsVersion === 'forged-2', 'the accepted branch again');
  t.deepEqual(again.notices, []);
});

test('daemon: a bundle whose age recipients were swapped for Vault raises RECIPIENTS_CHANGED and never runs sops', async (t) => {
  const d = await daemonFixture(t);
  // a sops on PATH that records every call: it must never be run
  const bin = path.join(d.dir, 'bin');
  await mkdir(bin);
  const calls = path.join(d.dir, 'sops-calls.log');
  await writeFile(path.join(bin, 'sops'), `#!/bin/sh\necho "$@" >> '${calls}'\nenv >> '${calls}'\nexit 1\n`);
  await chmod(path.join(bin, 'sops'), 0o755);
  d.env.PATH = `${bin}${path.delimiter}${d.env.PATH}`;
  d.env.VAULT_TOKEN = 'hvs.users-own-vault-token';

  await d.commitBundle(sampleBundle('2026.11.1'), 'team bundle');
  await d.start();
  await d.waitFor((s) => s.state === 'fresh' && s.secretsVersion === '2026.11.1', 'fresh');
  const good = await d.readEnv();

  const text = await readFile(d.bundle, 'utf8');
  const vault = text.replace(
    /^ {4}age:\n(?: {8}.*\n| {10}.*\n| {14}.*\n)+/m,
    '    hc_vault:\n        - vault_address: http://127.0.0.1:9\n          engine_path: sops\n          key_name: k\n          created_at: "2026-11-30T00:00:00Z"\n          enc: vault:v1:AAAA\n',
  );
  t.not(vault, text);
  await writeFile(d.bundle, vault);
  await git(d.repo, ['commit', '-qam', 'switch to vault']);
  const s = await d.waitFor((st) => st.lastSync?.error?.code === 'E_UNTRUSTED' && st.notices.some((n) => n.code === 'RECIPIENTS_CHANGED'), 'RECIPIENTS_CHANGED');
  t.regex(s.lastSync!.error!.message, /no age recipient \(key types: hc_vault\)/);
  t.regex(s.notices.find((n) => n.code === 'RECIPIENTS_CHANGED')!.message, new RegExp(`removed ${d.recipient}`));
  t.is(await d.readEnv(), good);
  await t.throwsAsync(readFile(calls, 'utf8'), { code: 'ENOENT' }, 'sops was never run');
});
