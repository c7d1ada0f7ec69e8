/**
 * The 32-byte data key, wrapped per age recipient as an armored age file (sops `age/keysource.go`).
 * Messages name recipients (public) and never identities, the key or age's internals.
 *
 * X25519 identities and X25519-only files (what sops writes) are opened on node:crypto
 * (./age-x25519.ts); anything else (post-quantum, other stanzas) and all encryption go through
 * age-encryption, imported only then.
 */
import { AppError } from '../errors.js';
import { AgeFailure, NotNative, dearmor, decryptX25519, parseX25519Identity, type X25519Identity } from './age-x25519.js';
import type { AgeKeyEntry } from './metadata.js';

type AgeEncryption = typeof import('age-encryption');
let ageModule: Promise<AgeEncryption> | undefined;
/** age-encryption, loaded on first use. */
function ageEncryption(): Promise<AgeEncryption> {
  return (ageModule ??= import('age-encryption'));
}

export const DATA_KEY_BYTES = 32;

const NO_MATCH = "no identity matched any of the file's recipients";

/** Identity lines as given: trimmed, blank and `#` lines dropped. */
export function normalizeIdentities(identities: readonly string[]): string[] {
  const out: string[] = [];
  for (const raw of identities) {
    for (const line of raw.split(/\r?\n/)) {
      const t = line.trim();
      if (t !== '' && !t.startsWith('#')) out.push(t);
    }
  }
  return out;
}

/**
 * The recipient (`age1…`) of one identity line: on node:crypto for X25519, with age-encryption
 * for other types. Throws a plain Error (without the line) when it is not a valid identity.
 */
export async function identityRecipient(line: string): Promise<string> {
  try {
    return parseX25519Identity(line).recipient;
  } catch (error) {
    if (!(error instanceof NotNative)) throw error;
  }
  return (await ageEncryption()).identityToRecipient(line);
}

/** An identity as given, with its parsed X25519 key when it is one (null: another age type). */
interface ParsedIdentity {
  line: string;
  x25519: X25519Identity | null;
  recipient: string;
}

async function parseIdentities(identities: readonly string[]): Promise<ParsedIdentity[]> {
  return Promise.all(
    identities.map(async (id, i) => {
      try {
        if (!id.startsWith('AGE-SECRET-KEY-')) throw new Error('not an age identity');
        try {
          const x25519 = parseX25519Identity(id);
          return { line: id, x25519, recipient: x25519.recipient };
        } catch (error) {
          if (!(error instanceof NotNative)) throw error;
        }
        return { line: id, x25519: null, recipient: await (await ageEncryption()).identityToRecipient(id) };
      } catch {
        throw new AppError('E_NO_IDENTITY', `identity #${i + 1} is not a valid age identity (AGE-SECRET-KEY-1…)`, {
          hint: 'check the key with `age-keygen -y`; re-import it with `mcp-secrets identity import`',
          details: { identityIndex: i + 1 },
        });
      }
    }),
  );
}

/** The public recipient of each identity; E_NO_IDENTITY naming the position of one that is not an age identity. */
export async function recipientsOf(identities: readonly string[]): Promise<string[]> {
  return (await parseIdentities(identities)).map((p) => p.recipient);
}

/** Opens one age file with one identity: on node:crypto when both are X25519, else with age-encryption. */
async function openAgeFile(file: Uint8Array, identity: ParsedIdentity): Promise<Uint8Array> {
  if (identity.x25519) {
    try {
      return decryptX25519(file, [identity.x25519]);
    } catch (error) {
      if (!(error instanceof NotNative)) throw error;
    }
  }
  const decrypter = new (await ageEncryption()).Decrypter();
  decrypter.addIdentity(identity.line);
  return decrypter.decrypt(file);
}

function describeAgeFailure(error: unknown): string {
  if (error instanceof AgeFailure) {
    if (error.kind === 'hmac') return 'age header MAC check failed';
    if (error.kind === 'header') return 'malformed age stanza';
    return 'age payload authentication failed';
  }
  const text = error instanceof Error ? error.message : '';
  if (/header HMAC/i.test(text)) return 'age header MAC check failed';
  if (/invalid .*stanza/i.test(text)) return 'malformed age stanza';
  return 'age payload authentication failed';
}

/**
 * Unwraps the data key with the given identities, trying recipient matches first (the
 * `recipient` field is not authenticated, so every pair is tried before giving up).
 */
