/**
 * Go RE2 patterns (as gitleaks reads them) turned into JavaScript RegExps; tests only.
 *
 * The two dialects agree on the subset this accepts: literals, classes, \b \d \w \s, groups,
 * non-capturing groups, alternation, anchors and counted repetition. Anything outside it is
 * refused with the reason, rather than translated approximately:
 * - lookarounds and backreferences (RE2 has none: gitleaks would refuse to start);
 * - named groups, \A \z \Q \p, POSIX classes (spelled differently in JavaScript);
 * - inline flags anywhere but a leading `(?i)`, which becomes the `i` flag.
 * Known remaining difference: JavaScript's \s also matches Unicode spaces; RE2's is ASCII.
 */

/** A pattern outside the shared subset, with the reason. */
export class UnsupportedGoRegexpError extends Error {
  constructor(pattern: string, reason: string) {
    super(`unsupported in the RE2/JavaScript subset (${reason}): ${pattern.slice(0, 80)}`);
    this.name = 'UnsupportedGoRegexpError';
  }
}

/** RE2 refuses repetition counts above this. */
const RE2_MAX_REPEAT = 1000;

function check(pattern: string): void {
  const refuse = (reason: string): never => {
    throw new UnsupportedGoRegexpError(pattern, reason);
  };
  let inClass = false;
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i];
    if (c === '\\') {
      const next = pattern[i + 1] ?? refuse('trailing backslash');
      if (/[1-9]/.test(next)) refuse('backreference');
      if ('AzQEpPkCG'.includes(next)) refuse(`\\${next}`);
      i++;
      continue;
    }
    if (inClass) {
      if (c === '[' && pattern[i + 1] === ':') refuse('POSIX class');
      if (c === ']') inClass = false;
      continue;
    }
    if (c === '[') {
      inClass = true;
      // a ']' right after '[' or '[^' is a literal in both dialects
      if (pattern[i + 1] === '^') i++;
      if (pattern[i + 1] === ']') i++;
      continue;
    }
    if (c === '(' && pattern[i + 1] === '?') {
      const rest = pattern.slice(i + 2);
      if (rest.startsWith(':')) continue;
      if (/^(?:=|!|<=|<!)/.test(rest)) refuse('lookaround');
      if (/^(?:P?<)/.test(rest)) refuse('named group');
      refuse('inline flags');
    }
    if (c === '{') {
      const counted = /^\{(\d+)(?:,(\d*))?\}/.exec(pattern.slice(i));
      if (counted) {
        const max = Math.max(Number(counted[1]), Number(counted[2] || 0));
        if (max > RE2_MAX_REPEAT) refuse(`repetition above ${RE2_MAX_REPEAT}`);
      }
    }
  }
  if (inClass) refuse('unterminated character class');
}

/**
 * Converts one Go pattern to a JavaScript RegExp (no `g` flag), or throws
 * {@link UnsupportedGoRegexpError}. A leading `(?i)` becomes the `i` flag.
 */
export function goRegexpToJs(pattern: string): RegExp {
  let source = pattern;
  let flags = '';
  if (source.startsWith('(?i)')) {
    source = source.slice(4);
    flags = 'i';
  }
  check(source);
  try {
    return new RegExp(source, flags);
  } catch (error) {
    throw new UnsupportedGoRegexpError(pattern, `JavaScript refuses it: ${(error as Error).message}`);
  }
}
