/**
 * `.mcp-secrets.yaml` at the repo root (DESIGN.md "Consumers"): named profiles and the outputs
 * published under home. Optional: absent means today's two outputs with every entry, exactly.
 *
 * Validation happens in two steps: the JSON Schema (`schemas/mcp-secrets-config.schema.json`,
 * the document users and editors read) for shape, then the rules a schema cannot say (a profile
 * named by an output exists, file names are unique and not ours, a dialect only on env outputs).
 * Every error names the file, the line and the key path.
 *
 * The file comes from the repo, so it is data, never code: it can choose what is published and
 * to whom, which is why a widening of it needs the user's consent (see `config-trust.ts`).
 */
import path from 'node:path';
import type { Document, Node as YamlNode } from 'yaml';
import { AppError, sanitizeForMessage } from '../errors.js';
import type { Profile } from '../consumers/select.js';
import { isStateName } from '../publish/home-names.js';

export const REPO_CONFIG_FILE = '.mcp-secrets.yaml';

export type OutputFormat = 'env' | 'secretstore' | 'json';
export type EnvDialect = 'compat' | 'bash' | 'dotenv';

export interface OutputSpec {
  /** One path component inside home. */
  file: string;
  format: OutputFormat;
  /** Only this profile's entries; absent = every entry. */
  profile?: string;
  /** For `env` outputs (default `compat`). */
  dialect?: EnvDialect;
}

export interface RepoConfig {
  version: 1;
  profiles: Readonly<Record<string, Profile>>;
  outputs: readonly OutputSpec[];
  /** Where it came from (absolute path), or null for the built-in default. */
  file: string | null;
}

/** The outputs when the repo has no config: DESIGN's two files, every entry. */
export const DEFAULT_OUTPUTS: readonly OutputSpec[] = Object.freeze([
  Object.freeze({ file: '.env', format: 'env', dialect: 'compat' } as OutputSpec),
  Object.freeze({ file: 'console-secrets.json', format: 'secretstore' } as OutputSpec),
]);

export const DEFAULT_REPO_CONFIG: RepoConfig = Object.freeze({ version: 1, profiles: Object.freeze({}), outputs: DEFAULT_OUTPUTS, file: null });

/**
 * Names in home that are ours and never an output: the log and socket directories, state files,
 * and anything with our dot-prefix (temp files, locks).
 */
export function isReservedHomeName(name: string): boolean {
  return isStateName(name) || name === '.' || name === '..';
}

interface ConfigProblem {
  keyPath: string;
  line: number | null;
  message: string;
}

function lineOf(doc: Document, counter: { linePos(offset: number): { line: number } }, keyPath: (string | number)[]): number | null {
  // The deepest node that exists on the path: an error about a missing key points at its parent.
  for (let depth = keyPath.length; depth >= 0; depth--) {
    const node = doc.getIn(keyPath.slice(0, depth), true) as YamlNode | undefined;
    if (node && typeof node === 'object' && 'range' in node && node.range) return counter.linePos(node.range[0]).line;
  }
  return null;
}

function fail(file: string, problems: ConfigProblem[]): never {
  const lines = problems.slice(0, 10).map((p) => `  ${p.line === null ? '' : `line ${p.line}: `}${p.keyPath || '(top level)'}: ${p.message}`);
  throw new AppError('E_PARSE', `${file} is not a valid mcp-secrets config:\n${lines.join('\n')}`, {
    hint: `fix ${path.basename(file)} (its schema is schemas/mcp-secrets-config.schema.json; docs/consumers.md has examples), or remove it to use the two default outputs`,
  });
}

function keyPathText(parts: (string | number)[]): string {
  return parts.map((p) => (typeof p === 'number' ? `[${p}]` : `.${sanitizeForMessage(p, 64)}`)).join('').replace(/^\./, '');
}

interface SchemaCheck {
  ok: boolean;
  errors: { instancePath: string; message: string; params: Record<string, unknown> }[];
}

/**
 * The schema's validator, generated ahead of time by ajv (scripts/gen-validators.mjs): loading and
 * compiling ajv here cost ~90 ms of every `run` of a repo with a config. It loads only when a repo
 * has one. A unit test fails when the generated file no longer matches the schema.
 */
