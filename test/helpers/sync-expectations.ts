/**
 * What a sync of a real sops fixture must give, worked out from the fixture's expected.json
 * independently of src/render, for the in-process matrix (integration/bundle/sync-matrix) and
 * its end-to-end proofs (e2e/sync-fixtures).
 */
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { envFormOf } from '../../src/render/env.js';
import { readExpectedJson, type FixtureCase } from './fixtures.js';

/** The entries DESIGN.md derives from a plain tree (order kept), or null when it holds a list. */
export function expectedEntries(tree: unknown, prefix: string[] = [], out: [string, string][] = []): [string, string][] | null {
  if (Array.isArray(tree)) return null;
  if (tree instanceof Map) {
    for (const [k, v] of tree) if (expectedEntries(v, [...prefix, String(k)], out) === null) return null;
    return out;
  }
  const name = prefix.join('_').toUpperCase().replace(/[^A-Z0-9_]/g, '_');
  out.push([name, tree === null ? '' : String(tree)]);
  return out;
}

/**
 * How a sync of a positive case must end:
 * - `unsupported`: lists, and bytes that are not UTF-8, have no place in .env (E_UNSUPPORTED_VALUE);
 * - `unrepresentable`: a value (e.g. `\\` or a CR) no .env quoting reads back the same in
 *   dotenv, bash and python-dotenv (E_UNREPRESENTABLE naming `name`);
 * - `published`: both outputs hold `entries`.
 */
export type SyncExpectation =
  | { kind: 'unsupported' }
  | { kind: 'unrepresentable'; name: string }
  | { kind: 'published'; entries: [string, string][]; secrets: string[] };

export function syncExpectation(c: FixtureCase): SyncExpectation {
  const expected = readExpectedJson(c.expectedJsonPath!);
  const entries = expectedEntries(expected);
  if (entries === null || (expected instanceof Map && expected.has('data_base64'))) return { kind: 'unsupported' };
  const unrepresentable = entries.find(([, v]) => envFormOf(v) === null);
  if (unrepresentable) return { kind: 'unrepresentable', name: unrepresentable[0] };
  // values worth looking for elsewhere: not words like `true` or numbers a file may hold anyway
  const secrets = entries.map(([, v]) => v).filter((v) => v.length >= 6 && !/^(true|false|-?\d+(\.\d+)?)$/.test(v));
  return { kind: 'published', entries, secrets };
}

/** Every file under `dir` (but those `skip` names) holding one of `secrets`. */
export async function filesHoldingSecrets(dir: string, secrets: readonly string[], skip: (p: string) => boolean): Promise<string[]> {
  const hits: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const p = path.join(e.parentPath, e.name);
    if (!e.isFile() || skip(p)) continue;
    const text = await readFile(p, 'latin1');
    for (const s of secrets) if (text.includes(s)) hits.push(p);
  }
  return hits;
}

/** The first `AGE-SECRET-KEY-…` line of a keys file, if any. */
export async function firstKeyLine(keysPath: string): Promise<string | undefined> {
  return (await readFile(keysPath, 'utf8')).split('\n').find((l) => l.startsWith('AGE-SECRET-KEY-'));
}

/**
 * The codes sync may give for a negative case: sync tells a wrong key apart from no key at all,
 * so the fixture's "no identity" is E_IDENTITY_MISMATCH there.
 */
export function syncCodesFor(allowed: readonly string[]): string[] {
  return allowed.map((code) => (code === 'E_NO_IDENTITY' ? 'E_IDENTITY_MISMATCH' : code));
}
