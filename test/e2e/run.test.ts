/**
 * `mcp-secrets run` end to end (DESIGN.md "Consumers"): the built CLI starts real child processes.
 * Exit codes (the child's own, 126/127, 128+n), signals passed on, stdio byte-exact, every
 * fail-closed case with a marker file proving the child never started and nothing on stdout, no
 * SOPS_AGE_* in the child, nothing secret on disk, `--mask` on stderr.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { encrypt } from '../../src/sops/index.js';
import { BundleLineage } from '../helpers/sops-edit.js';
import { CLI, eventually, isolatedEnv } from '../helpers/e2e.js';
import { initRepo } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';

const BUNDLE = {
  MCP_SECRETS_VERSION: '2026.12.1',
  gemini: { api_key: 'gm-run-secret-value-1' },
  openai: { api_key: 'sk-run-openai-secret-2' },
  DATABASE_URL: 'postgres://user:db-run-secret-3@db/app',
};
const SECRETS = ['gm-run-secret-value-1', 'sk-run-openai-secret-2', 'db-run-secret-3'];
const PROFILES_V1 = 'version: 1\nprofiles:\n  gemini: {include: ["GEMINI_*", DATABASE_URL]}\n';
const PROFILES_NARROWER = 'version: 1\nprofiles:\n  gemini: {include: ["GEMINI_*"]}\n';
const PROFILES_WIDER = 'version: 1\nprofiles:\n  gemini: {include: ["GEMINI_*", DATABASE_URL, OPENAI_API_KEY]}\n';

interface Fixture {
  dir: string;
  repo: string;
  home: string;
  bundle: string;
  identity: string;
  lineage: BundleLineage;
  env: Record<string, string>;
  marker: string;
  /** Runs `mcp-secrets run --repo --home …args` with stdout and stderr as bytes. */
  run(args: string[], opts?: { input?: Buffer; env?: Record<string, string> }): Promise<{ code: number; stdout: Buffer; stderr: string }>;
}

async function fixture(t: ExecutionContext, doc: Record<string, unknown> = BUNDLE): Promise<Fixture> {
  const dir = await tempDir(t, 'mcp-run-');
  const repo = await initRepo(path.join(dir, 'repo'));
  const home = path.join(dir, 'home');
  const bundle = path.join(repo, 'config', 'secrets.enc.yaml');
  await mkdir(path.dirname(bundle), { recursive: true });
  await mkdir(path.join(dir, 'tmp'));
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  await writeFile(path.join(repo, '.sops.yaml'), `creation_rules:\n  - path_regex: config/secrets\\.enc\\.yaml$\n    age: ${recipient}\n`);
  const lineage = new BundleLineage(identity, () => [recipient]);
  await writeFile(bundle, await lineage.seal(doc));
  // the README tells users to export SOPS_AGE_KEY_CMD; a key file too: none may reach the child
  const keyFile = path.join(dir, 'keys.txt');
  await writeFile(keyFile, `${identity}\n`, { mode: 0o600 });
  const env = isolatedEnv(dir, { SOPS_AGE_KEY: identity, SOPS_AGE_KEY_FILE: keyFile, SOPS_AGE_KEY_CMD: `cat ${keyFile}`, TMPDIR: path.join(dir, 'tmp') });
  const marker = path.join(dir, 'child-started');
  return {
    dir,
    repo,
    home,
    bundle,
    identity,
    lineage,
    env,
    marker,
    async run(args, opts = {}) {
      const r = await execa(process.execPath, [CLI, 'run', '--repo', repo, '--home', home, ...args], {
        env: opts.env ?? env,
        extendEnv: false,
        cwd: dir,
        input: opts.input ?? Buffer.alloc(0),
        encoding: 'buffer',
        stripFinalNewline: false,
        reject: false,
        timeout: 60_000,
      });
      return { code: r.exitCode ?? -1, stdout: Buffer.from(r.stdout), stderr: Buffer.from(r.stderr).toString('utf8') };
    },
  };
}

/** A child that proves it started (the marker) and prints its environment as JSON on stdout. */
function envChild(marker: string): string[] {
  return [process.execPath, '-e', `require('fs').writeFileSync(${JSON.stringify(marker)}, 'started'); process.stdout.write(JSON.stringify(process.env))`];
}

