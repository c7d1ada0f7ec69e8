/**
 * CI mode (`sync --skip-without-identity`) and the runbook's entry points (`scripts/secrets-sync.sh`,
 * `make secrets-sync`), through the built CLI on a temp repo.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { repoRoot, runCli } from '../helpers/e2e.js';
import { PLAIN, teamRepo } from '../helpers/runbook.js';

const SKIPPED = /^mcp-secrets: skipped: no age identity configured .*; outputs left as they were$/;

test('skips with exit 0 and writes nothing when no identity is configured anywhere', async (t) => {
  const r = await teamRepo(t);
  const result = await runCli(['sync', '--skip-without-identity', '--repo', r.repo, '--home', r.home], { env: r.env() });
  t.is(result.code, 0, result.stderr);
  t.regex(result.stdout, SKIPPED);
  t.false(existsSync(r.home), 'no home, no outputs');

  const json = await runCli(['sync', '--skip-without-identity', '--json', '--repo', r.repo, '--home', r.home], { env: r.env() });
  t.is(json.code, 0);
  t.like(JSON.parse(json.stdout), { ok: true, skipped: true });
});

test('skips when SOPS_AGE_KEY is set but empty, as GitHub gives forks', async (t) => {
  const r = await teamRepo(t);
  for (const empty of ['', '\n', '  ']) {
    const result = await runCli(['sync', '--skip-without-identity', '--repo', r.repo, '--home', r.home], { env: r.env({ SOPS_AGE_KEY: empty }) });
    t.is(result.code, 0, result.stderr);
    t.regex(result.stdout, SKIPPED);
  }
  t.false(existsSync(r.home));
});

test('without the flag, no identity is a failure (exit 2, E_NO_IDENTITY)', async (t) => {
  const r = await teamRepo(t);
  const result = await runCli(['sync', '--repo', r.repo, '--home', r.home], { env: r.env({ SOPS_AGE_KEY: '' }) });
  t.is(result.code, 2);
  t.regex(result.stderr, /E_NO_IDENTITY/);
});

test('with a key, the flag syncs normally, and a tampered bundle still fails (exit 2) without touching the outputs', async (t) => {
  const r = await teamRepo(t);
  const env = r.env({ SOPS_AGE_KEY: r.keyA.line });
  const good = await runCli(['sync', '--skip-without-identity', '--repo', r.repo, '--home', r.home], { env });
  t.is(good.code, 0, good.stderr);
  t.regex(good.stdout, /^mcp-secrets: synced config\/secrets\.enc\.yaml/);
  const before = await readFile(path.join(r.home, '.env'));

  const text = await readFile(r.bundle, 'utf8');
  const at = text.indexOf('ENC[AES256_GCM,data:') + 'ENC[AES256_GCM,data:'.length;
  await writeFile(r.bundle, text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1));
  const bad = await runCli(['sync', '--skip-without-identity', '--repo', r.repo, '--home', r.home], { env });
  t.is(bad.code, 2);
  t.regex(bad.stderr, /E_(DECRYPT|MAC_MISMATCH)/);
  t.notRegex(bad.stdout, /skipped/);
  t.deepEqual(await readFile(path.join(r.home, '.env')), before);
});

test('scripts/secrets-sync.sh and `make secrets-sync` publish the outputs (MCP_HOME, ARGS passed through)', async (t) => {
  const r = await teamRepo(t);
  const root = repoRoot();
  const home1 = path.join(r.dir, 'home-script');
  const script = await execa('bash', [path.join(root, 'scripts', 'secrets-sync.sh')], {
    cwd: r.repo,
    env: r.env({ MCP_HOME: home1, SOPS_AGE_KEY: r.keyA.line }),
    extendEnv: false,
    reject: false,
  });
  t.is(script.exitCode, 0, script.stderr);
  // trust.json: the data key pinned on first use (docs/security.md, "Trust in the bundle")
  t.deepEqual((await readdir(home1)).sort(), ['.env', 'console-secrets.json', 'trust.json']);
  t.true((await readFile(path.join(home1, '.env'), 'utf8')).includes(PLAIN.openai.api_key));

  const home2 = path.join(r.dir, 'home-make');
  const make = await execa('make', ['--no-print-directory', '-C', root, 'secrets-sync', `ARGS=--repo ${r.repo} --json`], {
    env: r.env({ MCP_HOME: home2, SOPS_AGE_KEY: r.keyA.line }),
    extendEnv: false,
    reject: false,
  });
  t.is(make.exitCode, 0, make.stderr);
  t.like(JSON.parse(make.stdout.slice(make.stdout.indexOf('{'))), { ok: true, entries: 4, secretsVersion: PLAIN.MCP_SECRETS_VERSION });
  t.deepEqual((await readdir(home2)).sort(), ['.env', 'console-secrets.json', 'trust.json']);

  const skipped = await execa('make', ['--no-print-directory', '-C', root, 'secrets-sync', `ARGS=--repo ${r.repo} --skip-without-identity`], {
    env: r.env({ MCP_HOME: path.join(r.dir, 'home-skip') }),
    extendEnv: false,
    reject: false,
  });
  t.is(skipped.exitCode, 0, skipped.stderr);
  t.regex(skipped.stdout, /skipped: no age identity configured/);
  t.false(existsSync(path.join(r.dir, 'home-skip')));
});
