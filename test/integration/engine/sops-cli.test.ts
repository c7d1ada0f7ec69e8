import test from 'ava';
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { generateX25519Identity } from 'age-encryption';
import { AppError } from '../../../src/errors.js';
import { createSopsCliEngine } from '../../../src/engine/sops-cli.js';
import { chooseEngine, isSopsAvailable } from '../../../src/engine/select.js';
import type { DecryptEngine } from '../../../src/engine/types.js';
import { makeFakeSops, type FakeSops } from './fake-sops.js';

const BUNDLE = '/repo/config/secrets.enc.yaml';

async function withFake(t: { teardown(fn: () => Promise<void>): void }): Promise<FakeSops> {
  const fake = await makeFakeSops();
  t.teardown(() => rm(fake.dir, { recursive: true, force: true }));
  return fake;
}

/** The child's environment; FAKE_SOPS_* settings go to the fake's settings file (sops gets no such variable). */
function baseEnv(fake: FakeSops, extra: Record<string, string> = {}): Record<string, string> {
  const all: Record<string, string> = { PATH: process.env.PATH ?? '', FAKE_SOPS_LOG: fake.log, FAKE_SOPS_OUTPUT: fake.output, ...extra };
  fake.configure(Object.fromEntries(Object.entries(all).filter(([k]) => k.startsWith('FAKE_SOPS_'))));
  return Object.fromEntries(Object.entries(all).filter(([k]) => !k.startsWith('FAKE_SOPS_')));
}

const AGE_BUNDLE = { ageRecipients: ['age1qqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqqq'], otherKeyTypes: [] };

function assertNoSecret(t: { false(v: boolean, m?: string): void }, error: AppError, secrets: string[]): void {
  const text = [error.message, error.hint ?? '', JSON.stringify(error.details ?? {}), JSON.stringify(error.toJSON())].join('\n');
  for (const s of secrets) t.false(text.includes(s), `error text carries ${s.slice(0, 18)}…`);
  t.false(/AGE-SECRET-KEY-1[0-9A-Z]{20,}/i.test(text), 'error text carries a key-shaped string');
}

test('decrypts through a sops found on PATH and keeps integer-like keys in document order', async (t) => {
  const fake = await withFake(t);
  const identity = await generateX25519Identity();
  const engine = createSopsCliEngine({ bundleKeys: AGE_BUNDLE, env: baseEnv(fake, { PATH: `${fake.dir}${path.delimiter}${process.env.PATH ?? ''}`, FAKE_SOPS_EXPECT_KEY: identity }) });
  t.is(engine.name, 'sops');
  const tree = await engine.decrypt({ bytes: new Uint8Array(), path: BUNDLE, format: 'yaml', identities: [identity] });
  t.deepEqual([...tree.keys()], ['10', '2', 'b', 'list', 'MCP_SECRETS_VERSION']);
  const b = tree.get('b');
  t.true(b instanceof Map);
  t.deepEqual([...(b as Map<string, unknown>).entries()], [['1', 'one'], ['a', 1]]);
  t.deepEqual(tree.get('list'), [1, true, null, 'x']);
  t.is(tree.get('MCP_SECRETS_VERSION'), '2026.11.3');
});

test('calls sops with the contract argv and never puts an identity on it', async (t) => {
  const fake = await withFake(t);
  const identities = [await generateX25519Identity(), await generateX25519Identity()];
  const engine = createSopsCliEngine({ bundleKeys: AGE_BUNDLE, binary: fake.binary, env: baseEnv(fake, { FAKE_SOPS_EXPECT_KEY: identities.join('\n') }) });
  await engine.decrypt({ bytes: new Uint8Array(), path: BUNDLE, format: 'dotenv', identities });
  const calls = await fake.calls();
  t.is(calls.length, 1);
  t.deepEqual(calls[0]?.argv, ['--decrypt', '--input-type', 'dotenv', '--output-type', 'json', BUNDLE]);
  const recorded = JSON.stringify(calls);
  for (const id of identities) t.false(recorded.includes(id));
  t.false(recorded.includes('AGE-SECRET-KEY'));
});

test('passes several identities to sops one a line in SOPS_AGE_KEY only', async (t) => {
  const fake = await withFake(t);
  const identities = [await generateX25519Identity(), await generateX25519Identity()];
  // The fake exits 3 unless SOPS_AGE_KEY is exactly the newline-joined identities.
  const engine = createSopsCliEngine({ bundleKeys: AGE_BUNDLE, binary: fake.binary, env: baseEnv(fake, { FAKE_SOPS_EXPECT_KEY: identities.join('\n'), SOPS_AGE_KEY: 'AGE-SECRET-KEY-1INHERITEDANDWRONG' }) });
  await t.notThrowsAsync(engine.decrypt({ bytes: new Uint8Array(), path: BUNDLE, format: 'json', identities }));
});

