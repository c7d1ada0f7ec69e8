/**
 * The whole sync path on real sops files: for every positive fixture that is a map of scalars or
 * nested maps, `mcp-secrets sync` (the built CLI, a real process) writes outputs whose values equal
 * the expected plaintext; every negative fixture exits 2 with its code and leaves the earlier
 * outputs byte-identical; and no secret value appears anywhere but the two outputs.
 */
import test from 'ava';
import { readFile, readdir, copyFile, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import dotenv from 'dotenv';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { encrypt } from '../../src/sops/index.js';
import { envFormOf } from '../../src/render/env.js';
import { allowedCodesFor, readExpectedJson, checkCorpus, fixturesDir, listNegativeCases, listPositiveCases } from '../helpers/fixtures.js';
import { isolatedEnv, runCli } from '../helpers/e2e.js';
import { tempDir } from '../helpers/temp.js';

/** The entries DESIGN.md derives from a plain tree (order kept), computed independently of src/render. */
function expectedEntries(tree: unknown, prefix: string[] = [], out: [string, string][] = []): [string, string][] | null {
  if (Array.isArray(tree)) return null;
  if (tree instanceof Map) {
    for (const [k, v] of tree) if (expectedEntries(v, [...prefix, String(k)], out) === null) return null;
    return out;
  }
  const name = prefix.join('_').toUpperCase().replace(/[^A-Z0-9_]/g, '_');
  out.push([name, tree === null ? '' : String(tree)]);
  return out;
}


async function scanForSecrets(dir: string, secrets: string[], skip: (p: string) => boolean): Promise<string[]> {
  const hits: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const p = path.join(e.parentPath, e.name);
    if (!e.isFile() || skip(p)) continue;
    const text = await readFile(p, 'latin1');
    for (const s of secrets) if (text.includes(s)) hits.push(p);
  }
  return hits;
}

for (const c of listPositiveCases()) {
  test(`sync publishes the values of ${c.id}`, async (t) => {
    const expected = readExpectedJson(c.expectedJsonPath!);
    const entries = expectedEntries(expected);
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
    if (entries === null || (expected instanceof Map && expected.has('data_base64'))) {
      // lists, and bytes that are not UTF-8, have no place in .env: refused, naming the path
      t.is(r.code, 2);
      t.true(r.stderr.includes('E_UNSUPPORTED_VALUE'), r.stderr);
      t.deepEqual(await nothingWritten(), []);
      return;
    }
    const unrepresentable = entries.find(([, v]) => envFormOf(v) === null);
    if (unrepresentable) {
      // e.g. `\\` or a CR: no .env quoting reads back the same in dotenv, bash and python-dotenv
      t.is(r.code, 2);
      t.true(r.stderr.includes('E_UNREPRESENTABLE') && r.stderr.includes(unrepresentable[0]), r.stderr);
      t.deepEqual(await nothingWritten(), [], 'nothing written');
      return;
    }
    t.is(r.code, 0, r.stderr);
    const parsed = dotenv.parse(await readFile(path.join(home, '.env')));
    const store = JSON.parse(await readFile(path.join(home, 'console-secrets.json'), 'utf8')) as { secrets: { name: string; value: string }[] };
    t.deepEqual(Object.entries(parsed), entries);
    t.deepEqual(store.secrets.map((s) => [s.name, s.value]), entries);

    const secrets = entries.map(([, v]) => v).filter((v) => v.length >= 6 && !/^(true|false|-?\d+(\.\d+)?)$/.test(v));
    // the bundle itself may hold cleartext values (unencrypted_suffix, encrypted_regex): it is not ours to scan;
    // Node 24's compile cache holds compiled code of our modules and libraries, where a fixture's
    // plain word ("example") can occur as program text: never data the process read
    const ours = (p: string): boolean =>
      p === path.join(home, '.env') || p === path.join(home, 'console-secrets.json') || p === path.join(repo, source) || p.includes(`${path.sep}mcp-secrets${path.sep}compile-cache${path.sep}`);
    t.deepEqual(await scanForSecrets(dir, secrets, ours), []);
    for (const s of secrets) t.false(r.stdout.includes(s) || r.stderr.includes(s), 'no value on stdout or stderr');
  });
}

for (const c of listNegativeCases()) {
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
    // sync tells a wrong key apart from no key at all: E_IDENTITY_MISMATCH
    const allowed = allowedCodesFor(c).map((code) => (code === 'E_NO_IDENTITY' ? 'E_IDENTITY_MISMATCH' : code));
    t.true(allowed.includes(error.code), `${error.code} not in ${allowed.join(', ')}`);
    t.deepEqual([await readFile(path.join(home, '.env')), await readFile(path.join(home, 'console-secrets.json'))], before);
    t.deepEqual((await readdir(home)).filter((f) => f.startsWith('.mcp-secrets-tmp')), []);
    // nothing of the bad bundle's plaintext: the message names files, paths and codes only
    const keyLine = (await readFile(c.keysPath, 'utf8')).split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'));
    if (keyLine) t.false(r.stdout.includes(keyLine) || r.stderr.includes(keyLine));
  });
}

test('the fixture corpus in test/fixtures holds exactly the listed cases, in every environment', (t) => {
  t.notThrows(() => checkCorpus(), `corpus at ${fixturesDir()}`);
});
