/**
 * Where the age identity comes from (DESIGN.md "Identity"), in this order: the OS keychain (every
 * stored identity), `SOPS_AGE_KEY`, `SOPS_AGE_KEY_FILE`, sops's default key file ({@link defaultKeyFilePath}).
 *
 * Every source is tried and recorded as an attempt with its outcome, so that one error can say
 * what was looked at. A keychain failure is an attempt like any other: the env and file sources
 * are still tried, and nothing is ever stored anywhere weaker than the keychain.
 */
import os from 'node:os';
import path from 'node:path';
import { AppError, isAppError, sanitizeForMessage } from '../errors.js';
import { parseIdentities, recipientOf, type ParsedIdentity } from './age-key.js';
import { CAUSE_TEXT, keychainFailureCause } from './keychain/errors.js';
import type { Keychain } from './keychain/types.js';
import { READ_LIMITS, readBoundedText } from '../fsx/read-bounded.js';

export type IdentitySource = 'keychain' | 'env' | 'file';

export interface ResolvedIdentity {
  readonly line: string;
  readonly recipient: string;
  readonly source: IdentitySource;
  /** `keychain`, `SOPS_AGE_KEY` or the file's path: where this identity was found. */
  readonly origin: string;
}

/** One source looked at, e.g. `{source: 'SOPS_AGE_KEY', outcome: 'not set'}`. Never holds a secret. */
export interface IdentityAttempt {
  readonly source: string;
  readonly outcome: string;
}

export interface Resolution {
  /** Each identity once (by recipient), first source wins, in lookup order. */
  readonly identities: ResolvedIdentity[];
  readonly attempts: IdentityAttempt[];
}

export interface ResolveOptions {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** null: no keychain (MCP_SECRETS_KEYCHAIN=none). */
  readonly keychain: Keychain | null;
  /** Store identities found only in env or a file into the keychain. */
  readonly cache: boolean;
  /** Told once per source whose identities were cached (a path or variable name, never a key). */
  readonly onNotice?: (message: string) => void;
  /** Reads a key file as UTF-8; injectable for tests. */
  readonly readFile?: (file: string) => Promise<string>;
}

/**
 * sops's default key file, where sops itself looks: `$XDG_CONFIG_HOME/sops/age/keys.txt` when
 * XDG_CONFIG_HOME is set (absolute), else the OS's user config dir (Go's `os.UserConfigDir`):
 * `~/.config` on Linux and the BSDs, `~/Library/Application Support` on macOS, `%AppData%` on
 * Windows.
 *
 * @param platform default `process.platform`; paths are built with that platform's separators.
 */
export function defaultKeyFilePath(env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform = process.platform): string {
  const p = platform === 'win32' ? path.win32 : path.posix;
  const xdg = env.XDG_CONFIG_HOME;
  if (xdg && p.isAbsolute(xdg)) return p.join(xdg, 'sops', 'age', 'keys.txt');
  const home = env.HOME || (platform === 'win32' ? env.USERPROFILE : undefined) || os.homedir();
  let configHome: string;
  if (platform === 'darwin') configHome = p.join(home, 'Library', 'Application Support');
  else if (platform === 'win32') configHome = env.APPDATA || p.join(home, 'AppData', 'Roaming');
  else configHome = p.join(home, '.config');
  return p.join(configHome, 'sops', 'age', 'keys.txt');
}

function countText(n: number): string {
  return n === 1 ? '1 identity' : `${n} identities`;
}

function keychainOutcome(error: unknown): string {
  const cause = keychainFailureCause(error);
  if (cause === null) throw error;
  return `E_KEYCHAIN: ${CAUSE_TEXT[cause].label}`;
}

function parseOutcome(error: unknown): string {
  if (isAppError(error) && error.code === 'E_PARSE') return `E_PARSE: ${error.message}`;
  throw error;
}

/**
 * Reads an age key file: the user chose this path, so a symlink is followed (dotfile managers
 * link keys.txt), but only a regular file of at most 1 MiB is read: a FIFO would block for good.
 */
export function readKeyFile(file: string): Promise<string> {
  return readBoundedText(file, { limit: READ_LIMITS.keyFile, followSymlinks: true, what: 'the age key file' });
}

