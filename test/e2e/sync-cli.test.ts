import test from 'ava';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { encrypt } from '../../src/sops/index.js';
import { isolatedEnv, runCli } from '../helpers/e2e.js';
import { initRepo, git } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';

async function repoWithBundle(t: Parameters<typeof tempDir>[0]) {
  const dir = await tempDir(t);
  const repo = await initRepo(path.join(dir, 'repo'));
  await mkdir(path.join(repo, 'config'));
  const identity = await generateIdentity();
  const doc = { MCP_SECRETS_VERSION: '2026.11.3', openai: { api_key: 'sk-cli-test-value-0123456789' }, GLM_KEY: 'glm-cli-test-value-0123' };
  await writeFile(path.join(repo, 'config', 'secrets.enc.yaml'), await encrypt(doc, { format: 'yaml', recipients: [await identityToRecipient(identity)] }));
  await git(repo, ['add', '-A']);
  await git(repo, ['commit', '-qm', 'bundle']);
  return { dir, repo, identity, home: path.join(dir, 'home') };
}

test('sync from inside the repo writes both outputs 0600, then leaves byte-equal outputs alone', async (t) => {
  const { dir, repo, identity, home } = await repoWithBundle(t);
  const env = isolatedEnv(dir, { SOPS_AGE_KEY: identity, MCP_HOME: home });
  const first = await runCli(['sync'], { env, cwd: path.join(repo, 'config') });
  t.is(first.code, 0, first.stderr);
  t.regex(first.stdout, /synced config\/secrets\.enc\.yaml \(commit [0-9a-f]{12}\)/);
  t.regex(first.stdout, /entries: 3 {3}secrets version: 2026\.11\.3 {3}identity: env age1/);
  t.regex(first.stdout, /\.env +written/);
  t.is((await stat(path.join(home, '.env'))).mode & 0o777, 0o600);
  t.is((await stat(home)).mode & 0o777, 0o700);
  const second = await runCli(['sync'], { env, cwd: repo });
  t.regex(second.stdout, /\.env +unchanged/);
  t.regex(second.stdout, /console-secrets\.json +unchanged/);
  for (const out of [first.stdout, first.stderr, second.stdout]) t.false(out.includes('cli-test-value'), 'no value printed');
});

test('sync --json prints the summary without any value', async (t) => {
  const { dir, repo, identity, home } = await repoWithBundle(t);
  const r = await runCli(['sync', '--json', '--repo', repo, '--home', home], { env: isolatedEnv(dir, { SOPS_AGE_KEY: identity }) });
  t.is(r.code, 0, r.stderr);
  const json = JSON.parse(r.stdout) as Record<string, unknown>;
  t.is(json.ok, true);
  t.is(json.entries, 3);
  t.is(json.secretsVersion, '2026.11.3');
  t.false('secretValues' in json);
  t.false(r.stdout.includes('cli-test-value'));
  // no digest of an output (plaintext) either
  const { createHash } = await import('node:crypto');
  const { readFile } = await import('node:fs/promises');
  for (const name of ['.env', 'console-secrets.json']) {
    const digest = createHash('sha256').update(await readFile(path.join(home, name))).digest('hex');
    t.false(r.stdout.includes(digest), name);
  }
  t.deepEqual(Object.keys((json.outputs as Record<string, unknown>[])[0]!).sort(), ['kind', 'path']);
});

test('outside a git repo without --repo, sync fails with E_NO_REPO and exit 2', async (t) => {
  const dir = await tempDir(t);
  const r = await runCli(['sync', '--json'], { env: isolatedEnv(dir), cwd: dir });
  t.is(r.code, 2);
  t.is((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'E_NO_REPO');
});

test('a usage error exits 64 and names the flag', async (t) => {
  const dir = await tempDir(t);
  const r = await runCli(['sync', '--engine', 'magic'], { env: isolatedEnv(dir), cwd: dir });
  t.is(r.code, 64);
  t.regex(r.stderr, /option '--engine <MODE>' argument 'magic' is invalid\. Allowed choices are auto, native, sops/);
});