async function checkSchema(value: unknown): Promise<SchemaCheck> {
  const { validate } = (await import('./generated/repo-config-validator.js')) as {
    validate: ((value: unknown) => boolean) & { errors?: { instancePath: string; message?: string; params: object }[] | null };
  };
  const ok = validate(value);
  return { ok, errors: (validate.errors ?? []).map((e) => ({ instancePath: e.instancePath, message: e.message ?? 'invalid', params: e.params as Record<string, unknown> })) };
}

/**
 * Parses and validates the text of a `.mcp-secrets.yaml`.
 *
 * @param file the file's path, named in errors.
 * @throws AppError `E_PARSE` naming the file, line and key path of each problem (up to ten).
 */
export async function parseRepoConfig(text: string, file: string): Promise<RepoConfig> {
  // yaml's Document API loads only when a repo has a config: `run` and `sync` without one skip it
  const { isMap, LineCounter, parseDocument } = await import('yaml');
  const counter = new LineCounter();
  const doc = parseDocument(text, { lineCounter: counter, uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    fail(file, doc.errors.map((e) => ({ keyPath: '', line: e.linePos?.[0]?.line ?? null, message: sanitizeForMessage((e.message.split('\n')[0] ?? 'YAML error').replace(/ at line \d+, column \d+:?$/, '')) })));
  }
  if (!isMap(doc.contents)) fail(file, [{ keyPath: '', line: 1, message: 'expected a mapping with `version: 1`' }]);
  let value: unknown;
  try {
    // No aliases: a config is a few lines, and aliases are how YAML bombs are made.
    value = doc.toJS({ maxAliasCount: 0 });
  } catch {
    fail(file, [{ keyPath: '', line: null, message: 'YAML aliases (*name) are not allowed here' }]);
  }
  const { ok, errors } = await checkSchema(value);
  if (!ok) {
    fail(
      file,
      errors.map((e) => {
        const parts = e.instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~')).map((p) => (/^\d+$/.test(p) ? Number(p) : p));
        const extra = typeof e.params.additionalProperty === 'string' ? ` (${sanitizeForMessage(e.params.additionalProperty, 64)})` : '';
        const allowed = Array.isArray(e.params.allowedValues) ? `: ${e.params.allowedValues.join(', ')}` : '';
        return { keyPath: keyPathText(parts), line: lineOf(doc, counter, parts), message: `${e.message}${extra}${allowed}` };
      }),
    );
  }
  const raw = value as { version: 1; profiles?: Record<string, Profile>; outputs?: OutputSpec[] };
  const profiles = raw.profiles ?? {};
  const outputs = raw.outputs ?? [...DEFAULT_OUTPUTS];
  const problems: ConfigProblem[] = [];
  const seen = new Set<string>();
  outputs.forEach((o, i) => {
    const at = (key: string): Pick<ConfigProblem, 'keyPath' | 'line'> => ({ keyPath: `outputs[${i}].${key}`, line: lineOf(doc, counter, ['outputs', i, key]) });
    if (isReservedHomeName(o.file)) problems.push({ ...at('file'), message: `"${o.file}" is reserved for mcp-secrets' own files in home` });
    if (seen.has(o.file)) problems.push({ ...at('file'), message: `"${o.file}" is listed twice` });
    seen.add(o.file);
    if (o.profile !== undefined && !Object.hasOwn(profiles, o.profile)) problems.push({ ...at('profile'), message: `no profile named "${sanitizeForMessage(o.profile, 64)}" in profiles` });
    if (o.dialect !== undefined && o.format !== 'env') problems.push({ ...at('dialect'), message: 'a dialect applies to env outputs only' });
  });
  if (problems.length > 0) fail(file, problems);
  const frozenOutputs = outputs.map((o) => Object.freeze(o.format === 'env' ? { ...o, dialect: o.dialect ?? 'compat' } : { ...o }));
  return Object.freeze({ version: 1 as const, profiles: Object.freeze(profiles), outputs: Object.freeze(frozenOutputs), file });
}

/**
 * The repo's config, or the default when the repo has none.
 *
 * @param readText reads a small file, resolving null when it does not exist (the bounded reader
 *   in production; a map in tests).
 */
export async function loadRepoConfig(repo: string, readText: (file: string) => Promise<string | null>): Promise<RepoConfig> {
  const file = path.join(repo, REPO_CONFIG_FILE);
  const text = await readText(file);
  return text === null ? DEFAULT_REPO_CONFIG : parseRepoConfig(text, file);
}
