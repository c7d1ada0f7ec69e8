import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseRepoConfig } from '../../../src/config/repo-config.js';
import { acceptConfigGrant, checkConfigGrant, ConfigWidenedError } from '../../../src/trust/config-grants.js';
import { acceptDataKey, checkDataKey, dataKeyDigest, TRUST_FILE } from '../../../src/trust/data-keys.js';

async function home(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcp-grants-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return path.join(dir, 'home');
}

const FILE = '/repo/.mcp-secrets.yaml';
const config = async (profiles: string) => ({ ...(await parseRepoConfig(`version: 1\nprofiles:\n${profiles}`, FILE)), file: FILE });

test('the first config seen is first-use; once recorded it is known, narrower is known, wider names each widening', async (t) => {
  const h = await home(t);
  const v1 = await config('  gemini: {include: ["GEMINI_*", DATABASE_URL]}\n');
  const first = await checkConfigGrant(h, v1);
  t.is(first.verdict, 'first-use');
  await acceptConfigGrant(h, FILE, first.grant);
  t.is((await checkConfigGrant(h, v1)).verdict, 'known');
  t.is((await checkConfigGrant(h, await config('  gemini: {include: ["GEMINI_*"]}\n'))).verdict, 'known');
  const wider = await checkConfigGrant(h, await config('  gemini: {include: ["GEMINI_*", DATABASE_URL, OPENAI_API_KEY]}\n  ops: {providers: [ops]}\n'));
  t.is(wider.verdict, 'widened');
  t.deepEqual(wider.verdict === 'widened' ? wider.widening : [], ['profile gemini now also selects OPENAI_API_KEY', 'new profile ops (provider ops)']);
  const error = new ConfigWidenedError(FILE, '/repo', wider.verdict === 'widened' ? wider.widening : [], wider.grant);
  t.is(error.code, 'E_UNTRUSTED');
  t.regex(error.describe(), /--accept-config/);
});

test('data-key pins and config grants live side by side in trust.json: recording one keeps the other', async (t) => {
  const h = await home(t);
  const digest = dataKeyDigest(randomBytes(32));
  const v1 = await config('  gemini: {providers: [gemini]}\n');
  await acceptConfigGrant(h, FILE, (await checkConfigGrant(h, v1)).grant);
  await acceptDataKey(h, '/repo/config/secrets.enc.yaml', digest);
  t.is((await checkConfigGrant(h, v1)).verdict, 'known', 'accepting a data key kept the grant');
  await acceptConfigGrant(h, FILE, (await checkConfigGrant(h, await config('  gemini: {providers: [gemini, openai]}\n'))).grant);
  t.is(await checkDataKey(h, '/repo/config/secrets.enc.yaml', digest), 'known', 'accepting a config kept the pin');
  const stored = await readFile(path.join(h, TRUST_FILE), 'utf8');
  t.regex(stored, /"configs"/);
});

test('a trust file written before config grants existed (no "configs") still reads; a malformed grant is an error', async (t) => {
  const h = await home(t);
  await mkdir(h, { mode: 0o700 });
  await writeFile(path.join(h, TRUST_FILE), '{"kind":"mcp-secrets-trust","version":1,"dataKeys":{}}', { mode: 0o600 });
  t.is((await checkConfigGrant(h, await config('  gemini: {providers: [gemini]}\n'))).verdict, 'first-use');
  await writeFile(path.join(h, TRUST_FILE), '{"kind":"mcp-secrets-trust","version":1,"dataKeys":{},"configs":{"/x":{"profiles":3}}}', { mode: 0o600 });
  await t.throwsAsync(checkConfigGrant(h, await config('  gemini: {providers: [gemini]}\n')), { code: 'E_PARSE' });
});
