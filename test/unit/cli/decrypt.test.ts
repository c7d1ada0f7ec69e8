/**
 * `runDecrypt(input, deps)`: flags → input, the document printed in the asked format only when it
 * opened in full, and the real open through the use-case layer (identity errors listing every
 * place tried, the engine asked for).
 */
import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { defaultDecryptDeps, resolveDecryptInput, runDecrypt, type DecryptDeps } from '../../../src/cli/decrypt.js';
import type { CliIo, CommandInput } from '../../../src/cli/types.js';
import { AppError, isAppError } from '../../../src/errors.js';
import type { DocumentSource } from '../../../src/bundle/open.js';
import { encrypt, fromPlain, type TreeMap } from '../../../src/sops/index.js';

const cmd = (positionals: string[], values: CommandInput['values'] = {}): CommandInput => ({ values, positionals });
const at = { env: {}, cwd: '/work/repo' };

test('the file is resolved from the cwd and its format from its name; the output format defaults to the input\'s', (t) => {
  t.deepEqual(resolveDecryptInput(cmd(['config/s.enc.json']), at), { sourceAbs: '/work/repo/config/s.enc.json', sourceRel: 'config/s.enc.json', engine: 'auto', inputFormat: 'json', outputFormat: 'json' });
  const given = resolveDecryptInput(cmd(['s.bin'], { 'input-type': 'yaml', 'output-type': 'dotenv', engine: 'native' }), at);
  t.is(given.inputFormat, 'yaml');
  t.is(given.outputFormat, 'dotenv');
  t.is(given.engine, 'native');
});

test('a missing FILE or an unknown format is E_USAGE', (t) => {
  for (const [c, message] of [
    [cmd([]), /decrypt needs a FILE/],
    [cmd(['a.yaml'], { 'output-type': 'toml' }), /--output-type must be one of yaml, json, dotenv, ini, binary, not "toml"/],
    [cmd(['a.yaml'], { 'input-type': 'xml' }), /--input-type must be one of/],
  ] as const) {
    const error = t.throws(() => resolveDecryptInput(c, at));
    t.true(isAppError(error) && error.code === 'E_USAGE');
    t.regex(error!.message, message);
  }
});

function fake(document: TreeMap | Error): { deps: DecryptDeps; out: (string | Uint8Array)[]; asked: DocumentSource[] } {
  const out: (string | Uint8Array)[] = [];
  const asked: DocumentSource[] = [];
  return {
    out,
    asked,
    deps: {
      decrypt: async (source) => {
        asked.push(source);
        if (document instanceof Error) throw document;
        return document;
      },
      stdout: (text) => out.push(text),
    },
  };
}

const text = (out: (string | Uint8Array)[]): string => out.map((o) => (typeof o === 'string' ? o : Buffer.from(o).toString('utf8'))).join('');

test('prints the document in the output format, keys in file order, with the engine and input format passed to the open', async (t) => {
  const doc = fromPlain({ Z: 'last-first', A: { b: 1 } }) as TreeMap;
  const json = fake(doc);
  t.is(await runDecrypt({ sourceAbs: '/r/s.enc.yaml', sourceRel: 's.enc.yaml', engine: 'sops', inputFormat: 'yaml', outputFormat: 'json' }, json.deps), 0);
  t.is(text(json.out), '{\n  "Z": "last-first",\n  "A": {\n    "b": 1\n  }\n}\n');
  t.deepEqual(json.asked, [{ sourceAbs: '/r/s.enc.yaml', sourceRel: 's.enc.yaml', engine: 'sops', format: 'yaml' }]);

  const yaml = fake(doc);
  await runDecrypt({ sourceAbs: '/r/s.enc.yaml', sourceRel: 's.enc.yaml', engine: 'auto', inputFormat: 'yaml', outputFormat: 'yaml' }, yaml.deps);
  t.regex(text(yaml.out), /^Z: last-first\nA:\n {4}b: 1\n$/);
});

test('prints nothing when the document does not open', async (t) => {
  const f = fake(new AppError('E_MAC_MISMATCH', 'MAC mismatch'));
  await t.throwsAsync(runDecrypt({ sourceAbs: '/r/s.enc.yaml', sourceRel: 's.enc.yaml', engine: 'auto', inputFormat: 'yaml', outputFormat: 'yaml' }, f.deps), { message: 'MAC mismatch' });
  t.deepEqual(f.out, []);
});

async function realFile(t: { teardown(fn: () => Promise<void>): void }): Promise<{ dir: string; owner: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'decrypt-open-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const owner = await generateX25519Identity();
  await writeFile(path.join(dir, 's.enc.yaml'), await encrypt({ OPENAI_API_KEY: 'sk-test-value' }, { format: 'yaml', recipients: [await identityToRecipient(owner)] }));
  return { dir, owner };
}

function realIo(dir: string, env: Record<string, string>, out: (string | Uint8Array)[]): CliIo {
  return { env: { MCP_SECRETS_KEYCHAIN: 'none', XDG_CONFIG_HOME: dir, HOME: dir, ...env }, cwd: dir, stdout: (s) => out.push(s), stderr: () => {}, stdin: process.stdin, stdoutIsTTY: false };
}

test('the real open decrypts with the right key, and a stranger\'s key is E_IDENTITY_MISMATCH listing every place tried, printing nothing', async (t) => {
  const { dir, owner } = await realFile(t);
  const out: (string | Uint8Array)[] = [];
  const input = resolveDecryptInput(cmd(['s.enc.yaml'], { 'output-type': 'json' }), { env: {}, cwd: dir });
  await runDecrypt(input, defaultDecryptDeps(realIo(dir, { SOPS_AGE_KEY: owner }, out)));
  t.is(text(out), '{\n  "OPENAI_API_KEY": "sk-test-value"\n}\n');

  const stranger = await generateX25519Identity();
  const none: (string | Uint8Array)[] = [];
  const error = await t.throwsAsync(runDecrypt(input, defaultDecryptDeps(realIo(dir, { SOPS_AGE_KEY: stranger }, none))));
  t.true(isAppError(error) && error.code === 'E_IDENTITY_MISMATCH', String(error));
  t.regex(error!.message, /tried:\n/);
  t.true(error!.message.includes('SOPS_AGE_KEY_FILE'));
  t.false(error!.message.includes(stranger));
  t.deepEqual(none, []);
});

test('the real open reads a missing file as E_SOURCE_MISSING', async (t) => {
  const { dir, owner } = await realFile(t);
  const input = resolveDecryptInput(cmd(['nope.enc.yaml']), { env: {}, cwd: dir });
  const error = await t.throwsAsync(runDecrypt(input, defaultDecryptDeps(realIo(dir, { SOPS_AGE_KEY: owner }, []))));
  t.true(isAppError(error) && error.code === 'E_SOURCE_MISSING', String(error));
});

test('--json is --output-type json, and contradicting it is a usage error', (t) => {
  t.is(resolveDecryptInput(cmd(['s.enc.yaml'], { json: true }), at).outputFormat, 'json');
  t.is(resolveDecryptInput(cmd(['s.enc.yaml'], { json: true, 'output-type': 'json' }), at).outputFormat, 'json');
  const error = t.throws(() => resolveDecryptInput(cmd(['s.enc.yaml'], { json: true, 'output-type': 'yaml' }), at));
  t.regex(error!.message, /--json and --output-type yaml contradict each other/);
});
