/**
 * End-to-end proofs of the fixture × sync matrix: the built CLI (a real process) on a few real
 * sops files, one per way a sync ends. Every fixture runs through the same sync path in process
 * (integration/bundle/sync-matrix.test.ts); these prove the CLI around it: exit codes, the code
 * on stderr and in `--json`, and no secret value on stdout, stderr or in any file of the run (its
 * own TMPDIR and HOME included) but the two outputs.
 */
import test from 'ava';
import { readFile, readdir, copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import dotenv from 'dotenv';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { encrypt } from '../../src/sops/index.js';
import { allowedCodesFor, listNegativeCases, positiveCase, type FixtureCase } from '../helpers/fixtures.js';
import { filesHoldingSecrets, firstKeyLine, syncCodesFor, syncExpectation } from '../helpers/sync-expectations.js';
import { isolatedEnv, runCli } from '../helpers/e2e.js';
import { tempDir } from '../helpers/temp.js';

/** One fixture for each way a sync of a positive case ends (see syncExpectation). */
const POSITIVE_PROOFS: readonly FixtureCase[] = [
  positiveCase('yaml-helm-secrets-multiline'), // published (multi-line values)
  positiveCase('json-sops-example'), // refused: E_UNSUPPORTED_VALUE (lists)
  positiveCase('yaml-terragrunt-key-with-space'), // refused: E_UNREPRESENTABLE
];

/** A wrong key (E_IDENTITY_MISMATCH) and a tampered bundle (E_MAC_MISMATCH). */
const NEGATIVE_PROOFS: readonly string[] = ['wrong-key', 'mac-mismatch-cleartext-edited'];

for (const c of POSITIVE_PROOFS) {
  test(`sync publishes the values of ${c.id}`, async (t) => {
    const expectation = syncExpectation(c);
    const dir = await tempDir(t);
    const repo = path.join(dir, 'repo');
    await mkdir(repo);
    const source = path.basename(c.encryptedPath);
    await copyFile(c.encryptedPath, path.join(repo, source));
    const tmp = path.join(dir, 'tmp');
    await mkdir(tmp);
    const env = isolatedEnv(dir, { SOPS_AGE_KEY_FILE: c.keysPath, TMPDIR: tmp });
    const home = path.join(dir, 'home');
    const r = await runCli(['sync', '--repo', repo, '--source', source, '--home', home, '--no-cache-identity'], { env });
    const nothingWritten = async (): Promise<string[]> => ((await readdir(dir)).includes('home') ? readdir(home) : []);
    if (expectation.kind === 'unsupported') {
      t.is(r.code, 2);
      t.true(r.stderr.includes('E_UNSUPPORTED_VALUE'), r.stderr);
      t.deepEqual(await nothingWritten(), []);
      return;
    }
    if (expectation.kind === 'unrepresentable') {
      t.is(r.code, 2);
      t.true(r.stderr.includes('E_UNREPRESENTABLE') && r.stderr.includes(expectation.name), r.stderr);
      t.deepEqual(await nothingWritten(), [], 'nothing written');
      return;
    }
    t.is(r.code, 0, r.stderr);
    const parsed = dotenv.parse(await readFile(path.join(home, '.env')));
    const store = JSON.parse(await readFile(path.join(home, 'console-secrets.json'), 'utf8')) as { secrets: { name: string; value: string }[] };
    t.deepEqual(Object.entries(parsed), expectation.entries);
    t.deepEqual(store.secrets.map((s) => [s.name, s.value]), expectation.entries);

    // the bundle itself may hold cleartext values (unencrypted_suffix, encrypted_regex): it is not ours to scan;
    // Node 24's compile cache holds compiled code of our modules and libraries, where a fixture's
    // plain word ("example") can occur as program text: never data the process read
    const ours = (p: string): boolean =>
      p === path.join(home, '.env') || p === path.join(home, 'console-secrets.json') || p === path.join(repo, source) || p.includes(`${path.sep}mcp-secrets${path.sep}compile-cache${path.sep}`);
    t.deepEqual(await filesHoldingSecrets(dir, expectation.secrets, ours), []);
    for (const s of expectation.secrets) t.false(r.stdout.includes(s) || r.stderr.includes(s), 'no value on stdout or stderr');
  });
}

for (const c of listNegativeCases().filter((n) => NEGATIVE_PROOFS.includes(n.id))) {
  test(`sync refuses ${c.id}, exits 2 with its code and keeps the earlier outputs byte-identical`, async (t) => {
    const dir = await tempDir(t);
    const repo = path.join(dir, 'repo');
    await mkdir(repo);
    const home = path.join(dir, 'home');
    // a good bundle first, with its own key
    const identity = await generateIdentity();
    const good = await encrypt({ MCP_SECRETS_VERSION: 'good', OPENAI_API_KEY: 'sk-good-value-123456' }, { format: 'yaml', recipients: [await identityToRecipient(identity)] });
    await writeFile(path.join(repo, 'good.enc.yaml'), good);
    const okRun = await runCli(['sync', '--repo', repo, '--source', 'good.enc.yaml', '--home', home], { env: isolatedEnv(dir, { SOPS_AGE_KEY: identity }) });
    t.is(okRun.code, 0, okRun.stderr);
    const before = [await readFile(path.join(home, '.env')), await readFile(path.join(home, 'console-secrets.json'))];

    const source = `bad${path.extname(c.encryptedPath)}`;
    await copyFile(c.encryptedPath, path.join(repo, source));
    const r = await runCli(['sync', '--repo', repo, '--source', source, '--home', home, '--no-cache-identity', '--json'], {
      env: isolatedEnv(dir, { SOPS_AGE_KEY_FILE: c.keysPath }),
    });
    t.is(r.code, 2, r.stdout + r.stderr);
    const error = (JSON.parse(r.stdout) as { error: { code: string; message: string } }).error;
    const allowed = syncCodesFor(allowedCodesFor(c));
    t.true(allowed.includes(error.code), `${error.code} not in ${allowed.join(', ')}`);
    t.deepEqual([await readFile(path.join(home, '.env')), await readFile(path.join(home, 'console-secrets.json'))], before);
    t.deepEqual((await readdir(home)).filter((f) => f.startsWith('.mcp-secrets-tmp')), []);
    // nothing of the bad bundle's plaintext: the message names files, paths and codes only
    const keyLine = await firstKeyLine(c.keysPath);
    if (keyLine) t.false(r.stdout.includes(keyLine) || r.stderr.includes(keyLine));
  });
}

test('the end-to-end proofs name negative cases the corpus holds', (t) => {
  const ids = listNegativeCases().map((n) => n.id);
  t.deepEqual(NEGATIVE_PROOFS.filter((id) => !ids.includes(id)), []);
});