function childEnv(stdout: Buffer): Record<string, string> {
  return JSON.parse(stdout.toString('utf8')) as Record<string, string>;
}

test('the child gets its profile\'s entries and the parent environment, and no SOPS_AGE_* variable at all', async (t) => {
  const f = await fixture(t);
  await writeFile(path.join(f.repo, '.mcp-secrets.yaml'), PROFILES_V1);
  const r = await f.run(['--profile', 'gemini', '--', ...envChild(f.marker)]);
  t.is(r.code, 0, r.stderr);
  const env = childEnv(r.stdout);
  t.is(env.GEMINI_API_KEY, 'gm-run-secret-value-1');
  t.is(env.DATABASE_URL, 'postgres://user:db-run-secret-3@db/app');
  t.false('OPENAI_API_KEY' in env);
  t.false('MCP_SECRETS_VERSION' in env);
  t.is(env.HOME, f.env.HOME, 'the parent environment is kept');
  t.deepEqual(Object.keys(env).filter((k) => k.startsWith('SOPS_AGE_')), []);
  t.false(JSON.stringify(env).includes(f.identity), 'no age key anywhere in the child environment');
  t.false(JSON.stringify(env).includes('AGE-SECRET-KEY-1'));
});

test('no selector hands every entry; --only and --provider add up; the bundle value wins unless --preserve-env', async (t) => {
  const f = await fixture(t);
  const all = childEnv((await f.run(['--', ...envChild(f.marker)])).stdout);
  t.is(all.OPENAI_API_KEY, 'sk-run-openai-secret-2');
  t.is(all.DATABASE_URL, 'postgres://user:db-run-secret-3@db/app');
  t.is(all.MCP_SECRETS_VERSION, '2026.12.1');

  const union = childEnv((await f.run(['--only', 'DATABASE_*,MCP_SECRETS_VERSION', '--provider', 'openai', '--', ...envChild(f.marker)])).stdout);
  t.deepEqual(['DATABASE_URL', 'GEMINI_API_KEY', 'MCP_SECRETS_VERSION', 'OPENAI_API_KEY'].filter((k) => k in union), ['DATABASE_URL', 'MCP_SECRETS_VERSION', 'OPENAI_API_KEY']);

  const stale = { ...f.env, OPENAI_API_KEY: 'stale-exported-value' };
  t.is(childEnv((await f.run(['--provider', 'openai', '--', ...envChild(f.marker)], { env: stale })).stdout).OPENAI_API_KEY, 'sk-run-openai-secret-2');
  t.is(childEnv((await f.run(['--preserve-env', '--provider', 'openai', '--', ...envChild(f.marker)], { env: stale })).stdout).OPENAI_API_KEY, 'stale-exported-value');
});

test('run returns the child\'s exit code, 127 for a missing command, 126 for a non-executable one, and 128+n for death by signal n', async (t) => {
  const f = await fixture(t);
  t.is((await f.run(['--', process.execPath, '-e', 'process.exit(7)'])).code, 7);
  const missing = await f.run(['--', 'mcp-no-such-command-here']);
  t.is(missing.code, 127);
  t.regex(missing.stderr, /mcp-no-such-command-here: command not found/);
  const notExec = path.join(f.dir, 'not-executable.sh');
  await writeFile(notExec, '#!/bin/sh\necho hi\n');
  await chmod(notExec, 0o644);
  t.is((await f.run(['--', notExec])).code, 126);
  t.is((await f.run(['--', process.execPath, '-e', "process.kill(process.pid, 'SIGKILL')"])).code, 128 + 9);
  t.is((await f.run(['--', process.execPath, '-e', "process.kill(process.pid, 'SIGTERM')"])).code, 128 + 15);
});

test('SIGTERM sent to run reaches the child, whose own exit code run returns', async (t) => {
  const f = await fixture(t);
  const ready = path.join(f.dir, 'ready');
  const got = path.join(f.dir, 'got-term');
  const script = `const fs = require('fs'); process.on('SIGTERM', () => { fs.writeFileSync(${JSON.stringify(got)}, 'TERM'); process.exit(42); }); fs.writeFileSync(${JSON.stringify(ready)}, 'x'); setInterval(() => {}, 1000);`;
  const child = execa(process.execPath, [CLI, 'run', '--repo', f.repo, '--home', f.home, '--', process.execPath, '-e', script], { env: f.env, extendEnv: false, reject: false, timeout: 60_000 });
  await eventually(() => (existsSync(ready) ? true : undefined), 30_000, 'the child to start');
  child.kill('SIGTERM');
  const r = await child;
  t.is(r.exitCode, 42, r.stderr);
  t.is(await readFile(got, 'utf8'), 'TERM');
});

