/**
 * Which values sops encrypts (sops.go `shouldBeEncrypted`): a value is judged by every key on its
 * path; at most one of the four rules is set in practice, and they are applied in sops's order.
 */
import { AppError } from '../errors.js';

export interface EncryptionRules {
  unencryptedSuffix: string | null;
  encryptedSuffix: string | null;
  unencryptedRegex: string | null;
  encryptedRegex: string | null;
}

/** What the keys seen so far on a path matched; lists add no key. */
export interface PathMatches {
  unencryptedSuffix: boolean;
  encryptedSuffix: boolean;
  unencryptedRegex: boolean;
  encryptedRegex: boolean;
}

export const NO_MATCHES: PathMatches = Object.freeze({ unencryptedSuffix: false, encryptedSuffix: false, unencryptedRegex: false, encryptedRegex: false });

/** Compiled rules; one object per file, reused for every key. */
export class RuleSet {
  private readonly unRe: RegExp | null;
  private readonly encRe: RegExp | null;

  constructor(readonly rules: EncryptionRules, displayName: string) {
    this.unRe = rules.unencryptedRegex ? compileGoRegex(rules.unencryptedRegex, 'unencrypted_regex', displayName) : null;
    this.encRe = rules.encryptedRegex ? compileGoRegex(rules.encryptedRegex, 'encrypted_regex', displayName) : null;
  }

  /** The matches after descending into map key `key`. */
  descend(parent: PathMatches, key: string): PathMatches {
    const r = this.rules;
    return {
      unencryptedSuffix: parent.unencryptedSuffix || (!!r.unencryptedSuffix && key.endsWith(r.unencryptedSuffix)),
      encryptedSuffix: parent.encryptedSuffix || (!!r.encryptedSuffix && key.endsWith(r.encryptedSuffix)),
      unencryptedRegex: parent.unencryptedRegex || (this.unRe !== null && this.unRe.test(key)),
      encryptedRegex: parent.encryptedRegex || (this.encRe !== null && this.encRe.test(key)),
    };
  }

  /** sops's decision for a value whose path matched `m`. */
  shouldEncrypt(m: PathMatches): boolean {
    const r = this.rules;
    let encrypted = true;
    if (r.unencryptedSuffix && m.unencryptedSuffix) encrypted = false;
    if (r.encryptedSuffix) encrypted = m.encryptedSuffix;
    if (r.unencryptedRegex && m.unencryptedRegex) encrypted = false;
    if (r.encryptedRegex) encrypted = m.encryptedRegex;
    return encrypted;
  }
}

/**
 * Go RE2 syntax mostly matches JavaScript's for the patterns people write (`^(data|stringData)$`);
 * a leading `(?i)`/`(?s)`/`(?m)` group becomes a flag. Anything JavaScript rejects is an E_PARSE.
 */
function compileGoRegex(pattern: string, field: string, displayName: string): RegExp {
  let source = pattern;
  let flags = '';
  const inline = /^\(\?([ims]+)\)/.exec(source);
  if (inline) {
    flags = [...new Set(inline[1])].join('');
    source = source.slice(inline[0].length);
  }
  try {
    return new RegExp(source, flags);
  } catch (cause) {
    throw new AppError('E_PARSE', `unsupported ${field} in the sops metadata: ${displayName}`, {
      hint: 'this regular expression is not understood by the native engine; decrypt with `--engine sops`',
      cause,
      details: { file: displayName, field },
    });
  }
}
