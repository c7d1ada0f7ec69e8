/**
 * Entries → a flat JSON object `{"NAME": "value", …}` (the `json` output format of
 * `.mcp-secrets.yaml`), for consumers that read a map of names to values.
 *
 * Pure and deterministic: bundle order, two-space indent, a newline at the end, no metadata, so
 * equal entries give byte-equal files.
 */
import type { Entry } from './entries.js';

export function renderJson(entries: readonly Entry[]): Uint8Array {
  // A null-prototype object: an entry named `__proto__` is data, not the object's prototype.
  const document: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const entry of entries) document[entry.name] = entry.value;
  return new TextEncoder().encode(JSON.stringify(document, null, 2) + '\n');
}
