/**
 * From the decrypted document to entries (DESIGN.md "From bundle to entries").
 *
 * Rules: a top-level scalar `KEY: v` gives entry `KEY`; a nested map gives its key path joined by
 * `_` and upper-cased; characters outside `[A-Z0-9_]` become `_`. Strings stay as they are,
 * numbers and booleans become their text, null becomes empty, bytes become UTF-8 text when valid.
 * Lists and anything else that is not a scalar are refused, naming the key path, never the value.
 * Names that change how programs start ({@link isForbiddenName}) are refused unless the user's own
 * config allows them by exact name: a bundle anyone who can push may have written must not set
 * `LD_PRELOAD` or `NODE_OPTIONS` for every process that sources `.env`.
 *
 * Pure: no fs, env or logging.
 */

import { AppError, sanitizeForMessage } from '../errors.js';
import type { TreeMap, TreeValue } from '../sops/tree.js';

export type Provider = 'gemini' | 'openai' | 'anthropic' | 'zhipu' | 'ops';

/** One `NAME=value` pair, with the provider it belongs to and the key path it came from. */
export interface Entry {
  name: string;
  provider: Provider;
  value: string;
  path: readonly string[];
}

/** The entry whose value is also the status's `secretsVersion`. */
export const SECRETS_VERSION_NAME = 'MCP_SECRETS_VERSION';

/**
 * Exact names that change how programs start. The contract's list (DESIGN.md "From bundle to
 * entries"): extend it, never shrink it.
 */
export const FORBIDDEN_NAMES: readonly string[] = Object.freeze(['PATH', 'HOME', 'SHELL', 'ENV', 'BASH_ENV', 'IFS', 'NODE_OPTIONS', 'NODE_PATH', 'RUBYOPT']);

/** Name prefixes with the same effect (loader, interpreter, git and sops settings, our own). */
export const FORBIDDEN_PREFIXES: readonly string[] = Object.freeze(['LD_', 'DYLD_', 'PYTHON', 'PERL5', 'GIT_', 'SOPS_', 'MCP_SECRETS_']);

/**
 * True when publishing or injecting `name` could change how a program starts. `MCP_SECRETS_VERSION`
 * is the one `MCP_SECRETS_*` name that is an ordinary entry.
 */
export function isForbiddenName(name: string): boolean {
  if (name === SECRETS_VERSION_NAME) return false;
  return FORBIDDEN_NAMES.includes(name) || FORBIDDEN_PREFIXES.some((prefix) => name.startsWith(prefix));
}

/** First path segments that name a provider outright (compared lower-cased). */
const SEGMENT_PROVIDERS: ReadonlyMap<string, Provider> = new Map([
  ['gemini', 'gemini'],
  ['openai', 'openai'],
  ['codex', 'openai'],
  ['anthropic', 'anthropic'],
  ['zhipu', 'zhipu'],
]);

/** Name prefixes, checked when the first segment names no provider. */
const PREFIX_PROVIDERS: readonly (readonly [string, Provider])[] = [
  ['GEMINI_', 'gemini'],
  ['GOOGLE_', 'gemini'],
  ['OPENAI_', 'openai'],
  ['CODEX_', 'openai'],
  ['ANTHROPIC_', 'anthropic'],
  ['CLAUDE_', 'anthropic'],
  ['ZHIPU_', 'zhipu'],
  ['GLM_', 'zhipu'],
  ['BIGMODEL_', 'zhipu'],
];

/**
 * Flattens the decrypted document (without its `sops` block) into entries, in document order.
 *
 * @param document the ordered tree from the SOPS engine.
 * @param opts.sourcePath the bundle's path, named in error messages (default: "the bundle").
 * @param opts.allowNames forbidden names the user's own config allows (exact names).
 * @throws AppError `E_FORBIDDEN_NAME` for a name that changes how programs start and is not
 *   allowed; `E_DUPLICATE_NAME` when two key paths give one name; `E_UNSUPPORTED_VALUE`
 *   for a list or other non-scalar leaf, bytes that are not UTF-8, a number that is not finite,
 *   or an empty top-level key. Messages name key paths and the file, never a value.
 */
