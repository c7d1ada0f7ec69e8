/** The SOPS stores this engine reads and writes, and how a file name picks one (like `sops` does). */

export type SopsFormat = 'yaml' | 'json' | 'dotenv' | 'ini' | 'binary';

export const SOPS_FORMATS: readonly SopsFormat[] = ['yaml', 'json', 'dotenv', 'ini', 'binary'];

/** `.yaml`/`.yml` → yaml, `.json` → json, `.env` → dotenv, `.ini` → ini, anything else → binary. */
export function formatFromPath(path: string): SopsFormat {
  const lower = path.toLowerCase();
  if (lower.endsWith('.yaml') || lower.endsWith('.yml')) return 'yaml';
  if (lower.endsWith('.json')) return 'json';
  if (lower.endsWith('.env')) return 'dotenv';
  if (lower.endsWith('.ini')) return 'ini';
  return 'binary';
}
