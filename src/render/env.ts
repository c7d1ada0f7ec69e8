/**
 * Entries → `.env` bytes (DESIGN.md "Outputs"; the rules with examples: docs/output-formats.md).
 *
 * Every value must read back exactly with three readers, which disagree about quoting:
 * - npm `dotenv` (17): turns every CR into LF before parsing; bare values stop at `#` and are
 *   trimmed; single and backtick quotes are raw; double quotes turn `\n` and `\r` into LF and CR
 *   and keep every other backslash (so `\"` stays two characters).
 * - bash `set -a; . file`: single quotes are raw; double quotes give `$`, backquotes and `\` a
 *   meaning; bare words are expanded (`~`, `$`, globs, quotes).
 * - python-dotenv (0.21, `interpolate=False`): single quotes decode `\\` and `\'`; double quotes
 *   decode `\\ \' \" \a \b \f \n \r \t \v`; bare values stop at ` #` and are right-trimmed.
 *
 * So each value takes the first of these forms that all three read back unchanged:
 * 1. bare, for text of only `[A-Za-z0-9_@%+,./:=-]` (and the empty value);
 * 2. single-quoted, when it has no `'`, no `\\` and does not end in `\`;
 * 3. double-quoted, when it has no `"`, `$` or backquote, and every `\` is followed by a
 *    character none of the readers treats as an escape.
 * A value none of them carries (a CR, a NUL, a lone surrogate, `\\`, or both quote kinds, …) is
 * `E_UNREPRESENTABLE`, naming the entry: never a mangled value. So is a name bash cannot assign.
 *
 * That is the `compat` dialect (the default). An output read by one kind of reader only can carry
 * more (`.mcp-secrets.yaml` `dialect:`):
 * - `bash`: bare, or single-quoted with each `'` written `'\''` (anything but NUL);
 * - `dotenv` (npm dotenv): bare, single, backtick or double quotes, whichever the value does not
 *   contain (a CR only as `\r` in double quotes, so not beside a literal `\n` or `\r`).
 *
 * Pure and deterministic: equal inputs give byte-equal output.
 */

import { AppError } from '../errors.js';
import type { Entry } from './entries.js';

/** How one value is written after `NAME=`. */
export type EnvForm = 'bare' | 'single' | 'double' | 'bash-single' | 'backtick' | 'double-escaped';

/** Which readers an `.env` output must satisfy (see the module comment). */
export type EnvDialect = 'compat' | 'bash' | 'dotenv';

const BARE = /^[A-Za-z0-9_@%+,./:=-]*$/;
const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const DOTENV_NAME = /^[\w.-]+$/;
// CR: npm dotenv turns it into LF and only double-quoted `\r` makes one, which bash keeps as text.
// NUL: no environment variable can hold it. Lone surrogates: not encodable as UTF-8.
const NEVER = /[\r\0]|\p{Surrogate}/u;
/** Characters after a `\` that some reader treats as an escape inside double quotes. */
const DOUBLE_ESCAPES = new Set(['\\', "'", '"', 'a', 'b', 'f', 'n', 'r', 't', 'v', '$', '`', '\n']);

/**
 * Variables bash will not let a file set, or whose value it replaces on every read: assigning
 * them cannot read back.
 */
const BASH_RESERVED = new Set([
  'BASHOPTS', 'BASHPID', 'BASH_ALIASES', 'BASH_ARGC', 'BASH_ARGV', 'BASH_ARGV0', 'BASH_CMDS', 'BASH_COMMAND',
  'BASH_LINENO', 'BASH_REMATCH', 'BASH_SOURCE', 'BASH_SUBSHELL', 'BASH_VERSINFO', 'COMP_WORDBREAKS', 'DIRSTACK',
  'EPOCHREALTIME', 'EPOCHSECONDS', 'EUID', 'FUNCNAME', 'GROUPS', 'HISTCMD', 'LINENO', 'PPID', 'RANDOM', 'SECONDS',
  'SHELLOPTS', 'SRANDOM', 'UID',
]);

/**
 * The simplest form that npm dotenv, bash and python-dotenv all read back as `value`, or null
 * when there is none.
 */
