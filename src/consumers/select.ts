/**
 * Which entries one consumer gets (DESIGN.md "Consumers"): selectors add up (union); every
 * literal name must exist and every glob or provider must match at least one entry; no selector
 * at all means every entry. The result keeps bundle order.
 *
 * Pure: no fs, env or logging. Errors name selectors and entry names, never values.
 */
import { AppError, sanitizeForMessage } from '../errors.js';
import type { Entry, Provider } from '../render/entries.js';

/** A named set of entries from `.mcp-secrets.yaml` (`include` names/globs, `providers`). */
export interface Profile {
  include?: readonly string[];
  providers?: readonly string[];
}

export interface Selectors {
  /** `--only`: names or globs (`GEMINI_*`), already split on commas. */
  only?: readonly string[];
  /** `--provider`, repeatable. */
  providers?: readonly string[];
  /** `--profile`, repeatable; resolved against `profiles`. */
  profiles?: readonly string[];
}

const PROVIDERS: readonly Provider[] = ['gemini', 'openai', 'anthropic', 'zhipu', 'ops'];
/** Aliases a user may type for a provider (the same first segments the entries module knows). */
const PROVIDER_ALIASES: Readonly<Record<string, Provider>> = { codex: 'openai', google: 'gemini', claude: 'anthropic', glm: 'zhipu' };

/** True when `pattern` has a glob character (`*` or `?`). */
export function isGlob(pattern: string): boolean {
  return /[*?]/.test(pattern);
}

/** A glob over entry names: `*` any run of characters, `?` one character; anchored, case-sensitive. */
export function globToRegExp(pattern: string): RegExp {
  let source = '';
  for (const ch of pattern) {
    if (ch === '*') source += '.*';
    else if (ch === '?') source += '.';
    else source += ch.replace(/[\\^$.|+()[\]{}]/g, '\\$&');
  }
  return new RegExp(`^${source}$`);
}

/** Splits `--only` values on commas, trims them, drops empty pieces. */
export function splitList(values: readonly string[]): string[] {
  return values.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v.length > 0);
}

/** Resolves a provider name as typed (`openai`, `Codex`) or throws E_USAGE listing the known ones. */
export function parseProvider(name: string): Provider {
  const lower = name.toLowerCase();
  const provider = (PROVIDERS as readonly string[]).includes(lower) ? (lower as Provider) : PROVIDER_ALIASES[lower];
  if (!provider) {
    throw new AppError('E_USAGE', `unknown provider "${sanitizeForMessage(name)}"`, { hint: `use one of: ${PROVIDERS.join(', ')}` });
  }
  return provider;
}

interface Rule {
  /** How the rule is named in an error: `--only GEMINI_*`, `profile gemini: include X`. */
  label: string;
  matches(entry: Entry): boolean;
}

function nameRule(pattern: string, label: string): Rule {
  if (!isGlob(pattern)) return { label, matches: (e) => e.name === pattern };
  const re = globToRegExp(pattern);
  return { label, matches: (e) => re.test(e.name) };
}

function providerRule(name: string, label: string): Rule {
  const provider = parseProvider(name);
  return { label, matches: (e) => e.provider === provider };
}

function rulesFor(selectors: Selectors, profiles: Readonly<Record<string, Profile>>): Rule[] {
  const rules: Rule[] = [];
  for (const p of selectors.only ?? []) rules.push(nameRule(p, `--only ${p}`));
  for (const p of selectors.providers ?? []) rules.push(providerRule(p, `--provider ${p}`));
  for (const name of selectors.profiles ?? []) {
    const profile = Object.hasOwn(profiles, name) ? profiles[name] : undefined;
    if (!profile) {
      const known = Object.keys(profiles);
      throw new AppError('E_USAGE', `unknown profile "${sanitizeForMessage(name)}"`, {
        hint: known.length > 0 ? `profiles in .mcp-secrets.yaml: ${known.join(', ')}` : 'define profiles in .mcp-secrets.yaml at the repo root (see docs/consumers.md)',
      });
    }
    for (const p of profile.include ?? []) rules.push(nameRule(p, `profile ${name}: ${p}`));
    for (const p of profile.providers ?? []) rules.push(providerRule(p, `profile ${name}: provider ${p}`));
  }
  return rules;
}

/**
 * The entries the selectors pick, in bundle order.
 *
 * @throws AppError `E_USAGE` for an unknown profile or provider, and for a selector that matches
 *   nothing (naming every such selector), so a renamed secret fails the consumer's start instead
 *   of starting it without its key.
 */
export function selectEntries(entries: readonly Entry[], selectors: Selectors, profiles: Readonly<Record<string, Profile>> = {}): Entry[] {
  const rules = rulesFor(selectors, profiles);
  if (rules.length === 0) return [...entries];
  const unmatched = rules.filter((rule) => !entries.some((e) => rule.matches(e)));
  if (unmatched.length > 0) {
    throw new AppError('E_USAGE', `nothing in the bundle matches ${unmatched.map((r) => sanitizeForMessage(r.label)).join('; ')}`, {
      hint: 'check the names with `mcp-secrets decrypt` or the status entry count; names are upper-case, e.g. GEMINI_API_KEY',
    });
  }
  return entries.filter((e) => rules.some((rule) => rule.matches(e)));
}
