/**
 * Age identities as text: key files written by `age-keygen`, `SOPS_AGE_KEY` values, stdin.
 *
 * Rules: a bad line is reported by its number only, never its content (it may be most of a
 * secret key with one typo); every key is checked by deriving its recipient, which verifies the
 * bech32 checksum.
 */
import { AppError } from '../errors.js';
import { identityRecipient } from '../sops/datakey.js';

/** One validated identity: the secret key line and the recipient (`age1…`) it decrypts for. */
export interface ParsedIdentity {
  readonly line: string;
  readonly recipient: string;
}

export interface ParseOptions {
  /** Where the text came from, for messages: a path, `SOPS_AGE_KEY`, `stdin`. Never the text. */
  readonly origin: string;
}

/** X25519 (`AGE-SECRET-KEY-1…`) and ML-KEM hybrid (`AGE-SECRET-KEY-PQ-1…`) keys, bech32 upper case. */
const SECRET_KEY_LINE = /^AGE-SECRET-KEY-(?:PQ-)?1[02-9AC-HJ-NP-Z]+$/;

/**
 * The recipient (`age1…`) of one secret key line.
 *
 * @throws AppError E_PARSE when the line is not a valid age secret key (shape or checksum); the
 *   message never contains the line.
 */
export async function recipientOf(line: string): Promise<string> {
  const recipient = await tryRecipientOf(line);
  if (recipient === null) {
    throw new AppError('E_PARSE', 'not a valid age secret key', {
      hint: 'an age identity is one line starting with AGE-SECRET-KEY-1, as written by `age-keygen`',
    });
  }
  return recipient;
}

async function tryRecipientOf(line: string): Promise<string | null> {
  if (!SECRET_KEY_LINE.test(line)) return null;
  try {
    return await identityRecipient(line);
  } catch {
    // age-encryption throws on a bad checksum or length; its message is not ours to show.
    return null;
  }
}

/**
 * Parses text holding one or more age identities: comments (`# created: …`,
 * `# public key: age1…`), blank lines, CRLF line ends and a missing final newline are fine.
 * Identities appear once each, in order (a repeated key is kept the first time).
 *
 * @returns the identities; empty when the text holds only comments and blank lines.
 * @throws AppError E_PARSE naming the origin and the line number of the first bad line.
 */
export async function parseIdentities(text: string, options: ParseOptions): Promise<ParsedIdentity[]> {
  const identities: ParsedIdentity[] = [];
  const seen = new Set<string>();
  const lines = text.split(/\r?\n|\r/);
  for (const [index, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const recipient = await tryRecipientOf(line);
    if (recipient === null) throw badLine(index + 1, line, options.origin);
    if (seen.has(recipient)) continue;
    seen.add(recipient);
    identities.push({ line, recipient });
  }
  return identities;
}

function badLine(lineNumber: number, line: string, origin: string): AppError {
  // Say what kind of line it is (never the line itself), so the hint can be specific.
  const kind = line.startsWith('AGE-PLUGIN-')
    ? 'an age plugin identity (not supported)'
    : line.startsWith('AGE-SECRET-KEY-')
      ? 'an age secret key with a bad checksum or length'
      : /^age-secret-key-/i.test(line)
        ? 'an age secret key in lower case'
        : line.startsWith('age1')
          ? 'a recipient (public key), not an identity'
          : 'not an age secret key';
  return new AppError('E_PARSE', `cannot read age identity: line ${lineNumber} of ${origin} is ${kind}`, {
    hint: 'an identity file holds lines starting with AGE-SECRET-KEY-1 (from `age-keygen`), comments starting with #, and blank lines; copy the key again',
    details: { origin, line: lineNumber },
  });
}