export async function unwrapDataKey(
  ageKeys: readonly AgeKeyEntry[],
  identities: readonly string[],
  context: { displayName: string; otherKeyTypes: readonly string[] },
): Promise<{ dataKey: Uint8Array; openedBy: string }> {
  const name = context.displayName;
  const fileRecipients = ageKeys.map((k) => k.recipient);
  if (ageKeys.length === 0) {
    const others = context.otherKeyTypes.join(', ') || 'none';
    throw new AppError('E_NO_IDENTITY', `no age recipient in the sops metadata: ${name}`, {
      hint:
        context.otherKeyTypes.length > 0
          ? `this file is only encrypted to ${others} keys; use the \`sops\` engine (--engine sops)`
          : 'the file has no keys; re-encrypt it with sops or `mcp-secrets rotate`',
      details: { file: name, fileRecipients, otherKeyTypes: [...context.otherKeyTypes] },
    });
  }
  const ids = await parseIdentities(normalizeIdentities(identities));
  const idRecipients = ids.map((p) => p.recipient);
  const attempts: Array<[number, number]> = [];
  ageKeys.forEach((entry, k) => idRecipients.forEach((r, i) => r === entry.recipient && attempts.push([k, i])));
  ageKeys.forEach((entry, k) => idRecipients.forEach((r, i) => r !== entry.recipient && attempts.push([k, i])));

  const failures: Array<{ recipient: string; reason: string }> = [];
  const decoded = new Map<number, Uint8Array | null>();
  for (const [k, i] of attempts) {
    const entry = ageKeys[k] as AgeKeyEntry;
    if (!decoded.has(k)) {
      try {
        decoded.set(k, dearmor(entry.enc));
      } catch {
        decoded.set(k, null);
        failures.push({ recipient: entry.recipient, reason: 'malformed armored age block' });
      }
    }
    const file = decoded.get(k);
    if (!file) continue;
    let dataKey: Uint8Array;
    try {
      dataKey = await openAgeFile(file, ids[i] as ParsedIdentity);
    } catch (error) {
      if (error instanceof Error && error.message === NO_MATCH) continue;
      if (error instanceof AgeFailure && error.kind === 'no match') continue;
      failures.push({ recipient: entry.recipient, reason: describeAgeFailure(error) });
      continue;
    }
    if (dataKey.length !== DATA_KEY_BYTES) {
      failures.push({ recipient: entry.recipient, reason: `data key has ${dataKey.length} bytes, not ${DATA_KEY_BYTES}` });
      continue;
    }
    return { dataKey, openedBy: idRecipients[i] as string };
  }
  if (failures.length > 0) {
    const list = failures.map((f) => `${f.recipient}: ${f.reason}`).join('; ');
    throw new AppError('E_DECRYPT', `cannot unwrap the data key of ${name}: ${list}`, {
      hint: 'the age block in the sops metadata is damaged or was tampered with; restore the file from git',
      details: { file: name, failures, fileRecipients, triedRecipients: idRecipients },
    });
  }
  const hintOthers = context.otherKeyTypes.length > 0 ? ` (it also has ${context.otherKeyTypes.join(', ')} keys: the \`sops\` engine may open it)` : '';
  throw new AppError(
    'E_NO_IDENTITY',
    `no identity opens ${name}: it is encrypted to ${fileRecipients.join(', ')}; tried ${idRecipients.length > 0 ? idRecipients.join(', ') : 'no identities'}`,
    {
      hint: `import an identity for one of the file's recipients with \`mcp-secrets identity import\`, or ask a teammate to add your recipient and re-encrypt${hintOthers}`,
      details: { file: name, fileRecipients, triedRecipients: idRecipients },
    },
  );
}

/** Wraps the data key for each recipient (armored, newline-terminated, as sops stores it). */
export async function wrapDataKey(dataKey: Uint8Array, recipients: readonly string[]): Promise<AgeKeyEntry[]> {
  const out: AgeKeyEntry[] = [];
  const { Encrypter, armor } = await ageEncryption();
  for (const recipient of recipients) {
    const r = recipient.trim();
    const encrypter = new Encrypter();
    try {
      if (!r.startsWith('age1')) throw new Error('not an age recipient');
      encrypter.addRecipient(r);
      const wrapped = await encrypter.encrypt(dataKey);
      out.push({ recipient: r, enc: armor.encode(wrapped) });
    } catch {
      throw new AppError('E_USAGE', `not an age recipient: ${r.slice(0, 100)}`, {
        hint: 'recipients are public keys starting with `age1` (see `age-keygen -y`)',
        details: { recipient: r.slice(0, 100) },
      });
    }
  }
  return out;
}
