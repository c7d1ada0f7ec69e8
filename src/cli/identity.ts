/**
 * `mcp-secrets identity import|show|forget|sops-key`: the age identity in the OS keychain.
 *
 * Rules: the secret never reaches stdout except through `sops-key` into a pipe, never stderr,
 * argv or a file; import reads it from stdin, a file or SOPS_AGE_KEY, and prints recipients only.
 */
import path from 'node:path';
import { findRepoRoot } from '../config/repo.js';
import { resolveCommonOptions } from '../config/options.js';
import { AppError, EXIT, isAppError, sanitizeForMessage } from '../errors.js';
import { oneLine } from '../escape.js';
import { READ_LIMITS, readBoundedText } from '../fsx/read-bounded.js';
import { parseIdentities, recipientOf, type ParsedIdentity } from '../identity/age-key.js';
import { keychainError } from '../identity/keychain/errors.js';
import { KEYCHAIN_STORES, keychainBackend, openKeychain, openKeychainStore, type KeychainStore } from '../identity/keychain/index.js';
import { copyIdentities, describeOtherBackend, lookIntoOtherBackend, otherKeychainStore } from '../identity/keychain/other-backend.js';
import type { Keychain } from '../identity/keychain/types.js';
import { readBundleRecipients, readSopsConfigRecipients } from '../identity/recipients.js';
import { readSecretFromTty } from './tty-secret.js';
import { jsonDocument } from './report.js';
import type { CliIo, Command, CommandInput } from './types.js';

const USAGE = 'identity import [--file F | --from-env] | show | forget RECIPIENT|--all | sops-key [--force] | copy --from keytar|napi-keyring';
/** Key files are tiny; a cap keeps a wrong pipe (a whole disk image…) from filling memory. */
const MAX_INPUT_BYTES = 1024 * 1024;

/** What `identity` needs from the outside; tests pass fakes (the memory keychain, a fixed repo). */
export interface IdentityDeps {
  readonly io: CliIo;
  /** The keychain, or null when disabled (MCP_SECRETS_KEYCHAIN=none). */
  readonly keychain: () => Keychain | null;
  /** A named backend (for `copy --from` and the look into the backend not in use); default: the real one. */
  readonly keychainStore?: (store: KeychainStore) => Keychain;
  /** Recipients the bundle is encrypted to, or null when it cannot be read. */
  readonly bundleRecipients: () => Promise<string[] | null>;
  /** Recipients in the repo's .sops.yaml, or null when there is none. */
  readonly sopsConfigRecipients: () => Promise<string[] | null>;
  /** The bundle's path as shown to people, e.g. `config/secrets.enc.yaml`. */
  readonly bundleLabel: string;
  /** After an import: ask a running daemon to sync now; its state, or null when none runs. */
  readonly notifyDaemon?: () => Promise<string | null>;
}

export function defaultIdentityDeps(input: CommandInput, io: CliIo): IdentityDeps {
  const options = resolveCommonOptions(input.values, io.env, io.cwd);
  let repo: Promise<string | null> | null = null;
  // identity commands work outside a repo too: they then skip the recipient checks
  const repoRoot = () => (repo ??= options.repoFlag !== null ? Promise.resolve(options.repoFlag) : findRepoRoot(options.cwd));
  return {
    io,
    keychain: () => openKeychain({ env: io.env }),
    keychainStore: (store) => openKeychainStore(store, io.env),
    bundleLabel: options.source,
    bundleRecipients: async () => {
      const root = await repoRoot();
      if (root === null && !path.isAbsolute(options.source)) return null;
      return readBundleRecipients(path.resolve(root ?? '/', options.source));
    },
    sopsConfigRecipients: async () => {
      const root = await repoRoot();
      return root === null ? null : readSopsConfigRecipients(root);
    },
    notifyDaemon: async () => {
      const { sync } = await import('../ipc/client.js');
      try {
        return (await sync({ socketPath: options.socket, timeoutMs: 30_000 })).state;
      } catch {
        return null; // no daemon running: nothing to tell
      }
    },
  };
}

function requireKeychain(deps: IdentityDeps, what: string): Keychain {
  const keychain = deps.keychain();
  if (keychain === null) throw keychainError('disabled', what);
  return keychain;
}

