/**
 * The user's own configuration: `$XDG_CONFIG_HOME/mcp-secrets/config.yaml` (default
 * `~/.config/mcp-secrets/config.yaml`). Never read from the repo: what it allows (forbidden entry
 * names today, hooks later) must come from the person on this machine, not from whoever can push.
 *
 * Rules: absent means the defaults; the file must be a regular file owned by the user and not
 * writable by others; it is read bounded, parsed strictly (duplicate keys refused) and checked
 * against {@link USER_CONFIG_SCHEMA}; every problem is an AppError naming the file and the key.
 */
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { ErrorObject } from 'ajv';
import { AppError, sanitizeForMessage } from '../errors.js';
import { readHandleUpTo } from '../fsx/read-bounded.js';

/** The resolved user configuration (frozen). */
export interface UserConfig {
  /** Where it was read from, or would be. */
  readonly file: string;
  /** Whether the file exists. */
  readonly found: boolean;
  /** Entry names that are otherwise forbidden and that this user allows to be published. */
  readonly allowNames: readonly string[];
  /** Change hooks by output file name (one path component in home), run by the daemon. */
  readonly hooks: Readonly<Record<string, OutputHook>>;
}

/**
 * What to do when the entries an output renders change (DESIGN.md "Consumers"): run an argv (no
 * shell) or send a signal to the process named by a pid file. Exactly one of `run` / `pidFile`.
 */
export interface OutputHook {
  readonly run?: readonly string[];
  readonly pidFile?: string;
  /** For `pidFile` (default SIGHUP). */
  readonly signal: HookSignal;
  /** A `run` hook still running after this is killed (default 30 s). */
  readonly timeoutMs: number;
}

export const HOOK_SIGNALS = ['SIGHUP', 'SIGUSR1', 'SIGUSR2', 'SIGTERM', 'SIGINT'] as const;
export type HookSignal = (typeof HOOK_SIGNALS)[number];
export const DEFAULT_HOOK_TIMEOUT_MS = 30_000;

/** A config file is a few lines; anything bigger is not one. */
export const MAX_USER_CONFIG_BYTES = 64 * 1024;

/** JSON Schema of config.yaml. New settings (hooks) are added here, each optional. */
export const USER_CONFIG_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  properties: {
    version: { const: 1 },
    allowNames: {
      type: 'array',
      maxItems: 256,
      uniqueItems: true,
      items: { type: 'string', pattern: '^[A-Z0-9_]{1,128}$' },
    },
    hooks: {
      type: 'object',
      maxProperties: 64,
      propertyNames: { type: 'string', pattern: '^[^/\\\\\u0000]{1,255}$' },
      additionalProperties: {
        type: 'object',
        additionalProperties: false,
        properties: {
          run: { type: 'array', minItems: 1, maxItems: 64, items: { type: 'string', minLength: 1, maxLength: 4096 } },
          pidFile: { type: 'string', minLength: 1, maxLength: 4096 },
          signal: { enum: [...HOOK_SIGNALS] },
          timeoutSeconds: { type: 'number', exclusiveMinimum: 0, maximum: 3600 },
        },
      },
    },
  },
} as const;

type Env = Readonly<Record<string, string | undefined>>;

/** `$XDG_CONFIG_HOME/mcp-secrets/config.yaml` when XDG_CONFIG_HOME is absolute, else `~/.config/…`. */
export function userConfigPath(env: Env): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : path.join(env.HOME ?? os.homedir(), '.config');
  return path.join(base, 'mcp-secrets', 'config.yaml');
}

let validator: Promise<(value: unknown) => ErrorObject[]> | null = null;

/** ajv loads only when a user has a config file: a plain `sync` pays nothing for it. */
function validate(value: unknown): Promise<ErrorObject[]> {
  validator ??= import('ajv').then(({ Ajv }) => {
    // no meta-schema check at run time (~60 ms): test/unit/config/schemas.test.ts makes it once, in CI
    const check = new Ajv({ allErrors: true, strict: true, validateSchema: false }).compile(USER_CONFIG_SCHEMA);
    return (v: unknown) => (check(v) ? [] : [...(check.errors ?? [])]);
  });
  return validator.then((check) => check(value));
}

