/**
 * Entries → `console-secrets.json` bytes: the SecretStore v1 document (DESIGN.md "Outputs";
 * JSON Schema in schemas/console-secrets.schema.json).
 *
 * Pure and deterministic: no timestamps, fixed key order, two-space indent, a newline at the end,
 * so equal bundles give byte-equal files.
 */

import { secretsVersionOf, type Entry, type Provider } from './entries.js';

/** The SecretStore v1 document, key order as written. */
export interface SecretStoreDocument {
  kind: 'SecretStore';
  schemaVersion: 1;
  secretsVersion: string | null;
  source: { path: string; sha256: string; commit: string | null };
  secrets: { name: string; provider: Provider; value: string }[];
}

/**
 * Renders `console-secrets.json`.
 *
 * @param source.path the bundle's path relative to the repo (e.g. `config/secrets.enc.yaml`).
 * @param source.sha256 hex sha256 of the encrypted bundle.
 * @param source.commit the commit the bundle was read at, or null outside git / when unknown.
 */
export function renderConsole(
  entries: readonly Entry[],
  source: { path: string; sha256: string; commit: string | null },
): Uint8Array {
  const document: SecretStoreDocument = {
    kind: 'SecretStore',
    schemaVersion: 1,
    secretsVersion: secretsVersionOf(entries),
    source: { path: source.path, sha256: source.sha256, commit: source.commit },
    secrets: entries.map((e) => ({ name: e.name, provider: e.provider, value: e.value })),
  };
  return new TextEncoder().encode(JSON.stringify(document, null, 2) + '\n');
}