async function readStream(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
    size += buffer.length;
    chunks.push(buffer);
    if (size > MAX_INPUT_BYTES) break;
  }
  const all = Buffer.concat(chunks);
  for (const c of chunks) c.fill(0);
  if (size > MAX_INPUT_BYTES) {
    all.fill(0);
    throw new AppError('E_USAGE', 'identity import: stdin is larger than 1 MiB, not an age key file', {
      hint: 'pipe the key file itself: `mcp-secrets identity import < keys.txt`',
    });
  }
  const text = all.toString('utf8');
  all.fill(0);
  return text;
}

async function readImportText(input: CommandInput, deps: IdentityDeps): Promise<{ text: string; origin: string }> {
  const file = input.values.file;
  const fromEnv = input.values['from-env'] === true;
  if (file !== undefined && fromEnv) {
    throw new AppError('E_USAGE', 'identity import: --file and --from-env exclude each other', { hint: `usage: mcp-secrets ${USAGE}` });
  }
  if (typeof file === 'string') {
    const full = path.resolve(deps.io.cwd, file);
    try {
      const text = await readBoundedText(full, {
        limit: READ_LIMITS.keyFile,
        followSymlinks: true,
        what: 'the age key file',
        hint: 'or pipe the key to `mcp-secrets identity import`',
      });
      return { text, origin: full };
    } catch (error) {
      if (isAppError(error)) throw error;
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new AppError('E_USAGE', `identity import: cannot read ${full} (${code})`, { hint: 'check the path to your age key file', cause: error });
    }
  }
  if (fromEnv) {
    const value = deps.io.env.SOPS_AGE_KEY;
    if (value === undefined || value.trim() === '') {
      throw new AppError('E_USAGE', 'identity import --from-env: SOPS_AGE_KEY is not set', { hint: 'export SOPS_AGE_KEY first, or pipe the key file to `mcp-secrets identity import`' });
    }
    return { text: value, origin: 'SOPS_AGE_KEY' };
  }
  if ((deps.io.stdin as { isTTY?: boolean }).isTTY) {
    // a terminal echoes what is pasted: read it with echo off (restored on every way out)
    const text = await readSecretFromTty(deps.io.stdin, {
      prompt: 'paste the age identity (AGE-SECRET-KEY-1…; not shown), then press Enter on an empty line (or Ctrl-D):\n',
      write: deps.io.stderr,
      maxBytes: MAX_INPUT_BYTES,
    });
    return { text, origin: 'the terminal' };
  }
  return { text: await readStream(deps.io.stdin), origin: 'stdin' };
}

async function importIdentities(input: CommandInput, deps: IdentityDeps, json: boolean): Promise<number> {
  const keychain = requireKeychain(deps, 'cannot import the identity: the OS keychain is off');
  const { text, origin } = await readImportText(input, deps);
  const identities = await parseIdentities(text, { origin });
  if (identities.length === 0) {
    throw new AppError('E_USAGE', `identity import: no age identity in ${origin}`, { hint: 'an identity is a line starting with AGE-SECRET-KEY-1, as written by `age-keygen`' });
  }
  await warnUnknownRecipients(identities, deps);
  for (const identity of identities) await keychain.set(identity.recipient, identity.line);
  const recipients = identities.map((i) => i.recipient);
  if (json) deps.io.stdout(jsonDocument({ stored: recipients, keychain: keychain.name }));
  else for (const r of recipients) deps.io.stdout(`stored ${r} in the OS keychain (${keychain.name})\n`);
  // a daemon locked on a rotated key picks the new one up now, without a restart
  const daemonState = await deps.notifyDaemon?.();
  if (daemonState && !json) deps.io.stdout(`${oneLine(`the running daemon re-read the keychain: ${daemonState}`)}\n`);
  return EXIT.OK;
}