test('stdin and stdout are the child\'s own: 1 MiB of random bytes round-trip byte-exact, and run adds nothing', async (t) => {
  const f = await fixture(t);
  const payload = randomBytes(1024 * 1024);
  const r = await f.run(['--', process.execPath, '-e', 'process.stdin.pipe(process.stdout)'], { input: payload });
  t.is(r.code, 0, r.stderr);
  t.is(r.stdout.length, payload.length);
  t.true(r.stdout.equals(payload));
  t.is(r.stderr, '');
});

test('--mask replaces selected values in the child\'s stderr, also split across writes, and leaves stdout alone', async (t) => {
  const f = await fixture(t);
  const value = 'sk-run-openai-secret-2';
  const script = `process.stdout.write(${JSON.stringify(value)}); process.stderr.write('key=' + ${JSON.stringify(value.slice(0, 9))}); setTimeout(() => process.stderr.write(${JSON.stringify(value.slice(9))} + ' end\\n'), 200);`;
  const r = await f.run(['--mask', '--provider', 'openai', '--', process.execPath, '-e', script]);
  t.is(r.code, 0, r.stderr);
  t.is(r.stderr, 'key=[masked OPENAI_API_KEY] end\n');
  t.is(r.stdout.toString('utf8'), value);
  const unmasked = await f.run(['--provider', 'openai', '--', process.execPath, '-e', script]);
  t.is(unmasked.stderr, `key=${value} end\n`, 'without --mask stderr is the child\'s, untouched');
});

/** Every fail-closed case: exit code, the error code on stderr, nothing on stdout, the child never started. */
async function refused(t: ExecutionContext, f: Fixture, args: string[], code: number, errorCode: string | RegExp, opts: { asIs?: boolean } = {}): Promise<string> {
  const r = await f.run(opts.asIs ? args : [...args, '--', ...envChild(f.marker)]);
  t.is(r.code, code, r.stderr);
  if (typeof errorCode === 'string') t.true(r.stderr.includes(errorCode), r.stderr);
  else t.regex(r.stderr, errorCode);
  t.is(r.stdout.length, 0, 'nothing on stdout');
  t.false(existsSync(f.marker), 'the child never started');
  return r.stderr;
}