function describeSchemaError(e: ErrorObject): string {
  const where = e.instancePath === '' ? 'the top level' : e.instancePath.slice(1).replace(/\//g, '.');
  if (e.keyword === 'additionalProperties') return `${where}: unknown setting "${sanitizeForMessage(String(e.params.additionalProperty), 60)}" (known: version, allowNames, hooks; a hook knows run, pidFile, signal, timeoutSeconds)`;
  if (e.keyword === 'pattern' && e.instancePath.startsWith('/hooks')) return `${where}: a hook is keyed by an output's file name in home (no /)`;
  if (e.keyword === 'propertyNames') return `${where}: a hook is keyed by an output's file name in home (no /)`;
  if (e.keyword === 'pattern') return `${where}: an entry name is upper-case letters, digits and _ (e.g. NODE_OPTIONS)`;
  if (e.keyword === 'const') return `${where}: must be 1`;
  return `${where}: ${e.message ?? e.keyword}`;
}

/** Reads at most the limit from a regular file, without blocking on a FIFO; null when absent. */
async function readSmallFile(file: string): Promise<Buffer | null> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOFOLLOW);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    if (code === 'ELOOP') throw new AppError('E_INSECURE_PATH', `the user config is a symbolic link: ${file}`, { hint: `replace it with the file itself: ${file}` });
    throw new AppError('E_PARSE', `cannot read the user config ${file} (${code ?? 'error'})`, { hint: 'check its permissions', cause: error });
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw new AppError('E_PARSE', `the user config is not a regular file: ${file}`, { hint: `make ${file} a plain YAML file, or remove it` });
    const uid = process.getuid?.();
    if (uid !== undefined && (stat.uid !== uid || (stat.mode & 0o022) !== 0)) {
      throw new AppError('E_INSECURE_PATH', `the user config can be changed by someone else: ${file}`, {
        hint: `it decides what may be published: chown "$(id -u)" ${file} && chmod go-w ${file}`,
      });
    }
    if (stat.size > MAX_USER_CONFIG_BYTES) throw new AppError('E_PARSE', `the user config is ${stat.size} bytes, more than ${MAX_USER_CONFIG_BYTES}: ${file}`, { hint: 'it holds a few settings; check the path' });
    const bytes = await readHandleUpTo(handle, stat.size, MAX_USER_CONFIG_BYTES);
    if (bytes === null) throw new AppError('E_PARSE', `the user config is larger than ${MAX_USER_CONFIG_BYTES} bytes: ${file}`, { hint: 'it holds a few settings; check the path' });
    return bytes;
  } finally {
    await handle.close();
  }
}

/** Parses and validates config.yaml text. Exported for tests; {@link loadUserConfig} reads the file. */
export async function parseUserConfig(text: string, file: string): Promise<UserConfig> {
  const { parseDocument } = await import('yaml');
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const first = doc.errors[0];
  if (first !== undefined) {
    throw new AppError('E_PARSE', `${file}: YAML error (${first.code}) at line ${first.linePos?.[0]?.line ?? '?'}`, { hint: 'fix the YAML syntax (e.g. `allowNames: [NODE_OPTIONS]`)' });
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 0 }) ?? {};
  } catch {
    throw new AppError('E_PARSE', `${file}: YAML aliases are not allowed here`, { hint: 'write the values out' });
  }
  const errors = await validate(value);
  if (errors.length > 0) {
    throw new AppError('E_PARSE', `${file}: ${errors.slice(0, 3).map(describeSchemaError).join('; ')}`, {
      hint: 'the user config knows `version: 1` and `allowNames: [NAME, …]` (see docs/security.md, "Trust in the bundle")',
    });
  }
  const raw = value as { allowNames?: string[]; hooks?: Record<string, { run?: string[]; pidFile?: string; signal?: HookSignal; timeoutSeconds?: number }> };
  const allowNames = raw.allowNames ?? [];
  const hooks: Record<string, OutputHook> = Object.create(null) as Record<string, OutputHook>;
  for (const [output, hook] of Object.entries(raw.hooks ?? {})) {
    // exactly one action (a JSON Schema `oneOf` of `required` trips ajv's strict mode)
    if ((hook.run === undefined) === (hook.pidFile === undefined)) {
      throw new AppError('E_PARSE', `${file}: hooks.${sanitizeForMessage(output, 60)} needs exactly one of \`run: [argv…]\` or \`pidFile: PATH\``, { hint: 'e.g. `run: [systemctl, --user, restart, my-mcp]`' });
    }
    if (hook.pidFile !== undefined && !path.isAbsolute(hook.pidFile)) {
      throw new AppError('E_PARSE', `${file}: hooks.${sanitizeForMessage(output, 60)}.pidFile must be an absolute path`, { hint: 'e.g. `pidFile: /run/user/1000/my-mcp.pid`' });
    }
    hooks[output] = Object.freeze({
      ...(hook.run ? { run: Object.freeze([...hook.run]) } : {}),
      ...(hook.pidFile ? { pidFile: hook.pidFile } : {}),
      signal: hook.signal ?? 'SIGHUP',
      timeoutMs: Math.round((hook.timeoutSeconds ?? DEFAULT_HOOK_TIMEOUT_MS / 1000) * 1000),
    });
  }
  return Object.freeze({ file, found: true, allowNames: Object.freeze([...allowNames]), hooks: Object.freeze(hooks) });
}

/**
 * Loads the user config, or the defaults when there is none.
 *
 * @throws AppError `E_PARSE` (unreadable, not a regular file, too big, bad YAML, unknown or invalid
 *   setting) or `E_INSECURE_PATH` (a symlink, or writable by someone else).
 */
export async function loadUserConfig(env: Env): Promise<UserConfig> {
  const file = userConfigPath(env);
  const bytes = await readSmallFile(file);
  if (bytes === null) return Object.freeze({ file, found: false, allowNames: Object.freeze([]), hooks: Object.freeze({}) });
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new AppError('E_PARSE', `${file}: not UTF-8 text`, { hint: 'save it as UTF-8 YAML' });
  }
  return parseUserConfig(text, file);
}
