/**
 * A team repo for the runbook commands: a bundle encrypted with our engine to key A, a `.sops.yaml`
 * with comments and a second, unrelated creation rule, all committed. Plus small readers used by
 * the rotate, purge, doctor and CI-mode tests.
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { execa } from 'execa';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { decrypt, encrypt, isTreeMap, type TreeMap, type TreeValue } from '../../src/sops/index.js';
import { isolatedEnv } from './e2e.js';
import { git, initRepo } from './git.js';
import { tempDir } from './temp.js';

export const BUNDLE_REL = 'config/secrets.enc.yaml';

/** The plain bundle every runbook test starts from. Values are unique strings, easy to scan for. */
export const PLAIN = {
  MCP_SECRETS_VERSION: '2026.01.4',
  openai: { api_key: 'sk-runbook-openai-7f3a9c' },
  anthropic: { api_key: 'sk-ant-runbook-2b8e11' },
  DATABASE_URL: 'postgres://ops:pw-runbook-93ad@db/ops',
};

/** Every secret value of PLAIN (the version is public). */
export const SECRET_VALUES = [PLAIN.openai.api_key, PLAIN.anthropic.api_key, PLAIN.DATABASE_URL];

export interface Key {
  line: string;
  recipient: string;
}

export async function newKey(): Promise<Key> {
  const line = await generateX25519Identity();
  return { line, recipient: await identityToRecipient(line) };
}

export function sopsConfigText(bundleRecipient: string, otherRecipient: string): string {
  return `# Team SOPS rules. The security team reviews every change to this file.
creation_rules:
  # the MCP secrets bundle
  - path_regex: config/secrets\\.enc\\.yaml$
    age: ${bundleRecipient} # current team key
  # infra secrets: another team's key, must never be touched by our rotation
  - path_regex: infra/.*\\.enc\\.yaml$
    age: ${otherRecipient}
`;
}

export interface TeamRepo {
  dir: string;
  repo: string;
  bundle: string;
  home: string;
  keyA: Key;
  other: Key;
  /** An isolated environment (keychain off) plus `extra`. */
  env(extra?: Record<string, string>): Record<string, string>;
}

export async function teamRepo(t: ExecutionContext, plain: Record<string, unknown> = PLAIN): Promise<TeamRepo> {
  const dir = await tempDir(t, 'mcprb-');
  const repo = await initRepo(path.join(dir, 'repo'));
  const bundle = path.join(repo, BUNDLE_REL);
  const [keyA, other] = await Promise.all([newKey(), newKey()]);
  await mkdir(path.dirname(bundle), { recursive: true });
  await writeFile(bundle, await encrypt(plain, { format: 'yaml', recipients: [keyA.recipient] }));
  await writeFile(path.join(repo, '.sops.yaml'), sopsConfigText(keyA.recipient, other.recipient));
  await writeFile(path.join(repo, '.gitignore'), '.env\nconsole-secrets.json\nkeys.txt\n*.dec.*\n');
  await git(repo, ['add', '-A']);
  await git(repo, ['commit', '-q', '-m', 'bundle for key A']);
  return { dir, repo, bundle, home: path.join(dir, 'home'), keyA, other, env: (extra = {}) => isolatedEnv(dir, extra) };
}

/** A decrypted tree as plain JSON-able data (order kept by insertion). */
export function plainOf(value: TreeValue): unknown {
  if (isTreeMap(value)) return Object.fromEntries([...value].map(([k, v]) => [k, plainOf(v)]));
  return value;
}

export async function decryptWith(file: string, keyLine: string): Promise<Record<string, unknown>> {
  const doc: TreeMap = await decrypt(await readFile(file), { format: 'yaml', identities: [keyLine] });
  return plainOf(doc) as Record<string, unknown>;
}

/** The data key inside a SOPS file, unwrapped by the reference `age` binary (for comparing keys, never printed). */
export async function dataKeyWithAgeCli(dir: string, file: string, keyLine: string): Promise<Buffer> {
  const text = await readFile(file, 'utf8');
  const armored = /enc: \|\n((?:\s+.*\n)+?)\s+-----END AGE ENCRYPTED FILE-----/.exec(text);
  if (!armored) throw new Error(`no age stanza in ${file}`);
  const stanza = `${armored[1]!.replace(/^\s+/gm, '')}-----END AGE ENCRYPTED FILE-----\n`;
  const keyFile = path.join(dir, `k-${process.pid}-${Math.random().toString(36).slice(2)}.txt`);
  await writeFile(keyFile, `${keyLine}\n`, { mode: 0o600 });
  const r = await execa('age', ['-d', '-i', keyFile], { input: stanza, encoding: 'buffer', reject: false });
  await execa('rm', ['-f', keyFile]);
  if (r.exitCode !== 0) throw new Error(`age -d failed (${r.exitCode})`);
  return Buffer.from(r.stdout);
}

/** The `ENC[…]` strings of a SOPS YAML file, in file order. */
export function ciphertexts(text: string): string[] {
  return [...text.matchAll(/ENC\[AES256_GCM,[^\]]+\]/g)].map((m) => m[0]);
}

/** Files under `dir` (recursively) whose bytes contain any of `needles`. */
export async function filesContaining(dir: string, needles: readonly string[], skip: (p: string) => boolean = () => false): Promise<string[]> {
  const hits: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const p = path.join(e.parentPath, e.name);
    if (!e.isFile() || skip(p)) continue;
    const text = await readFile(p, 'latin1');
    if (needles.some((n) => text.includes(n))) hits.push(p);
  }
  return hits;
}

/** The first `AGE-SECRET-KEY-1…` in `text`, or null. */
export function secretKeyIn(text: string): string | null {
  return /AGE-SECRET-KEY-1[0-9A-Z]+/.exec(text)?.[0] ?? null;
}
