/**
 * `mcp-secrets rotate` end to end, in a temp git repo, with the built CLI: the old key is locked
 * out, the new one opens, values survive, `.sops.yaml` keeps its other rules and comments, the
 * evidence file carries no secret, and the result decrypts with the independent sops-age too.
 */
import test from 'ava';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse } from 'yaml';
import { decryptSops } from 'sops-age';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { decrypt, encrypt, toOrderedJson } from '../../src/sops/index.js';
import { git, initRepo, isolatedEnv, runCli, tempDir } from '../helpers/e2e.js';

const VALUES = { MCP_SECRETS_VERSION: '2026.11.3', openai: { api_key: 'sk-rotate-test-openai-0123456789' }, OPS_TOKEN: 'ops-rotate-test-token-abcdef' };
const SOPS_YAML = (recipient: string) => `# policy: changes need the security team
creation_rules:
  # the MCP bundle
  - path_regex: config/secrets\\.enc\\.yaml$
    age: ${recipient}
  # another project's files, untouched
  - path_regex: other/.*\\.yaml$
    pgp: 0123456789ABCDEF
`;

async function rotationRepo(t: Parameters<typeof tempDir>[0]) {
  const dir = await tempDir(t);
  const repo = await initRepo(path.join(dir, 'repo'));
  await mkdir(path.join(repo, 'config'));
  const oldKey = await generateIdentity();
  const oldRecipient = await identityToRecipient(oldKey);
  await writeFile(path.join(repo, '.sops.yaml'), SOPS_YAML(oldRecipient));
  await writeFile(path.join(repo, 'config', 'secrets.enc.yaml'), await encrypt(VALUES, { format: 'yaml', recipients: [oldRecipient] }));
  await git(repo, ['add', '-A']);
  await git(repo, ['commit', '-qm', 'bundle']);
  const bundle = path.join(repo, 'config', 'secrets.enc.yaml');
  return { dir, repo, bundle, oldKey, oldRecipient, env: isolatedEnv(dir, { SOPS_AGE_KEY: oldKey }) };
}

function newKeyFrom(stdout: string): string {
  const line = stdout.split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-1'));
  if (!line) throw new Error('no new key printed');
  return line;
}

test('rotate replaces the key: old one locked out, new one opens, values kept, version bumped, evidence written', async (t) => {
  const r0 = await rotationRepo(t);
  const r = await runCli(['rotate', '--ticket', 'TASK-OPS-301'], { env: r0.env, cwd: r0.repo });
  t.is(r.code, 0, r.stderr);
  const newKey = newKeyFrom(r.stdout);
  t.is(r.stdout.split(newKey).length, 2, 'the new key is printed exactly once');
  const newRecipient = await identityToRecipient(newKey);

  const bytes = await readFile(r0.bundle);
  await t.throwsAsync(decrypt(bytes, { format: 'yaml', identities: [r0.oldKey] }), { message: /age|identity|recipient/i });
  const opened = await decrypt(bytes, { format: 'yaml', identities: [newKey] });
  const plain = JSON.parse(toOrderedJson(opened)) as typeof VALUES;
  t.is(plain.openai.api_key, VALUES.openai.api_key);
  t.is(plain.OPS_TOKEN, VALUES.OPS_TOKEN);
  t.regex(plain.MCP_SECRETS_VERSION, /^\d{4}\.\d{2}\.\d+$/);
  t.not(plain.MCP_SECRETS_VERSION, VALUES.MCP_SECRETS_VERSION);

  // the independent oracle agrees
  const oracle = (await decryptSops(bytes.toString('utf8'), { secretKey: newKey, fileType: 'yaml' })) as typeof VALUES;
  t.is(oracle.openai.api_key, VALUES.openai.api_key);

  // .sops.yaml: the new recipient, the other rule and the comments kept
  const config = await readFile(path.join(r0.repo, '.sops.yaml'), 'utf8');
  t.true(config.includes('# policy: changes need the security team') && config.includes("# another project's files, untouched"));
  const rules = (parse(config) as { creation_rules: Record<string, string>[] }).creation_rules;
  t.is(rules[0]!.age, newRecipient);
  t.is(rules[1]!.pgp, '0123456789ABCDEF');

  // evidence: public facts only
  const evidenceDir = path.join(r0.repo, 'docs', 'evidence', 'TASK-OPS-301');
  const [evidenceFile] = await readdir(evidenceDir);
  const evidence = await readFile(path.join(evidenceDir, evidenceFile!), 'utf8');
  t.true(evidence.includes(r0.oldRecipient) && evidence.includes(newRecipient));
  for (const secret of [newKey, r0.oldKey, VALUES.openai.api_key, VALUES.OPS_TOKEN]) t.false(evidence.includes(secret));

  // with the old key, sync now says which key is needed
  const stale = await runCli(['sync', '--json', '--home', path.join(r0.dir, 'home')], { env: r0.env, cwd: r0.repo });
  t.is(stale.code, 2);
  t.is((JSON.parse(stale.stdout) as { error: { code: string } }).error.code, 'E_IDENTITY_MISMATCH');
  const fresh = await runCli(['sync', '--home', path.join(r0.dir, 'home')], { env: isolatedEnv(r0.dir, { SOPS_AGE_KEY: newKey }), cwd: r0.repo });
  t.is(fresh.code, 0, fresh.stderr);
});

