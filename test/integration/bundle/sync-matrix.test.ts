/**
 * The fixture × sync matrix, in process: every real sops fixture goes through the use-case layer
 * the CLI `sync` uses (the real identity lookup with SOPS_AGE_KEY_FILE, `syncOnce`: open the
 * bundle → render each output → the publisher) into a temp home. Positive cases publish outputs
 * whose values equal expected.json (read back with npm dotenv and JSON.parse, not our code), 0600,
 * byte-equal to what the pipeline says it published; those no .env can hold are refused with
 * their code and nothing is written; negative cases fail with their code (exit 2) and the
 * earlier outputs stay byte-identical; no secret value lands anywhere but the outputs, and none
 * is in an error, a notice or the result. A few CLI spawns prove the same end to end
 * (e2e/sync-fixtures.test.ts).
 */
import test, { type ExecutionContext } from 'ava';
import { copyFile, mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import path from 'node:path';
import dotenv from 'dotenv';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { encrypt } from '../../../src/sops/index.js';
import { AppError, exitCodeFor, isAppError } from '../../../src/errors.js';
import { identityLookup } from '../../../src/identity/lookup.js';
import { planFor, syncOnce, type IdentityLookup } from '../../../src/bundle/sync-once.js';
import type { SyncSuccess } from '../../../src/bundle/sync-result.js';
import { allowedCodesFor, checkCorpus, fixturesDir, listNegativeCases, listPositiveCases } from '../../helpers/fixtures.js';
import { filesHoldingSecrets, firstKeyLine, syncCodesFor, syncExpectation } from '../../helpers/sync-expectations.js';
import { isolateGitConfig } from '../../helpers/git.js';
import { tempDir } from '../../helpers/temp.js';

test.before(() => isolateGitConfig());

interface Sandbox {
  dir: string;
  repo: string;
  home: string;
}

async function sandbox(t: ExecutionContext): Promise<Sandbox> {
  const dir = await tempDir(t, 'mcps-matrix-');
  const repo = path.join(dir, 'repo');
  await mkdir(repo);
  return { dir, repo, home: path.join(dir, 'home') };
}

/**
 * One `mcp-secrets sync --repo R --source S --home H --no-cache-identity`, as the CLI runs it:
 * identities from `identityEnv` only (own HOME, keychain off), the engine chosen as `auto`.
 */
async function syncInProcess(box: Sandbox, source: string, identityEnv: Record<string, string>, notices: string[]): Promise<SyncSuccess> {
  const env = {
    HOME: path.join(box.dir, 'userhome'),
    XDG_CONFIG_HOME: path.join(box.dir, 'userhome', '.config'),
    MCP_SECRETS_KEYCHAIN: 'none',
    ...identityEnv,
  };
  const lookup = identityLookup({ env, cache: false, onNotice: (message) => notices.push(message) });
  let resolved: IdentityLookup | null = null;
  const identities = async (): Promise<IdentityLookup> => (resolved ??= await lookup());
  return syncOnce(planFor(box.repo, source, box.home, 'auto'), { identities, env });
}

/** What the CLI prints of a result with --json: no values, no digests of plaintext. */
function printable(result: SyncSuccess): string {
  const { secretValues: _values, outputs, ...rest } = result;
  return JSON.stringify({ ...rest, outputs: outputs.map((o) => ({ kind: o.kind, path: o.path })) });
}

/** What the CLI prints of an error: code, message, hint, and the messages of its causes. */
function errorText(error: AppError): string {
  const causes: string[] = [];
  for (let c: unknown = error.cause; c instanceof Error; c = c.cause) causes.push(c.message);
  return JSON.stringify({ code: error.code, message: error.message, hint: error.hint, causes });
}

/** The AppError a sync fails with; anything else (a success, an error without a code) fails the test. */
async function syncRefused(t: ExecutionContext, run: Promise<SyncSuccess>): Promise<AppError> {
  const error = await t.throwsAsync(run);
  if (!isAppError(error)) throw new Error(`expected an AppError, got ${String(error)}`);
  return error;
}

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

for (const c of listPositiveCases()) {
  test(`sync publishes the values of ${c.id} (in process)`, async (t) => {
    const expectation = syncExpectation(c);
    const box = await sandbox(t);
    const source = path.basename(c.encryptedPath);
    await copyFile(c.encryptedPath, path.join(box.repo, source));
    const notices: string[] = [];
    const run = syncInProcess(box, source, { SOPS_AGE_KEY_FILE: c.keysPath }, notices);
    const nothingWritten = async (): Promise<string[]> => ((await readdir(box.dir)).includes('home') ? readdir(box.home) : []);

    if (expectation.kind === 'unsupported') {
      const error = await syncRefused(t, run);
      t.is(error.code, 'E_UNSUPPORTED_VALUE', errorText(error));
      t.is(exitCodeFor(error), 2);
      t.deepEqual(await nothingWritten(), [], 'nothing written');
      return;
    }
    if (expectation.kind === 'unrepresentable') {
      const error = await syncRefused(t, run);
      t.is(error.code, 'E_UNREPRESENTABLE', errorText(error));
      t.true(error.message.includes(expectation.name), `the message names ${expectation.name}: ${error.message}`);
      t.is(exitCodeFor(error), 2);
      t.deepEqual(await nothingWritten(), [], 'nothing written');
      return;
    }

    const result = await run;
    const envPath = path.join(box.home, '.env');
    const storePath = path.join(box.home, 'console-secrets.json');
    const envBytes = await readFile(envPath);
    const storeBytes = await readFile(storePath);
    t.deepEqual(Object.entries(dotenv.parse(envBytes)), expectation.entries);
    const store = JSON.parse(storeBytes.toString('utf8')) as { secrets: { name: string; value: string }[] };
    t.deepEqual(store.secrets.map((s) => [s.name, s.value]), expectation.entries);
    // the bytes on disk are the bytes the pipeline published, and only we can read them
    t.deepEqual(
      result.outputs.map((o) => [o.path, o.sha256]),
      [
        [envPath, sha256(envBytes)],
        [storePath, sha256(storeBytes)],
      ],
    );
    t.is((await stat(envPath)).mode & 0o777, 0o600);
    t.is((await stat(storePath)).mode & 0o777, 0o600);

    // the bundle itself may hold cleartext values (unencrypted_suffix, encrypted_regex): it is not ours to scan
    const ours = (p: string): boolean => p === envPath || p === storePath || p === path.join(box.repo, source);
    t.deepEqual(await filesHoldingSecrets(box.dir, expectation.secrets, ours), []);
    const said = printable(result) + notices.join('\n');
    for (const s of expectation.secrets) t.false(said.includes(s), 'no value in the result or a notice');
  });
}

for (const c of listNegativeCases()) {
  test(`sync refuses ${c.id} with its code (exit 2) and keeps the earlier outputs byte-identical (in process)`, async (t) => {
    const box = await sandbox(t);
    // a good bundle first, with its own key
    const identity = await generateIdentity();
    const good = await encrypt({ MCP_SECRETS_VERSION: 'good', OPENAI_API_KEY: 'sk-good-value-123456' }, { format: 'yaml', recipients: [await identityToRecipient(identity)] });
    await writeFile(path.join(box.repo, 'good.enc.yaml'), good);
    await syncInProcess(box, 'good.enc.yaml', { SOPS_AGE_KEY: identity }, []);
    const before = [await readFile(path.join(box.home, '.env')), await readFile(path.join(box.home, 'console-secrets.json'))];

    const source = `bad${path.extname(c.encryptedPath)}`;
    await copyFile(c.encryptedPath, path.join(box.repo, source));
    const notices: string[] = [];
    const error = await syncRefused(t, syncInProcess(box, source, { SOPS_AGE_KEY_FILE: c.keysPath }, notices));
    const allowed = syncCodesFor(allowedCodesFor(c));
    t.true(allowed.includes(error.code), `${error.code} not in ${allowed.join(', ')}: ${errorText(error)}`);
    t.is(exitCodeFor(error), 2);
    t.deepEqual([await readFile(path.join(box.home, '.env')), await readFile(path.join(box.home, 'console-secrets.json'))], before);
    t.deepEqual((await readdir(box.home)).filter((f) => f.startsWith('.mcp-secrets-tmp')), []);
    // nothing of the bad bundle's key: the message names files, paths and codes only
    const keyLine = await firstKeyLine(c.keysPath);
    if (keyLine) t.false(errorText(error).includes(keyLine) || notices.join('\n').includes(keyLine));
  });
}

test('the fixture corpus in test/fixtures holds exactly the listed cases (in process)', (t) => {
  t.notThrows(() => checkCorpus(), `corpus at ${fixturesDir()}`);
});
