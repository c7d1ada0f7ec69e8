/**
 * The environment `mcp-secrets run` gives its child: the parent's own, less anything that could
 * open the bundle, plus the selected entries.
 *
 * Precedence: the bundle's value wins over a variable of the same name the parent already has
 * (a stale `export GEMINI_API_KEY=…` in a shell must not silently beat the team's current key);
 * `--preserve-env` keeps the parent's value instead. Either way the names involved are reported,
 * never their values.
 */
import type { Entry } from '../render/entries.js';

/** Variables that hand out an age identity (SOPS_AGE_KEY, _FILE, _CMD, any future SOPS_AGE_*). */
export function opensTheBundle(name: string): boolean {
  return name.startsWith('SOPS_AGE_');
}

export interface ChildEnv {
  env: Record<string, string>;
  /** Names present in both: the bundle's value won unless `preserveEnv`. */
  overlapping: string[];
}

export function childEnvironment(parent: Readonly<Record<string, string | undefined>>, entries: readonly Entry[], opts: { preserveEnv?: boolean } = {}): ChildEnv {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value !== undefined && !opensTheBundle(name)) env[name] = value;
  }
  const overlapping: string[] = [];
  for (const entry of entries) {
    if (Object.hasOwn(env, entry.name)) {
      overlapping.push(entry.name);
      if (opts.preserveEnv) continue;
    }
    env[entry.name] = entry.value;
  }
  return { env, overlapping };
}
