import test from 'ava';
import { randomBytes, createHash } from 'node:crypto';
import { lstat, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AppError } from '../../../src/errors.js';
import { acceptDataKey, checkDataKey, dataKeyDigest, DataKeyChangedError, TRUST_FILE } from '../../../src/trust/data-keys.js';

async function home(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcp-trust-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return path.join(dir, 'home');
}

const BUNDLE = '/repo/config/secrets.enc.yaml';

test('the digest is domain-separated: not the plain sha256 of the key', (t) => {
  const key = randomBytes(32);
  const digest = dataKeyDigest(key);
  t.regex(digest, /^[0-9a-f]{64}$/);
  t.not(digest, createHash('sha256').update(key).digest('hex'));
  t.is(digest, dataKeyDigest(Uint8Array.from(key)));
  t.not(digest, dataKeyDigest(randomBytes(32)));
});

test('first use, then known; another key is a change until accepted; per bundle path', async (t) => {
  const h = await home(t);
  const [a, b] = [dataKeyDigest(randomBytes(32)), dataKeyDigest(randomBytes(32))];
  t.is(await checkDataKey(h, BUNDLE, a), 'first-use');
  await acceptDataKey(h, BUNDLE, a);
  t.is(await checkDataKey(h, BUNDLE, a), 'known');
  t.is(await checkDataKey(h, BUNDLE, b), 'changed');
  t.is(await checkDataKey(h, '/other/repo/config/secrets.enc.yaml', b), 'first-use');
  await acceptDataKey(h, BUNDLE, b);
  t.is(await checkDataKey(h, BUNDLE, a), 'known', 'both branches stay accepted');
  t.is(await checkDataKey(h, BUNDLE, b), 'known');
});

test('the trust file is 0600, holds digests only and never the key', async (t) => {
  const h = await home(t);
  const key = randomBytes(32);
  await acceptDataKey(h, BUNDLE, dataKeyDigest(key));
  const file = path.join(h, TRUST_FILE);
  t.is((await lstat(file)).mode & 0o777, 0o600);
  t.is((await lstat(h)).mode & 0o777, 0o700);
  const text = await readFile(file, 'utf8');
  t.true(text.includes(dataKeyDigest(key)));
  for (const form of [key.toString('hex'), key.toString('base64'), createHash('sha256').update(key).digest('hex')]) t.false(text.includes(form));
});

test('a corrupt, symlinked or loosened trust file is an error, never "no pins"', async (t) => {
  const h = await home(t);
  await acceptDataKey(h, BUNDLE, dataKeyDigest(randomBytes(32)));
  const file = path.join(h, TRUST_FILE);
  await writeFile(file, '{"kind":"mcp-secrets-trust","version":1,"dataKeys":{"x":["nothex"]}}');
  t.is((await t.throwsAsync(checkDataKey(h, BUNDLE, 'a'.repeat(64)), { instanceOf: AppError }))?.code, 'E_PARSE');
  await writeFile(file, 'not json');
  t.is((await t.throwsAsync(checkDataKey(h, BUNDLE, 'a'.repeat(64)), { instanceOf: AppError }))?.code, 'E_PARSE');
  await rm(file);
  await symlink('/dev/zero', file);
  t.is((await t.throwsAsync(checkDataKey(h, BUNDLE, 'a'.repeat(64)), { instanceOf: AppError }))?.code, 'E_INSECURE_PATH');
});

test('the change error says how to accept and carries the digest only out of sight', (t) => {
  const digest = dataKeyDigest(randomBytes(32));
  const error = new DataKeyChangedError('config/secrets.enc.yaml', BUNDLE, digest);
  t.is(error.code, 'E_UNTRUSTED');
  t.is(error.pendingDigest, digest);
  t.regex(error.hint ?? '', /sync --accept-data-key/);
  t.regex(error.hint ?? '', /status --ack/);
  t.false(JSON.stringify([error, error.toJSON(), error.details, Object.keys(error)]).includes(digest));
});