function readErrorOutcome(error: unknown): string {
  if (isAppError(error)) return `${error.code}: ${error.message}`;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'is a directory';
    default:
      return `cannot read${typeof code === 'string' ? ` (${code})` : ''}`;
  }
}

/**
 * Looks up every identity, in the contract's order, and records each attempt.
 * Never throws for an expected failure (keychain down, missing or bad file): those are attempts.
 */
export async function resolveIdentities(options: ResolveOptions): Promise<Resolution> {
  const { env, keychain } = options;
  const readFile = options.readFile ?? readKeyFile;
  const attempts: IdentityAttempt[] = [];
  const identities: ResolvedIdentity[] = [];
  const known = new Set<string>();

  const add = (found: readonly ParsedIdentity[], source: IdentitySource, origin: string): string => {
    let fresh = 0;
    for (const identity of found) {
      if (known.has(identity.recipient)) continue;
      known.add(identity.recipient);
      identities.push({ line: identity.line, recipient: identity.recipient, source, origin });
      fresh += 1;
    }
    if (found.length === 0) return 'no identity in it';
    const repeated = found.length - fresh;
    return `found ${countText(found.length)}${repeated > 0 ? ` (${repeated} already found above)` : ''}`;
  };

  let keychainUsable = false;
  if (keychain === null) {
    attempts.push({ source: 'keychain', outcome: 'disabled (MCP_SECRETS_KEYCHAIN=none)' });
  } else {
    const found = await readKeychain(keychain);
    keychainUsable = found.usable;
    const parts: string[] = [];
    if (found.identities.length > 0) parts.push(add(found.identities, 'keychain', 'keychain'));
    else if (found.problems.length === 0) parts.push('no identity stored');
    attempts.push({ source: 'keychain', outcome: [...parts, ...found.problems].join('; ') });
  }

  const envKey = env.SOPS_AGE_KEY;
  if (envKey === undefined || envKey.trim() === '') {
    attempts.push({ source: 'SOPS_AGE_KEY', outcome: 'not set' });
  } else {
    try {
      attempts.push({ source: 'SOPS_AGE_KEY', outcome: add(await parseIdentities(envKey, { origin: 'SOPS_AGE_KEY' }), 'env', 'SOPS_AGE_KEY') });
    } catch (error) {
      attempts.push({ source: 'SOPS_AGE_KEY', outcome: parseOutcome(error) });
    }
  }

  const tryFile = async (file: string, label: string): Promise<void> => {
    let text: string;
    try {
      text = await readFile(file);
    } catch (error) {
      attempts.push({ source: label, outcome: readErrorOutcome(error) });
      return;
    }
    try {
      attempts.push({ source: label, outcome: add(await parseIdentities(text, { origin: file }), 'file', file) });
    } catch (error) {
      attempts.push({ source: label, outcome: parseOutcome(error) });
    }
  };

  const keyFile = env.SOPS_AGE_KEY_FILE;
  if (keyFile === undefined || keyFile === '') attempts.push({ source: 'SOPS_AGE_KEY_FILE', outcome: 'not set' });
  else await tryFile(keyFile, `$SOPS_AGE_KEY_FILE=${keyFile}`);

  const defaultFile = defaultKeyFilePath(env);
  await tryFile(defaultFile, defaultFile);

  if (options.cache && keychain !== null && keychainUsable) {
    await cacheIntoKeychain(keychain, identities, attempts, options.onNotice);
  }
  return { identities, attempts };
}

interface KeychainRead {
  identities: ParsedIdentity[];
  problems: string[];
  /** The keychain could be listed (so caching into it may work). */
  usable: boolean;
}

async function readKeychain(keychain: Keychain): Promise<KeychainRead> {
  let recipients: string[];
  try {
    recipients = await keychain.listRecipients();
  } catch (error) {
    return { identities: [], problems: [keychainOutcome(error)], usable: false };
  }
  const identities: ParsedIdentity[] = [];
  const problems: string[] = [];
  for (const account of recipients) {
    let line: string | null;
    try {
      line = await keychain.get(account);
    } catch (error) {
      problems.push(`${account}: ${keychainOutcome(error)}`);
      continue;
    }
    if (line === null) continue;
    try {
      // The account name is only a label: the recipient is always derived from the key itself.
      identities.push({ line, recipient: await recipientOf(line) });
    } catch (error) {
      if (!isAppError(error)) throw error;
      problems.push(`${account}: stored item is not a valid age secret key`);
    }
  }
  return { identities, problems, usable: true };
}

