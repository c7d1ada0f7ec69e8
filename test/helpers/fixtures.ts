/**
 * The shared corpus of real SOPS files (`../shared/fixtures/sops-real`, or `$MCP_SECRETS_FIXTURES`).
 * It is read in place, never copied into the repo. When it is missing, tests fail under CI and
 * skip with a visible note elsewhere.
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

export function fixturesDir(): string {
  const fromEnv = process.env['MCP_SECRETS_FIXTURES'];
  return fromEnv && fromEnv !== '' ? resolve(fromEnv) : resolve(repoRoot(), '..', 'shared', 'fixtures', 'sops-real');
}

export function fixturesAvailable(): boolean {
  return existsSync(join(fixturesDir(), 'README.md'));
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

function casesIn(dir: string): FixtureCase[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory() && existsSync(join(dir, e.name, 'case.json')))
    .map((e) => readCase(join(dir, e.name)))
    .sort((a, b) => a.id.localeCompare(b.id));
}

export function listPositiveCases(): FixtureCase[] {
  return casesIn(fixturesDir());
}

export function listNegativeCases(): FixtureCase[] {
  return casesIn(join(fixturesDir(), 'negative'));
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