export function toEntries(document: TreeMap, opts: { sourcePath?: string; allowNames?: readonly string[] } = {}): Entry[] {
  const source = opts.sourcePath === undefined ? 'the bundle' : sanitizeForMessage(opts.sourcePath);
  const allowed = new Set(opts.allowNames ?? []);
  const entries: Entry[] = [];
  const seen = new Map<string, readonly string[]>();
  walk(document, [], (path, leaf) => {
    const name = nameOf(path);
    if (name === '') {
      throw new AppError('E_UNSUPPORTED_VALUE', `empty key cannot name an entry: ${describePath(path)} in ${source}`, {
        hint: 'give the key a name in the bundle',
        details: { path: [...path], source },
      });
    }
    const earlier = seen.get(name);
    if (earlier !== undefined) {
      throw new AppError(
        'E_DUPLICATE_NAME',
        `two keys give the entry name ${name}: ${describePath(earlier)} and ${describePath(path)} in ${source}`,
        { hint: 'rename or remove one of the keys in the bundle', details: { name, paths: [[...earlier], [...path]], source } },
      );
    }
    if (isForbiddenName(name) && !allowed.has(name)) throw forbidden(name, path, source);
    seen.set(name, path);
    entries.push({ name, provider: providerOf(path, name), value: leafText(leaf, path, source), path });
  });
  return entries;
}

/** The `MCP_SECRETS_VERSION` entry's value, or null when it is absent or empty. */
export function secretsVersionOf(entries: readonly Entry[]): string | null {
  const entry = entries.find((e) => e.name === SECRETS_VERSION_NAME);
  return entry === undefined || entry.value === '' ? null : entry.value;
}

/** The entry name for a key path: joined by `_`, upper-cased, other characters as `_`. */
export function nameOf(path: readonly string[]): string {
  return path
    .join('_')
    .toUpperCase()
    .replace(/[^A-Z0-9_]/g, '_');
}

/** The provider: the first path segment when it names one, else by name prefix, else `ops`. */
export function providerOf(path: readonly string[], name: string): Provider {
  const first = path[0];
  if (first !== undefined) {
    const bySegment = SEGMENT_PROVIDERS.get(first.toLowerCase());
    if (bySegment !== undefined) return bySegment;
  }
  for (const [prefix, provider] of PREFIX_PROVIDERS) if (name.startsWith(prefix)) return provider;
  return 'ops';
}

function walk(map: TreeMap, prefix: readonly string[], visit: (path: readonly string[], leaf: TreeValue) => void): void {
  for (const [key, value] of map) {
    const path = Object.freeze([...prefix, key]);
    if (value instanceof Map) walk(value, path, visit);
    else visit(path, value);
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function leafText(leaf: TreeValue, path: readonly string[], source: string): string {
  if (leaf === null) return '';
  if (typeof leaf === 'string') return leaf;
  if (typeof leaf === 'boolean') return leaf ? 'true' : 'false';
  if (typeof leaf === 'number') {
    // JavaScript's shortest round-trip text: integral floats print without a fraction, as sops does.
    if (Number.isFinite(leaf)) return String(leaf);
    throw unsupported(path, source, 'a number that is not finite');
  }
  if (leaf instanceof Uint8Array) {
    try {
      return UTF8.decode(leaf);
    } catch {
      throw unsupported(path, source, 'bytes that are not UTF-8 text');
    }
  }
  if (Array.isArray(leaf)) throw unsupported(path, source, 'a list');
  throw unsupported(path, source, 'a value that is not a scalar');
}

function forbidden(name: string, path: readonly string[], source: string): AppError {
  return new AppError(
    'E_FORBIDDEN_NAME',
    `the entry ${name} (${describePath(path)} in ${source}) changes how programs start, so it is never published; nothing was written`,
    {
      hint: `remove or rename the key in the bundle (and check who added it: \`git log -p\` on the bundle); if you really want ${name} published, add it to allowNames in your own ~/.config/mcp-secrets/config.yaml`,
      details: { name, path: [...path], source },
    },
  );
}

function unsupported(path: readonly string[], source: string, what: string): AppError {
  return new AppError('E_UNSUPPORTED_VALUE', `unsupported value at ${describePath(path)} in ${source}: ${what}`, {
    hint: 'make it a string, number, boolean or null, or a map of those (each list item needs its own key)',
    details: { path: [...path], source },
  });
}

/** A key path for messages: keys are not secret in SOPS files, but may hold control characters. */
export function describePath(path: readonly string[]): string {
  return path.map((segment) => (/^[A-Za-z0-9_-]+$/.test(segment) ? segment : JSON.stringify(sanitizeForMessage(segment, 80)))).join('.');
}
