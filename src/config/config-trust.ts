/**
 * Consent for the repo's `.mcp-secrets.yaml` (DESIGN.md "Consumers"): the repo decides what each
 * consumer gets, so, as with the data key, the first version a machine sees is trusted and
 * recorded, and a later version that hands out MORE (a new output, an output that now gets every
 * entry, a profile with a new name, glob or provider, a new profile) is not used until the user
 * accepts it. Narrowing (fewer outputs, smaller profiles) needs no consent.
 *
 * What is recorded is a grant: names, globs and providers, never values. Pure: the caller keeps
 * the grant in home's trust state.
 */
import { parseProvider } from '../consumers/select.js';
import type { RepoConfig } from './repo-config.js';

/** Everything a config hands out, in a form that compares as sets. */
export interface ConfigGrant {
  /** Output file → `*` (every entry) or the selectors of its profile. */
  outputs: Record<string, string[]>;
  /** Profile name → its selectors (`name:GEMINI_*`, `provider:openai`). */
  profiles: Record<string, string[]>;
}

/** The wildcard selector: an output with no profile gets every entry. */
const EVERYTHING = '*';

function selectorsOf(profile: { include?: readonly string[]; providers?: readonly string[] } | undefined): string[] {
  if (!profile) return [];
  return [...new Set([...(profile.include ?? []).map((p) => `name:${p}`), ...(profile.providers ?? []).map((p) => `provider:${parseProvider(p)}`)])].sort();
}

/** The grant a parsed config makes. */
export function grantOf(config: RepoConfig): ConfigGrant {
  const profiles: Record<string, string[]> = {};
  for (const [name, profile] of Object.entries(config.profiles)) profiles[name] = selectorsOf(profile);
  const outputs: Record<string, string[]> = {};
  for (const output of config.outputs) {
    outputs[output.file] = output.profile === undefined ? [EVERYTHING] : selectorsOf(config.profiles[output.profile]);
  }
  return { outputs, profiles };
}

function added(before: readonly string[], after: readonly string[]): string[] {
  if (before.includes(EVERYTHING)) return [];
  return after.filter((s) => !before.includes(s));
}

function describeSelector(s: string): string {
  return s === EVERYTHING ? 'every entry' : s.replace(/^name:/, '').replace(/^provider:/, 'provider ');
}

/**
 * What `next` hands out beyond `accepted`, one line each (empty: nothing new, use it as is).
 * The lines name outputs, profiles and selectors, never values.
 */
export function wideningOf(accepted: ConfigGrant, next: ConfigGrant): string[] {
  const changes: string[] = [];
  for (const [file, selectors] of Object.entries(next.outputs)) {
    const before = Object.hasOwn(accepted.outputs, file) ? accepted.outputs[file] : undefined;
    if (!before) changes.push(`new output ${file} (${selectors.map(describeSelector).join(', ') || 'no entries'})`);
    else {
      const more = added(before, selectors);
      if (more.length > 0) changes.push(`output ${file} now also gets ${more.map(describeSelector).join(', ')}`);
    }
  }
  for (const [name, selectors] of Object.entries(next.profiles)) {
    const before = Object.hasOwn(accepted.profiles, name) ? accepted.profiles[name] : undefined;
    if (!before) changes.push(`new profile ${name} (${selectors.map(describeSelector).join(', ')})`);
    else {
      const more = added(before, selectors);
      if (more.length > 0) changes.push(`profile ${name} now also selects ${more.map(describeSelector).join(', ')}`);
    }
  }
  return changes;
}

/** True when the grant is a JSON value of the right shape (read back from the trust file). */
export function isConfigGrant(value: unknown): value is ConfigGrant {
  const isTable = (v: unknown): boolean =>
    v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((list) => Array.isArray(list) && list.every((s) => typeof s === 'string'));
  return value !== null && typeof value === 'object' && isTable((value as ConfigGrant).outputs) && isTable((value as ConfigGrant).profiles);
}
