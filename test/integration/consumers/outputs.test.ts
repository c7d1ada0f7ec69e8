/**
 * The outputs registry through the real sync pipeline (in process): real sops bundles, a real git
 * repo, real files in a private home, the real `.env` readers. The default config gives today's
 * two files byte for byte; a repo config's outputs are rendered with their profile and dialect,
 * published together, consented to, deleted when dropped, and all wiped by `purge`.
 */
import test, { type ExecutionContext } from 'ava';
import { existsSync } from 'node:fs';
import { readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { planFor, syncOnce } from '../../../src/bundle/sync-once.js';
import { renderEnv } from '../../../src/render/env.js';
import { renderConsole } from '../../../src/render/console.js';
import { toEntries } from '../../../src/render/entries.js';
import { decrypt } from '../../../src/sops/index.js';
import { OUTPUTS_RECORD } from '../../../src/bundle/outputs.js';
import { isAppError } from '../../../src/errors.js';
import { readWithBash, readWithDotenv } from '../../helpers/env-readers.js';
import { isolatedEnv, runCli } from '../../helpers/e2e.js';
import { git } from '../../helpers/git.js';
import { ageRepo } from '../../helpers/age-repo.js';

const TRICKY = `it's a "quoted" $HOME`;
const BUNDLE = {
  MCP_SECRETS_VERSION: '2026.12.1',
  gemini: { api_key: 'gm-outputs-secret-1' },
  openai: { api_key: 'sk-outputs-secret-2' },
  DATABASE_URL: 'postgres://u:db-outputs-secret-3@db/app',
};
const THREE_OUTPUTS = [
  'version: 1',
  'profiles:',
  '  gemini: {include: ["GEMINI_*", TRICKY_VALUE]}',
  '  openai: {providers: [openai]}',
  'outputs:',
  '  - {file: .env, format: env, profile: openai}',
  '  - {file: gemini.env, format: env, profile: gemini, dialect: bash}',
  '  - {file: openai.json, format: json, profile: openai}',
  '',
].join('\n');

async function setup(t: ExecutionContext, doc: Record<string, unknown> = BUNDLE) {
  const { dir, repo, home, bundle, identity, recipient, lineage } = await ageRepo(t, 'mcp-outputs-', { sopsConfig: false });
  await writeFile(bundle, await lineage.seal(doc));
  await git(repo, ['add', '-A']);
  await git(repo, ['commit', '-q', '-m', 'bundle']);
  const env = isolatedEnv(dir, {});
  const plan = planFor(repo, 'config/secrets.enc.yaml', home, 'auto');
  const deps = {
    identities: async () => ({ identities: [{ line: identity, recipient, source: 'env' as const, origin: 'SOPS_AGE_KEY' }], attempts: [] }),
    env,
  };
  const sync = (extra: { acceptConfig?: boolean } = {}) => syncOnce(plan, { ...deps, ...extra });
  const writeConfig = (text: string) => writeFile(path.join(repo, '.mcp-secrets.yaml'), text);
  return { dir, repo, home, bundle, identity, env, lineage, sync, writeConfig };
}

test('without a repo config the two outputs are byte-identical to rendering them directly, and home gets no new file', async (t) => {
  const f = await setup(t);
  const result = await f.sync();
  const bytes = await readFile(f.bundle);
  const doc = await decrypt(bytes, { format: 'yaml', identities: [f.identity] });
  const entries = toEntries(doc, { sourcePath: 'config/secrets.enc.yaml' });
  const source = { path: 'config/secrets.enc.yaml', sha256: result.sourceSha256 };
  t.deepEqual(await readFile(path.join(f.home, '.env')), Buffer.from(renderEnv(entries, source)));
  t.deepEqual(await readFile(path.join(f.home, 'console-secrets.json')), Buffer.from(renderConsole(entries, { ...source, commit: result.commit })));
  t.deepEqual((await readdir(f.home)).sort(), ['.env', 'console-secrets.json', 'trust.json']);
  t.deepEqual(result.outputs.map((o) => [o.kind, o.format, o.file]), [['env', 'env', '.env'], ['console', 'secretstore', 'console-secrets.json']]);
});

test('each configured output carries its profile in its format and dialect, read back by the real readers', async (t) => {
  const f = await setup(t, { ...BUNDLE, TRICKY_VALUE: TRICKY });
  await f.writeConfig(THREE_OUTPUTS);
  const result = await f.sync();
  t.deepEqual(result.outputs.map((o) => o.file), ['.env', 'gemini.env', 'openai.json']);
  t.deepEqual(await readWithBash(path.join(f.home, 'gemini.env'), ['GEMINI_API_KEY', 'TRICKY_VALUE', 'OPENAI_API_KEY']), {
    GEMINI_API_KEY: 'gm-outputs-secret-1',
    TRICKY_VALUE: TRICKY,
    OPENAI_API_KEY: undefined,
  });
  t.deepEqual(await readWithDotenv(path.join(f.home, '.env')), { OPENAI_API_KEY: 'sk-outputs-secret-2' });
  t.deepEqual(JSON.parse(await readFile(path.join(f.home, 'openai.json'), 'utf8')), { OPENAI_API_KEY: 'sk-outputs-secret-2' });
  for (const name of ['.env', 'gemini.env', 'openai.json']) t.is((await stat(path.join(f.home, name))).mode & 0o777, 0o600, name);
  // a first sync in this home: the record holds exactly the configured outputs
  const record = JSON.parse(await readFile(path.join(f.home, OUTPUTS_RECORD), 'utf8')) as { outputs: string[] };
  t.deepEqual(record.outputs, ['.env', 'gemini.env', 'openai.json']);
});

test('a value the compat dialect cannot carry fails the whole publish, and the last good outputs stay', async (t) => {
  const f = await setup(t);
  await f.sync();
  const before = await readFile(path.join(f.home, '.env'));
  await writeFile(f.bundle, await f.lineage.seal({ ...BUNDLE, TRICKY_VALUE: TRICKY }));
  await f.writeConfig(THREE_OUTPUTS.replace('{file: .env, format: env, profile: openai}', '{file: .env, format: env}'));
  const error = await t.throwsAsync(f.sync());
  t.true(isAppError(error) && error.code === 'E_UNREPRESENTABLE', String(error));
  t.deepEqual(await readFile(path.join(f.home, '.env')), before);
  t.false(existsSync(path.join(f.home, 'gemini.env')));
});

test('a repo config that adds an output or widens a profile is refused until accepted; a narrowing is used at once', async (t) => {
  const f = await setup(t);
  await f.writeConfig('version: 1\nprofiles:\n  gemini: {include: ["GEMINI_*"]}\noutputs:\n  - {file: .env, format: env}\n  - {file: gemini.env, format: env, profile: gemini}\n');
  await f.sync(); // first version seen: trusted and recorded
  const gemini = await readFile(path.join(f.home, 'gemini.env'), 'utf8');
  t.true(gemini.includes('GEMINI_API_KEY='));

  await f.writeConfig('version: 1\nprofiles:\n  gemini: {include: ["GEMINI_*", DATABASE_URL]}\noutputs:\n  - {file: .env, format: env}\n  - {file: gemini.env, format: env, profile: gemini}\n  - {file: all.json, format: json}\n');
  const error = await t.throwsAsync(f.sync());
  t.true(isAppError(error) && error.code === 'E_UNTRUSTED', String(error));
  t.regex(error!.message, /new output all\.json/);
  t.regex(error!.message, /profile gemini now also selects DATABASE_URL/);
  t.regex(isAppError(error) ? error.hint ?? '' : '', /--accept-config/);
  t.false(error!.message.includes('db-outputs-secret-3'));
  t.false(existsSync(path.join(f.home, 'all.json')), 'the new output is not written');
  t.is(await readFile(path.join(f.home, 'gemini.env'), 'utf8'), gemini, 'the widened profile is not used');

  // the CLI says the same, exit 2, and --accept-config then publishes it
  const refused = await runCli(['sync', '--repo', f.repo, '--home', f.home], { env: { ...f.env, SOPS_AGE_KEY: f.identity, MCP_SECRETS_KEYCHAIN: 'none' } });
  t.is(refused.code, 2, refused.stderr);
  t.regex(refused.stderr, /E_UNTRUSTED/);
  const accepted = await runCli(['sync', '--repo', f.repo, '--home', f.home, '--accept-config'], { env: { ...f.env, SOPS_AGE_KEY: f.identity, MCP_SECRETS_KEYCHAIN: 'none' } });
  t.is(accepted.code, 0, accepted.stderr);
  t.true((await readFile(path.join(f.home, 'gemini.env'), 'utf8')).includes('DATABASE_URL='));
  t.true(existsSync(path.join(f.home, 'all.json')));

  // narrowing: used at once, the dropped output deleted
  await f.writeConfig('version: 1\nprofiles:\n  gemini: {include: ["GEMINI_*"]}\noutputs:\n  - {file: gemini.env, format: env, profile: gemini}\n');
  const narrowed = await f.sync();
  t.deepEqual(narrowed.removed.sort(), [path.join(f.home, '.env'), path.join(f.home, 'all.json')].sort());
  t.deepEqual((await readdir(f.home)).sort(), [OUTPUTS_RECORD, 'gemini.env', 'trust.json'].sort());
  t.false((await readFile(path.join(f.home, 'gemini.env'), 'utf8')).includes('DATABASE_URL='));
});

test('removing the repo config deletes its extra outputs and the record, back to the two default files', async (t) => {
  const f = await setup(t);
  await f.writeConfig(THREE_OUTPUTS.replace(', TRICKY_VALUE', ''));
  await f.sync();
  t.true(existsSync(path.join(f.home, 'openai.json')));
  await rm(path.join(f.repo, '.mcp-secrets.yaml'));
  const result = await f.sync();
  t.deepEqual(result.removed.sort(), [path.join(f.home, 'gemini.env'), path.join(f.home, 'openai.json')].sort());
  t.deepEqual((await readdir(f.home)).sort(), ['.env', 'console-secrets.json', 'trust.json']);
});

test('purge removes every output ever written to home, and the record', async (t) => {
  const f = await setup(t);
  await f.writeConfig(THREE_OUTPUTS.replace(', TRICKY_VALUE', ''));
  await f.sync();
  // an output written by an earlier config and still held (the record lists it)
  await f.writeConfig(THREE_OUTPUTS.replace(', TRICKY_VALUE', '').replace('  - {file: openai.json, format: json, profile: openai}\n', '  - {file: openai.json, format: json, profile: openai}\n  - {file: console-secrets.json, format: secretstore}\n'));
  await t.throwsAsync(f.sync()); // a new output: needs consent; nothing changes
  await f.sync({ acceptConfig: true });
  const before = (await readdir(f.home)).sort();
  t.deepEqual(before, ['.env', OUTPUTS_RECORD, 'console-secrets.json', 'gemini.env', 'openai.json', 'trust.json'].sort());
  const purge = await runCli(['purge', '--keep-identity', '--home', f.home, '--socket', path.join(f.dir, 'none.sock')], { env: { ...f.env, MCP_SECRETS_KEYCHAIN: 'none' } });
  t.is(purge.code, 0, purge.stderr);
  t.deepEqual((await readdir(f.home)).sort(), ['trust.json']);
  t.regex(purge.stdout, /removed .*gemini\.env/);
});
