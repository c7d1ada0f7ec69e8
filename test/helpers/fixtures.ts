/**
 * The corpus of real SOPS files, in the repo at `test/fixtures/sops-real` (copied from the team's
 * shared corpus with its README, SOURCE.md files and expected outputs).
 *
 * A missing corpus, a missing case or a renamed one is a failure, in every environment: the case
 * ids are listed below, and listing the cases throws when the folders do not match that list
 * exactly (a test file that throws while registering its tests fails the run).
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import type { SopsFormat } from '../../src/sops/index.js';

export interface FixtureCase {
  id: string;
  dir: string;
  format: SopsFormat;
  encryptedPath: string;
  keysPath: string;
  optional: boolean;
  /** Positive: path of expected.json; negative: null. */
  expectedJsonPath: string | null;
  /** Binary cases: the exact expected bytes. */
  expectedBinPath: string | null;
  /** Negative cases: what the case says must happen. */
  must: string | null;
  derivedFrom: string | null;
}

/** The repository root: the nearest folder above this (compiled) file holding package.json. */
export function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('no package.json above the test files');
    dir = parent;
  }
}

/** The positive cases the corpus holds; a case added, removed or renamed must be changed here too. */
export const POSITIVE_CASE_IDS: readonly string[] = [
  'binary-flux-3.9.0',
  'binary-sops-example-3.7.1',
  'binary-vscode-sops-non-utf8-3.7.3',
  'dotenv-flux-3.9.0',
  'dotenv-humphd-3.8.1',
  'ini-humphd-default-section-3.8.1',
  'ini-sops-example-3.7.1',
  'json-humphd-3.9.2',
  'json-sops-example-3.7.1',
  'json-talhelper-3.11.0',
  'yaml-age-post-quantum-3.12.1',
  'yaml-flux-compact-metadata-3.10.2',
  'yaml-flux-encrypted-regex-3.9.0',
  'yaml-helm-secrets-multiline-3.7.1',
  'yaml-humphd-types-3.8.1',
  'yaml-isindir-encrypted-suffix-3.7.3',
  'yaml-isindir-mac-only-encrypted-3.13.1',
  'yaml-novops-blockscalar-second-recipient-3.10.2',
  'yaml-null-value-hybrid',
  'yaml-sops-example-3.7.1',
  'yaml-sopsnix-mixed-pgp-3.7.1',
  'yaml-talhelper-3.11.0',
  'yaml-terragrunt-key-with-space-3.7.1',
];

/** The negative cases (`negative/<id>`). */
export const NEGATIVE_CASE_IDS: readonly string[] = [
  'age-header-mac-tamper',
  'age-payload-tamper',
  'gcm-value-bitflip',
  'mac-ciphertext-bitflip',
  'mac-mismatch-cleartext-edited',
  'mac-mismatch-entry-removed',
  'mac-removed',
  'upstream-broken-ciphertext',
  'upstream-values-transplanted',
  'wrong-key',
];

export function fixturesDir(): string {
  return resolve(repoRoot(), 'test', 'fixtures', 'sops-real');
}

/**
 * Throws unless the corpus is there with exactly the listed cases, each with its case.json,
 * encrypted file, keys and (positive cases) expected output.
 */
export function checkCorpus(): void {
  const dir = fixturesDir();
  if (!existsSync(join(dir, 'README.md'))) throw new Error(`the sops-real fixture corpus is missing: no ${join(dir, 'README.md')}`);
  const compare = (where: string, listed: readonly string[]) => {
    const found = existsSync(where)
      ? readdirSync(where, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name).sort()
      : [];
    const missing = listed.filter((id) => !found.includes(id));
    const unlisted = found.filter((id) => !listed.includes(id) && id !== 'negative');
    if (missing.length || unlisted.length) {
      throw new Error(`fixture cases in ${where} do not match the list in test/helpers/fixtures.ts: missing ${missing.join(', ') || 'none'}; not listed ${unlisted.join(', ') || 'none'}`);
    }
  };
  compare(dir, POSITIVE_CASE_IDS);
  compare(join(dir, 'negative'), NEGATIVE_CASE_IDS);
  const cases = [...POSITIVE_CASE_IDS.map((id) => join(dir, id)), ...NEGATIVE_CASE_IDS.map((id) => join(dir, 'negative', id))];
  for (const caseDir of cases) {
    if (!existsSync(join(caseDir, 'case.json'))) throw new Error(`fixture case ${caseDir} has no case.json`);
    const c = readCase(caseDir);
    const needed = [c.encryptedPath, c.keysPath, ...(c.expectedJsonPath ? [c.expectedJsonPath] : []), ...(c.expectedBinPath ? [c.expectedBinPath] : [])];
    for (const file of needed) if (!existsSync(file)) throw new Error(`fixture case ${c.id}: ${file} is missing`);
  }
}

interface CaseJson {
  id: string;
  format: SopsFormat;
  encrypted: string;
  keys: string;
  expected?: string;
  expected_bin?: string;
  optional?: boolean;
  must?: string;
  derived_from?: string | null;
}

function readCase(dir: string): FixtureCase {
  const c = JSON.parse(readFileSync(join(dir, 'case.json'), 'utf8')) as CaseJson;
  return {
    id: c.id,
    dir,
    format: c.format,
    encryptedPath: join(dir, c.encrypted),
    keysPath: join(dir, c.keys),
    optional: c.optional === true,
    expectedJsonPath: c.expected ? join(dir, c.expected) : null,
    expectedBinPath: c.expected_bin ? join(dir, c.expected_bin) : null,
    must: c.must ?? null,
    derivedFrom: c.derived_from ?? null,
  };
}

/** The positive cases, in id order. @throws Error when the corpus is incomplete (see {@link checkCorpus}). */
export function listPositiveCases(): FixtureCase[] {
  checkCorpus();
  return POSITIVE_CASE_IDS.map((id) => readCase(join(fixturesDir(), id)));
}

/** The negative cases, in id order. @throws Error when the corpus is incomplete. */
export function listNegativeCases(): FixtureCase[] {
  checkCorpus();
  return NEGATIVE_CASE_IDS.map((id) => readCase(join(fixturesDir(), 'negative', id)));
}

/** The one positive case whose id contains `part`. @throws Error when there is none (a renamed case). */
export function positiveCase(part: string): FixtureCase {
  const found = listPositiveCases().filter((c) => c.id.includes(part));
  if (found.length !== 1) throw new Error(`expected one fixture case whose id contains "${part}", found ${found.length}`);
  return found[0] as FixtureCase;
}

/** The `AGE-SECRET-KEY-…` lines of a keys file. */
export function readIdentities(path: string): string[] {
  return readFileSync(path, 'utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.startsWith('AGE-SECRET-KEY-'));
}

/** expected.json parsed with its key order kept (integer-like keys included). */
export function readExpectedJson(path: string): unknown {
  return parseYaml(readFileSync(path, 'utf8'), { mapAsMap: true, version: '1.2', schema: 'core' });
}

/**
 * The error codes a negative case allows, from its `must` text. An undecryptable MAC is reported
 * as E_MAC_MISMATCH (as sops does: exit code 51).
 */
export function allowedCodesFor(c: FixtureCase): string[] {
  const must = (c.must ?? '').toLowerCase();
  if (must.includes('no identity')) return ['E_NO_IDENTITY'];
  if (must.includes('mac mismatch') && must.includes('gcm')) return ['E_MAC_MISMATCH', 'E_DECRYPT'];
  if (must.includes('mac')&& !must.includes('age header')) return ['E_MAC_MISMATCH'];
  return ['E_DECRYPT'];
}