async function cacheIntoKeychain(
  keychain: Keychain,
  identities: readonly ResolvedIdentity[],
  attempts: IdentityAttempt[],
  onNotice: ((message: string) => void) | undefined,
): Promise<void> {
  const byOrigin = new Map<string, ResolvedIdentity[]>();
  for (const identity of identities) {
    if (identity.source === 'keychain') continue;
    byOrigin.set(identity.origin, [...(byOrigin.get(identity.origin) ?? []), identity]);
  }
  for (const [origin, group] of byOrigin) {
    try {
      for (const identity of group) await keychain.set(identity.recipient, identity.line);
    } catch (error) {
      attempts.push({ source: 'keychain (caching)', outcome: `${keychainOutcome(error)}; not cached` });
      return;
    }
    const what = group.length === 1 ? 'the identity' : `the ${group.length} identities`;
    const next = group[0]?.source === 'env' ? `you can unset ${origin}` : 'you can delete the plaintext file';
    onNotice?.(`${what} from ${origin} ${group.length === 1 ? 'is' : 'are'} now in the OS keychain; ${next}`);
  }
}

/** The attempts as indented lines `  source: outcome`, for error messages (control characters in paths escaped). */
export function describeAttempts(attempts: readonly IdentityAttempt[]): string {
  return attempts.map((a) => `  ${sanitizeForMessage(a.source, 300)}: ${sanitizeForMessage(a.outcome, 300)}`).join('\n');
}

const IMPORT_HINT = 'run `mcp-secrets identity import` (paste the key on stdin, or `--file keys.txt`, or `--from-env`)';

/**
 * The error to raise when no identity opens the bundle.
 * - nothing found at all → E_NO_IDENTITY, listing every attempt;
 * - identities found, none is a recipient of the bundle → E_IDENTITY_MISMATCH, listing both sides.
 * Either way the hint is the next step; a keychain failure's own hint comes first.
 *
 * @param bundleRecipients the bundle's age recipients (public), or null when unknown.
 * @param triedRecipients recipients of the identities that were tried.
 */
export function noIdentityError(
  attempts: readonly IdentityAttempt[],
  bundleRecipients: readonly string[] | null,
  triedRecipients: readonly string[],
  options: { bundle?: string } = {},
): AppError {
  const bundle = options.bundle ?? 'the bundle';
  const keychainHint = keychainHintOf(attempts);
  const details = { attempts: attempts.map((a) => ({ ...a })), bundleRecipients, triedRecipients: [...triedRecipients] };
  if (triedRecipients.length === 0) {
    return new AppError('E_NO_IDENTITY', `no age identity found to open ${bundle}; tried:\n${describeAttempts(attempts)}`, {
      hint: keychainHint ? `${keychainHint}; or ${IMPORT_HINT}` : IMPORT_HINT,
      details,
    });
  }
  const wanted = bundleRecipients && bundleRecipients.length > 0 ? bundleRecipients.join(', ') : 'unknown recipients';
  return new AppError(
    'E_IDENTITY_MISMATCH',
    `none of your age identities opens ${bundle}: it is encrypted to ${wanted}; you have ${triedRecipients.join(', ')}; tried:\n${describeAttempts(attempts)}`,
    {
      hint: `ask a teammate who can open it to add your recipient to .sops.yaml and run \`sops updatekeys\`, or ${IMPORT_HINT} with the right key`,
      details,
    },
  );
}

function keychainHintOf(attempts: readonly IdentityAttempt[]): string | null {
  const failed = attempts.find((a) => a.source.startsWith('keychain') && a.outcome.includes('E_KEYCHAIN: '));
  if (!failed) return null;
  for (const text of Object.values(CAUSE_TEXT)) if (failed.outcome.includes(`E_KEYCHAIN: ${text.label}`)) return text.hint;
  return null;
}