export function envFormOf(value: string): EnvForm | null {
  if (NEVER.test(value)) return null;
  if (BARE.test(value)) return 'bare';
  if (!value.includes("'") && !value.includes('\\\\') && !value.endsWith('\\')) return 'single';
  if (/["$`]/.test(value)) return null;
  for (let i = value.indexOf('\\'); i !== -1; i = value.indexOf('\\', i + 1)) {
    const next = value[i + 1];
    if (next === undefined || DOUBLE_ESCAPES.has(next)) return null;
  }
  return 'double';
}

/** The simplest form bash `set -a; . file` reads back as `value`, or null (NUL, lone surrogates). */
export function bashFormOf(value: string): EnvForm | null {
  if (/\0|\p{Surrogate}/u.test(value)) return null;
  return BARE.test(value) ? 'bare' : 'bash-single';
}

/** The simplest form npm dotenv reads back as `value`, or null. */
export function dotenvFormOf(value: string): EnvForm | null {
  if (/\0|\p{Surrogate}/u.test(value)) return null;
  if (BARE.test(value)) return 'bare';
  // Its quoted patterns take `\'`, `\`` and `\"` as escaped quotes: a value ending in `\` would
  // swallow its closing quote (and whatever follows, up to the next quote in the file).
  if (value.endsWith('\\')) return null;
  // dotenv turns every CR in the file into LF: only `\r` inside double quotes gives a CR back.
  if (!value.includes('\r')) {
    if (!value.includes("'")) return 'single';
    if (!value.includes('`')) return 'backtick';
  }
  // In double quotes dotenv turns `\n` and `\r` into LF and CR and leaves everything else raw.
  if (!value.includes('"') && !/\\[nr]/.test(value)) return value.includes('\r') ? 'double-escaped' : 'double';
  return null;
}

const FORM_OF: Readonly<Record<EnvDialect, (value: string) => EnvForm | null>> = { compat: envFormOf, bash: bashFormOf, dotenv: dotenvFormOf };

/** Who must read the file back, for the E_UNREPRESENTABLE message. */
const READERS: Readonly<Record<EnvDialect, string>> = { compat: 'every reader (dotenv, bash, python-dotenv)', bash: 'bash', dotenv: 'dotenv' };

/**
 * Renders the `.env` file: a comment header naming the source and its sha256, then one
 * `NAME=value` line per entry in bundle order, each value in the form {@link envFormOf} picks.
 *
 * @param source.path the bundle's path as it should appear in the header.
 * @param source.sha256 hex sha256 of the encrypted bundle.
 * @throws AppError `E_UNREPRESENTABLE` naming the first entry whose name or value cannot be
 *   written for all readers (the value is never in the message).
 */
export function renderEnv(entries: readonly Entry[], source: { path: string; sha256: string }, dialect: EnvDialect = 'compat'): Uint8Array {
  const lines = [
    `# Written by mcp-secrets from ${headerText(source.path)}; do not edit: changes are overwritten.`,
    `# source sha256: ${headerText(source.sha256)}`,
  ];
  for (const entry of entries) lines.push(`${entry.name}=${encodeValue(entry, dialect)}`);
  return new TextEncoder().encode(lines.join('\n') + '\n');
}

function encodeValue(entry: Entry, dialect: EnvDialect): string {
  // npm dotenv takes any `[\w.-]+` name; bash (compat and bash dialects) only shell variables.
  const nameOk = dialect === 'dotenv' ? DOTENV_NAME.test(entry.name) : NAME.test(entry.name) && !BASH_RESERVED.has(entry.name);
  if (!nameOk) {
    throw new AppError('E_UNREPRESENTABLE', `entry name cannot be a shell variable in .env: ${entry.name}`, {
      hint: 'rename the key in the bundle: names must start with a letter or `_` and not be one bash reserves (UID, RANDOM, …)',
      details: { name: entry.name },
    });
  }
  const form = FORM_OF[dialect](entry.value);
  switch (form) {
    case 'bare':
      return entry.value;
    case 'single':
      return `'${entry.value}'`;
    case 'double':
      return `"${entry.value}"`;
    case 'bash-single':
      return `'${entry.value.replaceAll("'", "'\\''")}'`;
    case 'backtick':
      return `\`${entry.value}\``;
    case 'double-escaped':
      return `"${entry.value.replaceAll('\r', '\\r')}"`;
    case null:
      throw new AppError('E_UNREPRESENTABLE', `value cannot be written to .env for ${READERS[dialect]}: entry ${entry.name}`, {
        hint:
          dialect === 'compat'
            ? 'change the value in the bundle, or give this output a `dialect: bash` or `dotenv` in .mcp-secrets.yaml if only one kind of reader uses it: see docs/output-formats.md for what each quoting carries (no form carries a carriage return, a NUL or `\\\\` for every reader)'
            : 'change the value in the bundle: see docs/output-formats.md for what each dialect carries (no .env carries a NUL)',
        details: { name: entry.name },
      });
  }
}

/** Header text stays on its line: control and line-separator characters are escaped. */
function headerText(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}