async function warnUnknownRecipients(identities: readonly ParsedIdentity[], deps: IdentityDeps): Promise<void> {
  const [config, bundle] = await Promise.all([deps.sopsConfigRecipients(), deps.bundleRecipients()]);
  if (config === null && bundle === null) return;
  const expected = new Set([...(config ?? []), ...(bundle ?? [])]);
  for (const { recipient } of identities) {
    if (expected.has(recipient)) continue;
    deps.io.stderr(
      `${oneLine(`warning: ${recipient} is not a recipient in .sops.yaml or ${deps.bundleLabel}: it will not open the bundle until a teammate adds it and runs \`sops updatekeys\``)}\n`,
    );
  }
}

/** What a stored identity opens: the bundle; nothing yet (listed in .sops.yaml only, or nowhere); or unknown outside a repo. */
function opensMark(identity: { opensBundle: boolean | null; inSopsConfig: boolean | null }, bundleLabel: string): string {
  if (identity.opensBundle === true) return `  opens ${bundleLabel}`;
  if (identity.opensBundle === null && identity.inSopsConfig === null) return '';
  if (identity.inSopsConfig === true) return `  opens nothing yet: listed in .sops.yaml but not in ${bundleLabel} (a teammate runs \`sops updatekeys\`)`;
  return `  opens nothing yet: not a recipient in .sops.yaml or ${bundleLabel}`;
}

async function show(deps: IdentityDeps, json: boolean): Promise<number> {
  const keychain = requireKeychain(deps, 'cannot show identities: the OS keychain is off');
  const [stored, bundle, config] = await Promise.all([keychain.listRecipients(), deps.bundleRecipients(), deps.sopsConfigRecipients()]);
  const identities = stored.map((recipient) => {
    const opensBundle = bundle === null ? null : bundle.includes(recipient);
    const inSopsConfig = config === null ? null : config.includes(recipient);
    // "nothing yet" is known only when something could be checked
    const opensNothingYet = opensBundle === true ? false : opensBundle === null && inSopsConfig === null ? null : true;
    return { recipient, opensBundle, inSopsConfig, opensNothingYet };
  });
  const other = await otherBackendReport(deps, stored);
  const otherLine = other === null ? null : describeOtherBackend(other);
  if (otherLine !== null && !json) deps.io.stderr(`note: ${oneLine(otherLine)}\n`);
  if (json) {
    deps.io.stdout(
      jsonDocument({
        keychain: keychain.name,
        otherBackend: other,
        service: 'mcp-secrets',
        bundle: bundle === null ? null : { path: deps.bundleLabel, recipients: bundle },
        identities,
      }),
    );
    return EXIT.OK;
  }
  if (identities.length === 0) {
    deps.io.stdout(`no identity in the OS keychain (${keychain.name}); run \`mcp-secrets identity import\`\n`);
    return EXIT.OK;
  }
  deps.io.stdout(`identities in the OS keychain (${keychain.name}, service mcp-secrets):\n`);
  // account names are whatever is in the keychain (anyone running as this user can plant one): escaped
  for (const identity of identities) deps.io.stdout(`${oneLine(`  ${identity.recipient}${opensMark(identity, deps.bundleLabel)}`)}\n`);
  if (bundle !== null && !identities.some((i) => i.opensBundle)) {
    deps.io.stderr(`${oneLine(`warning: none of these opens ${deps.bundleLabel} (encrypted to ${bundle.join(', ') || 'no age recipient'})`)}\n`);
  }
  return EXIT.OK;
}

/** What the backend not in use holds (null when the keychain is off or the backend is a test fake). */
async function otherBackendReport(deps: IdentityDeps, inUse: readonly string[]) {
  const backend = keychainBackend(deps.io.env);
  if (backend === 'none' || !deps.keychainStore) return null;
  const store = otherKeychainStore(backend);
  return lookIntoOtherBackend(deps.keychainStore(store), store, inUse);
}

async function copy(input: CommandInput, deps: IdentityDeps, json: boolean): Promise<number> {
  const from = input.values.from;
  const target = requireKeychain(deps, 'cannot copy identities: the OS keychain is off (MCP_SECRETS_KEYCHAIN=none)');
  if (typeof from !== 'string' || !(KEYCHAIN_STORES as readonly string[]).includes(from)) {
    throw new AppError('E_USAGE', `identity copy: --from must name a keychain backend (${KEYCHAIN_STORES.join(', ')})`, { hint: `usage: mcp-secrets ${USAGE}` });
  }
  if (from === target.name) {
    throw new AppError('E_USAGE', `identity copy: ${from} is already the backend in use`, {
      hint: `to copy INTO ${from}, select the other backend: \`MCP_SECRETS_KEYCHAIN=${otherKeychainStore(from as KeychainStore)} mcp-secrets identity copy --from ${from}\``,
    });
  }
  const source = (deps.keychainStore ?? ((store: KeychainStore) => openKeychainStore(store, deps.io.env)))(from as KeychainStore);
  const result = await copyIdentities(source, target);
  if (json) {
    deps.io.stdout(jsonDocument({ from, to: target.name, ...result }));
    return EXIT.OK;
  }
  for (const r of result.copied) deps.io.stdout(`copied ${r} from ${from} to ${target.name} (read back and verified)\n`);
  for (const r of result.alreadyThere) deps.io.stdout(`${r} is already in ${target.name}\n`);
  deps.io.stdout(`the ${from} items were left in place; once mcp-secrets works with ${target.name}, remove them with \`MCP_SECRETS_KEYCHAIN=${from} mcp-secrets identity forget --all\`\n`);
  return EXIT.OK;
}

async function forget(input: CommandInput, deps: IdentityDeps, json: boolean): Promise<number> {
  const target = input.positionals[1];
  const all = input.values.all === true;
  if ((target === undefined) === !all) {
    throw new AppError('E_USAGE', 'identity forget: name one RECIPIENT or give --all', { hint: '`mcp-secrets identity show` lists the stored recipients' });
  }
  const keychain = requireKeychain(deps, 'cannot forget identities: the OS keychain is off');
  let removed: string[];
  if (target !== undefined) {
    if (!/^age1[0-9a-z]+$/.test(target)) {
      throw new AppError('E_USAGE', `identity forget: "${sanitizeForMessage(target, 80)}" is not an age recipient (age1…)`, {
        hint: '`mcp-secrets identity show` lists the stored recipients',
      });
    }
    if (!(await keychain.delete(target))) {
      throw new AppError('E_NO_IDENTITY', `identity forget: no identity for ${target} in the OS keychain (${keychain.name})`, {
        hint: '`mcp-secrets identity show` lists the stored recipients',
      });
    }
    removed = [target];
  } else {
    removed = [];
    for (const recipient of await keychain.listRecipients()) if (await keychain.delete(recipient)) removed.push(recipient);
  }
  if (json) deps.io.stdout(jsonDocument({ removed, keychain: keychain.name }));
  else if (removed.length === 0) deps.io.stdout(`no identity in the OS keychain (${keychain.name})\n`);
  else for (const r of removed) deps.io.stdout(`${oneLine(`removed ${r} from the OS keychain (${keychain.name})`)}\n`);
  // a running daemon still holds the forgotten identity in memory: make it re-read (as import does)
  if (removed.length > 0) await deps.notifyDaemon?.();
  return EXIT.OK;
}

async function sopsKey(input: CommandInput, deps: IdentityDeps): Promise<number> {
  if (deps.io.stdoutIsTTY && input.values.force !== true) {
    throw new AppError('E_USAGE', 'identity sops-key: refusing to print secret keys to a terminal', {
      hint: 'it is meant for sops: `export SOPS_AGE_KEY_CMD="mcp-secrets identity sops-key"`; add --force to print anyway',
    });
  }
  const keychain = requireKeychain(deps, 'cannot read identities: the OS keychain is off');
  const lines: string[] = [];
  for (const recipient of await keychain.listRecipients()) {
    const line = await keychain.get(recipient);
    if (line === null) continue;
    await recipientOf(line);
    lines.push(line);
  }
  if (lines.length === 0) {
    throw new AppError('E_NO_IDENTITY', `no identity in the OS keychain (${keychain.name})`, { hint: 'run `mcp-secrets identity import`' });
  }
  deps.io.stdout(lines.join('\n') + '\n');
  return EXIT.OK;
}

/** Runs one `identity` subcommand; returns the exit code. Expected failures throw AppError. */
export async function runIdentity(input: CommandInput, deps: IdentityDeps): Promise<number> {
  const json = input.values.json === true;
  const sub = input.positionals[0];
  const extra = sub === 'forget' ? 2 : 1;
  if (input.positionals.length > extra) {
    throw new AppError('E_USAGE', `identity ${sub}: unexpected argument "${sanitizeForMessage(String(input.positionals[extra]), 80)}"`, {
      hint: `usage: mcp-secrets ${USAGE}`,
    });
  }
  switch (sub) {
    case 'import':
      return importIdentities(input, deps, json);
    case 'show':
      return show(deps, json);
    case 'forget':
      return forget(input, deps, json);
    case 'sops-key':
      return sopsKey(input, deps);
    case 'copy':
      return copy(input, deps, json);
    default:
      throw new AppError('E_USAGE', sub === undefined ? 'identity: which one? import, show, forget, sops-key or copy' : `identity: unknown subcommand "${sanitizeForMessage(sub, 40)}"`, {
        hint: `usage: mcp-secrets ${USAGE}`,
      });
  }
}

const command: Command = { run: (input, io) => runIdentity(input, defaultIdentityDeps(input, io)) };

export default command;
