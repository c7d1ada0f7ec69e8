/**
 * `mcp-secrets doctor` on a real machine set-up (repo, outputs, daemon): a healthy one fails no
 * check, and each broken set-up is reported as a failure (or, for a stopped daemon, a warning)
 * with its fix. sops, age and gitleaks are looked for, but only ever as warnings.
 */
import test from 'ava';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { daemonFixture, sampleBundle, type DaemonFixture } from '../helpers/daemon.js';
import { runCli } from '../helpers/e2e.js';
import { git } from '../helpers/git.js';

interface Check {
  id: string;
  level: 'ok' | 'warn' | 'fail';
  message: string;
  fix?: string;
}

const GITIGNORE = '.env\nconsole-secrets.json\nkeys.txt\n*.dec.*\n';

/** A repo with a .gitignore and a bundle, and outputs published by a one-shot sync (no daemon). */
async function setUp(t: ExecutionContext): Promise<DaemonFixture> {
  const d = await daemonFixture(t);
  await writeFile(path.join(d.repo, '.gitignore'), GITIGNORE);
  await d.commitBundle(sampleBundle('2026.02.1'), 'bundle');
  const synced = await runCli(['sync', '--repo', d.repo, '--home', d.home], { env: d.env });
  t.is(synced.code, 0, synced.stderr);
  return d;
}

async function doctor(d: DaemonFixture, env: Record<string, string> = d.env): Promise<{ code: number; ok: boolean; checks: Check[]; text: string }> {
  const r = await runCli(['doctor', '--json', '--repo', d.repo, '--home', d.home, '--socket', d.socket], { env });
  const parsed = JSON.parse(r.stdout) as { ok: boolean; checks: Check[] };
  return { code: r.code, ...parsed, text: r.stdout + r.stderr };
}

function check(checks: Check[], id: string): Check {
  const found = checks.find((c) => c.id === id);
  if (!found) throw new Error(`no check ${id} in ${checks.map((c) => c.id).join(', ')}`);
  return found;
}

test('finds nothing wrong on a healthy set-up: daemon fresh, identity in env, private modes, .gitignore', async (t) => {
  const d = await setUp(t);
  await d.start();
  await d.waitFor((s) => s.state === 'fresh', 'fresh');
  const r = await doctor(d);
  t.is(r.code, 0, r.text);
  t.true(r.ok);
  t.deepEqual(r.checks.filter((c) => c.level === 'fail'), []);
  for (const id of ['node', 'identity', 'bundle', 'home', 'output:.env', 'output:console-secrets.json', 'socket-dir', 'daemon', 'gitignore']) {
    t.is(check(r.checks, id).level, 'ok', id);
  }
  // missing tools are warnings only
  for (const c of r.checks.filter((c) => c.id.startsWith('bin:'))) t.not(c.level, 'fail');
  t.false(r.text.includes(d.identity), 'the identity is never printed');

  const human = await runCli(['doctor', '--repo', d.repo, '--home', d.home, '--socket', d.socket], { env: d.env });
  t.is(human.code, 0);
  t.regex(human.stdout, /^ok {4}Node /m);
  t.regex(human.stdout, /^ok {4}daemon \d+ running, outputs fresh \(secrets 2026\.02\.1\)$/m);
});

const broken: { title: string; id: string; level?: 'fail' | 'warn'; fix: RegExp; breakIt(d: DaemonFixture): Promise<Record<string, string> | void> }[] = [
  { title: 'a home with mode 0755', id: 'home', fix: /^chmod 700 /, breakIt: (d) => chmod(d.home, 0o755) },
  { title: 'an output with mode 0644', id: 'output:.env', fix: /^chmod 600 .*\.env$/, breakIt: (d) => chmod(path.join(d.home, '.env'), 0o644) },
  {
    title: 'no identity at all',
    id: 'identity',
    fix: /mcp-secrets identity import/,
    breakIt: async (d) => {
      const { SOPS_AGE_KEY: _k, ...env } = d.env;
      return env;
    },
  },
  {
    title: 'a tampered bundle (one ciphertext character flipped)',
    id: 'bundle',
    fix: /restore it from git/,
    breakIt: async (d) => {
      const text = await readFile(d.bundle, 'utf8');
      const at = text.indexOf('ENC[AES256_GCM,data:') + 'ENC[AES256_GCM,data:'.length;
      await writeFile(d.bundle, text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1));
    },
  },
  { title: 'the daemon down', id: 'daemon', level: 'warn', fix: /mcp-secrets service install/, breakIt: async () => undefined },
  {
    title: 'a .gitignore that misses .env',
    id: 'gitignore',
    fix: /add to \.gitignore: \.env$/,
    breakIt: async (d) => {
      await writeFile(path.join(d.repo, '.gitignore'), GITIGNORE.replace('.env\n', ''));
      await git(d.repo, ['commit', '-qam', 'drop .env from .gitignore']);
    },
  },
  {
    title: 'a socket directory with mode 0755',
    id: 'socket-dir',
    fix: /^chmod 700 /,
    breakIt: async (d) => {
      const { mkdir } = await import('node:fs/promises');
      await mkdir(path.dirname(d.socket), { recursive: true });
      await chmod(path.dirname(d.socket), 0o755);
    },
  },
];

for (const b of broken) {
  test(`reports ${b.title} with its fix`, async (t) => {
    const d = await setUp(t);
    const env = (await b.breakIt(d)) ?? d.env;
    const r = await doctor(d, env);
    const c = check(r.checks, b.id);
    const level = b.level ?? 'fail';
    t.is(c.level, level, `${c.message}`);
    t.regex(c.fix ?? '', b.fix);
    t.is(r.ok, level !== 'fail');
    t.is(r.code, level === 'fail' ? 2 : 0);
    t.false(r.text.includes(d.identity) || r.text.includes('sk-test-openai'), 'no secret in the report');
  });
}