test('reports E_NO_IDENTITY with sops own words when no identity reaches it', async (t) => {
  const fake = await withFake(t);
  const engine = createSopsCliEngine({ bundleKeys: AGE_BUNDLE, binary: fake.binary, env: baseEnv(fake) });
  const error = await t.throwsAsync(engine.decrypt({ bytes: new Uint8Array(), path: BUNDLE, format: 'yaml', identities: [] }), { instanceOf: AppError });
  t.is(error?.code, 'E_NO_IDENTITY');
  t.true(error?.message.includes(BUNDLE));
  t.true(error?.message.includes('Failed to get the data key'));
  t.regex(error?.hint ?? '', /identity import/);
});

test('masks an age secret key that sops echoes in its error', async (t) => {
  const fake = await withFake(t);
  const identity = await generateX25519Identity();
  const engine = createSopsCliEngine({ bundleKeys: AGE_BUNDLE, binary: fake.binary, env: baseEnv(fake, { FAKE_SOPS_MODE: 'leak' }) });
  const error = await t.throwsAsync(engine.decrypt({ bytes: new Uint8Array(), path: BUNDLE, format: 'yaml', identities: [identity] }), { instanceOf: AppError });
  t.is(error?.code, 'E_NO_IDENTITY');
  t.true(error?.message.includes('failed to parse identity'));
  assertNoSecret(t, error!, [identity, identity.slice('AGE-SECRET-KEY-1'.length, 40)]);
});

test('maps exit 51 with MAC mismatch to E_MAC_MISMATCH without colour codes', async (t) => {
  const fake = await withFake(t);
  const engine = createSopsCliEngine({ bundleKeys: AGE_BUNDLE, binary: fake.binary, env: baseEnv(fake, { FAKE_SOPS_MODE: 'mac' }) });
  const error = await t.throwsAsync(engine.decrypt({ bytes: new Uint8Array(), path: BUNDLE, format: 'yaml', identities: [await generateX25519Identity()] }), { instanceOf: AppError });
  t.is(error?.code, 'E_MAC_MISMATCH');
  t.true(error?.message.includes('MAC mismatch. File has 4E5F, computed 12AB'));
  t.false(error?.message.includes('\u001b'));
  t.false(error?.message.includes('[31m'));
});

test('reports any other sops failure as E_SOPS_CLI with the first lines of its message', async (t) => {
  const fake = await withFake(t);
  const engine = createSopsCliEngine({ bundleKeys: AGE_BUNDLE, binary: fake.binary, env: baseEnv(fake, { FAKE_SOPS_MODE: 'generic' }) });
  const error = await t.throwsAsync(engine.decrypt({ bytes: new Uint8Array(), path: BUNDLE, format: 'yaml', identities: [await generateX25519Identity()] }), { instanceOf: AppError });
  t.is(error?.code, 'E_SOPS_CLI');
  t.true(error?.message.includes('exit 1'));
  t.true(error?.message.includes('did not find expected key'));
});

test('never echoes plaintext when sops prints output that is not JSON', async (t) => {
  const fake = await withFake(t);
  const engine = createSopsCliEngine({ bundleKeys: AGE_BUNDLE, binary: fake.binary, env: baseEnv(fake, { FAKE_SOPS_MODE: 'garbage' }) });
  const error = await t.throwsAsync(engine.decrypt({ bytes: new Uint8Array(), path: BUNDLE, format: 'yaml', identities: [await generateX25519Identity()] }), { instanceOf: AppError });
  t.is(error?.code, 'E_SOPS_CLI');
  assertNoSecret(t, error!, ['sk-live-PLAINTEXT-VALUE', 'PLAINTEXT']);
  t.is(error?.cause, undefined);
});

test('kills a sops that never finishes and says it timed out', async (t) => {
  const fake = await withFake(t);
  const engine = createSopsCliEngine({ bundleKeys: AGE_BUNDLE, binary: fake.binary, timeoutMs: 400, env: baseEnv(fake, { FAKE_SOPS_MODE: 'hang' }) });
  const error = await t.throwsAsync(engine.decrypt({ bytes: new Uint8Array(), path: BUNDLE, format: 'yaml', identities: [await generateX25519Identity()] }), { instanceOf: AppError });
  t.is(error?.code, 'E_SOPS_CLI');
  t.regex(error?.message ?? '', /did not finish within 400 ms/);
  const pid = (await fake.calls())[0]?.pid;
  t.truthy(pid);
  t.throws(() => process.kill(pid!, 0), { code: 'ESRCH' }, 'the child is gone');
});

test('explains how to get sops when the binary is missing', async (t) => {
  const engine = createSopsCliEngine({ bundleKeys: AGE_BUNDLE, binary: '/nonexistent/dir/sops', env: { PATH: '/nonexistent' } });
  const error = await t.throwsAsync(engine.decrypt({ bytes: new Uint8Array(), path: BUNDLE, format: 'yaml', identities: [] }), { instanceOf: AppError });
  t.is(error?.code, 'E_SOPS_CLI');
  t.regex(error?.message ?? '', /sops binary not found/);
  t.regex(error?.hint ?? '', /install sops/);
  t.regex(error?.hint ?? '', /--engine native/);
});