test('rotate --rotate-data-key re-encrypts every value; --recipient adds a given key and prints no secret', async (t) => {
  const r0 = await rotationRepo(t);
  const before = await readFile(r0.bundle, 'utf8');
  const other = await identityToRecipient(await generateIdentity());
  const r = await runCli(['rotate', '--ticket', 'OPS-1', '--recipient', other, '--rotate-data-key'], { env: r0.env, cwd: r0.repo });
  t.is(r.code, 0, r.stderr);
  t.false(r.stdout.includes('AGE-SECRET-KEY-'), 'nothing secret printed when the recipient is given');
  const after = await readFile(r0.bundle, 'utf8');
  const ciphertexts = (text: string) => [...text.matchAll(/data:([A-Za-z0-9+/=]+)/g)].map((m) => m[1]);
  const overlap = ciphertexts(after).filter((c) => ciphertexts(before).includes(c));
  t.deepEqual(overlap, [], 'every ciphertext changed');
  const opened = JSON.parse(toOrderedJson(await decrypt(after, { format: 'yaml', identities: [r0.oldKey] }))) as typeof VALUES;
  t.is(opened.OPS_TOKEN, VALUES.OPS_TOKEN, 'the given recipient was added alongside the old one');
  t.true(after.includes(other));
});

test('rotate --store-cmd hands the key to the command on stdin only; a failing one changes nothing', async (t) => {
  const r0 = await rotationRepo(t);
  const stored = path.join(r0.dir, 'vault.txt');
  const before = await readFile(r0.bundle);
  const failing = await runCli(['rotate', '--ticket', 'OPS-2', '--store-cmd', 'exit 3'], { env: r0.env, cwd: r0.repo });
  t.is(failing.code, 2);
  t.regex(failing.stderr, /--store-cmd failed/);
  t.deepEqual(await readFile(r0.bundle), before, 'nothing changed');
  const r = await runCli(['rotate', '--ticket', 'OPS-2', '--store-cmd', `cat > '${stored}'`], { env: r0.env, cwd: r0.repo });
  t.is(r.code, 0, r.stderr);
  const key = (await readFile(stored, 'utf8')).trim();
  t.regex(key, /^AGE-SECRET-KEY-1[0-9A-Z]+$/);
  t.false(r.stdout.includes(key), 'not on stdout');
  await t.notThrowsAsync(decrypt(await readFile(r0.bundle), { format: 'yaml', identities: [key] }));
});

test('rotate --dry-run shows the plan and writes nothing', async (t) => {
  const r0 = await rotationRepo(t);
  const before = await readFile(r0.bundle);
  const r = await runCli(['rotate', '--ticket', 'OPS-3', '--dry-run'], { env: r0.env, cwd: r0.repo });
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /dry run: nothing generated, nothing written/);
  t.false(r.stdout.includes('AGE-SECRET-KEY-'));
  t.deepEqual(await readFile(r0.bundle), before);
  t.is((await git(r0.repo, ['status', '--porcelain'])).trim(), '');
});

test('rotate needs a ticket and refuses bad recipients with a usage error', async (t) => {
  const r0 = await rotationRepo(t);
  t.is((await runCli(['rotate'], { env: r0.env, cwd: r0.repo })).code, 64);
  const bad = await runCli(['rotate', '--ticket', 'X-1', '--recipient', 'not-a-key'], { env: r0.env, cwd: r0.repo });
  t.is(bad.code, 64);
  t.regex(bad.stderr, /not an age recipient/);
});