test('a tampered bundle is E_MAC_MISMATCH and the child never starts', async (t) => {
  const f = await fixture(t);
  const text = await readFile(f.bundle, 'utf8');
  const tampered = text.replace(/lastmodified: "(\d{4})/, (_m, y: string) => `lastmodified: "${Number(y) + 1}`);
  t.not(tampered, text);
  await writeFile(f.bundle, tampered);
  await refused(t, f, [], 2, 'E_MAC_MISMATCH');
});

test('a forged bundle with a new data key is E_UNTRUSTED after the first use pinned the old one; accepting it through sync lets run start', async (t) => {
  const f = await fixture(t);
  t.is((await f.run(['--', process.execPath, '-e', '0'])).code, 0, 'first use pins the data key');
  const trust = JSON.parse(await readFile(path.join(f.home, 'trust.json'), 'utf8')) as { dataKeys: Record<string, string[]> };
  t.is(trust.dataKeys[f.bundle]?.length, 1);
  await writeFile(f.bundle, await encrypt({ ...BUNDLE, openai: { api_key: 'sk-attacker-chosen' } }, { format: 'yaml', recipients: [await identityToRecipient(f.identity)] }));
  const stderr = await refused(t, f, [], 2, 'E_UNTRUSTED');
  t.regex(stderr, /data key this machine has not accepted/);
  t.regex(stderr, /sync --accept-data-key/);
  const accept = await execa(process.execPath, [CLI, 'sync', '--repo', f.repo, '--home', f.home, '--accept-data-key'], { env: f.env, extendEnv: false, reject: false });
  t.is(accept.exitCode, 0, accept.stderr);
  t.is(childEnv((await f.run(['--', ...envChild(f.marker)])).stdout).OPENAI_API_KEY, 'sk-attacker-chosen');
});

test('a bundle with a forbidden name is E_FORBIDDEN_NAME and the child never starts', async (t) => {
  const f = await fixture(t, { ...BUNDLE, LD_PRELOAD: '/tmp/evil-preload.so' });
  const stderr = await refused(t, f, ['--only', 'GEMINI_API_KEY'], 2, 'E_FORBIDDEN_NAME');
  t.true(stderr.includes('LD_PRELOAD'));
  t.false(stderr.includes('/tmp/evil-preload.so'), 'the value is never echoed');
});

test('a selector that matches nothing, an unknown profile, a missing -- and --json are usage errors (64) and nothing starts', async (t) => {
  const f = await fixture(t);
  await refused(t, f, ['--only', 'NOPE_*'], 64, /E_USAGE: nothing in the bundle matches --only NOPE_\*/);
  await refused(t, f, ['--only', 'GEMINI_API_KEY,NOT_THERE'], 64, /--only NOT_THERE/);
  await refused(t, f, ['--profile', 'nope'], 64, /unknown profile "nope"/);
  await refused(t, f, envChild(f.marker), 64, /`--` is required/, { asIs: true });
  await refused(t, f, [process.execPath, f.marker], 64, /`--` is required/, { asIs: true });
  await refused(t, f, ['--json'], 64, /E_USAGE/);
  await refused(t, f, ['--'], 64, /no command after `--`/, { asIs: true });
});

test('the first repo config is recorded; a widened one is E_UNTRUSTED naming what it adds until sync --accept-config', async (t) => {
  const f = await fixture(t);
  const configFile = path.join(f.repo, '.mcp-secrets.yaml');
  await writeFile(configFile, PROFILES_V1);
  t.is((await f.run(['--profile', 'gemini', '--', process.execPath, '-e', '0'])).code, 0);
  await writeFile(configFile, PROFILES_WIDER);
  const stderr = await refused(t, f, ['--profile', 'gemini'], 2, 'E_UNTRUSTED');
  t.regex(stderr, /profile gemini now also selects OPENAI_API_KEY/);
  t.regex(stderr, /sync --repo .* --accept-config/);
  // a narrower one needs nothing
  await writeFile(configFile, PROFILES_NARROWER);
  const narrower = await f.run(['--profile', 'gemini', '--', ...envChild(f.marker)]);
  t.is(narrower.code, 0, narrower.stderr);
  t.false('DATABASE_URL' in childEnv(narrower.stdout));
  await rm(f.marker);

  await writeFile(configFile, PROFILES_WIDER);
  const accept = await execa(process.execPath, [CLI, 'sync', '--repo', f.repo, '--home', f.home, '--accept-config'], { env: f.env, extendEnv: false, reject: false });
  t.is(accept.exitCode, 0, accept.stderr);
  t.regex(accept.stderr, /accepted .*\.mcp-secrets\.yaml/);
  const env = childEnv((await f.run(['--profile', 'gemini', '--', ...envChild(f.marker)])).stdout);
  t.is(env.OPENAI_API_KEY, 'sk-run-openai-secret-2');
});

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await filesUnder(p)));
    else if (entry.isFile()) out.push(p);
  }
  return out;
}

test('run writes no secret to disk: home holds only the trust state, and no file anywhere in the test dirs carries a value', async (t) => {
  const f = await fixture(t);
  await writeFile(path.join(f.repo, '.mcp-secrets.yaml'), PROFILES_V1);
  t.is((await f.run(['--', process.execPath, '-e', '0'])).code, 0);
  t.is((await f.run(['--mask', '--profile', 'gemini', '--', process.execPath, '-e', 'process.stderr.write(process.env.GEMINI_API_KEY)'])).code, 0);
  t.deepEqual(await readdir(f.home), ['trust.json']);
  const files = [...(await filesUnder(f.dir))];
  t.true(files.length > 3);
  for (const file of files) {
    const text = await readFile(file, 'utf8');
    for (const secret of SECRETS) t.false(text.includes(secret), `${file} carries a secret value`);
  }
  t.deepEqual(await readdir(path.join(f.dir, 'tmp')), [], 'nothing left in TMPDIR');
});