test('finds a runnable sops by its version and not a missing one', async (t) => {
  const fake = await withFake(t);
  t.true(await isSopsAvailable(fake.binary, baseEnv(fake)));
  t.false(await isSopsAvailable(path.join(fake.dir, 'absent-sops'), baseEnv(fake)));
});

const USER_ENV = {
  HOME: '/home/someone',
  VAULT_TOKEN: 'hvs.users-own-vault-token',
  VAULT_ADDR: 'https://vault.team.example',
  AWS_ACCESS_KEY_ID: 'AKIAUSERSOWN',
  AWS_SECRET_ACCESS_KEY: 'users-own-aws-secret',
  GOOGLE_APPLICATION_CREDENTIALS: '/home/someone/gcp.json',
  SOPS_AGE_KEY_FILE: '/home/someone/keys.txt',
  LD_PRELOAD: '/tmp/not-for-sops.so',
  NODE_OPTIONS: '--require /tmp/not-for-sops.js',
  GITHUB_TOKEN: 'ghp_users_own_token',
};

async function dumpedEnv(file: string): Promise<Record<string, string>> {
  return JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
}

test('auto never runs sops for a bundle with no age recipient (a Vault-only bundle from a pull)', async (t) => {
  const fake = await withFake(t);
  const native: DecryptEngine = { name: 'native', decrypt: () => Promise.reject(new Error('native must not be used')) };
  const keys = { ageRecipients: [], otherKeyTypes: ['hc_vault'] };
  const error = await t.throwsAsync(
    chooseEngine('auto', keys, { native, sops: () => createSopsCliEngine({ bundleKeys: keys, binary: fake.binary, env: baseEnv(fake, USER_ENV) }) }, {
      sopsAvailable: () => isSopsAvailable(fake.binary, baseEnv(fake)),
    }),
    { instanceOf: AppError },
  );
  t.is(error?.code, 'E_UNTRUSTED');
  t.regex(error?.message ?? '', /no age recipient \(key types: hc_vault\)/);
  t.regex(error?.hint ?? '', /--engine sops/);
  t.deepEqual(await fake.calls(), [], 'the sops binary was not even probed');
});

test('--engine sops gives a Vault-only bundle the Vault variables and no age key, AWS key, loader or Node variable', async (t) => {
  const fake = await withFake(t);
  const dump = path.join(fake.dir, 'env.json');
  const keys = { ageRecipients: [], otherKeyTypes: ['hc_vault'] };
  const native: DecryptEngine = { name: 'native', decrypt: () => Promise.reject(new Error('native must not be used')) };
  const engine = await chooseEngine(
    'sops',
    keys,
    { native, sops: () => createSopsCliEngine({ bundleKeys: keys, binary: fake.binary, env: baseEnv(fake, { ...USER_ENV, FAKE_SOPS_NEED_AGE: '0', FAKE_SOPS_ENV_DUMP: dump }) }) },
    { sopsAvailable: () => isSopsAvailable(fake.binary, baseEnv(fake)) },
  );
  t.is(engine.name, 'sops');
  const identity = await generateX25519Identity();
  const tree = await engine.decrypt({ bytes: new Uint8Array(), path: BUNDLE, format: 'yaml', identities: [identity] });
  t.is(tree.get('MCP_SECRETS_VERSION'), '2026.11.3');
  const env = await dumpedEnv(dump);
  t.is(env.VAULT_TOKEN, USER_ENV.VAULT_TOKEN);
  t.is(env.VAULT_ADDR, USER_ENV.VAULT_ADDR);
  t.is(env.HOME, USER_ENV.HOME);
  for (const name of ['SOPS_AGE_KEY', 'SOPS_AGE_KEY_FILE', 'AWS_SECRET_ACCESS_KEY', 'AWS_ACCESS_KEY_ID', 'GOOGLE_APPLICATION_CREDENTIALS', 'LD_PRELOAD', 'NODE_OPTIONS', 'GITHUB_TOKEN']) {
    t.false(name in env, `${name} reached sops`);
  }
  t.false(JSON.stringify(env).includes(identity), 'the age identity reached sops');
});

test('an age bundle opened by --engine sops gets SOPS_AGE_KEY and no cloud or Vault credential', async (t) => {
  const fake = await withFake(t);
  const dump = path.join(fake.dir, 'env.json');
  const identity = await generateX25519Identity();
  const engine = createSopsCliEngine({ bundleKeys: AGE_BUNDLE, binary: fake.binary, env: baseEnv(fake, { ...USER_ENV, FAKE_SOPS_ENV_DUMP: dump }) });
  await engine.decrypt({ bytes: new Uint8Array(), path: BUNDLE, format: 'yaml', identities: [identity] });
  const env = await dumpedEnv(dump);
  t.is(env.SOPS_AGE_KEY, identity);
  for (const name of ['VAULT_TOKEN', 'AWS_SECRET_ACCESS_KEY', 'GOOGLE_APPLICATION_CREDENTIALS', 'SOPS_AGE_KEY_FILE', 'LD_PRELOAD', 'NODE_OPTIONS', 'GITHUB_TOKEN']) t.false(name in env, `${name} reached sops`);
});
