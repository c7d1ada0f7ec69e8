/**
 * Go's text forms of numbers and booleans, as sops uses them: the MAC hashes `strconv` output and
 * typed `ENC[]` values are parsed with `strconv`, so these must agree with Go byte for byte.
 */

/** `strconv.FormatFloat(n, 'f', -1, 64)`: shortest round-trip digits, never an exponent. */
export function formatGoFloat(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return '+Inf';
  if (n === -Infinity) return '-Inf';
  if (n === 0) return Object.is(n, -0) ? '-0' : '0';
  const text = String(n);
  const e = text.indexOf('e');
  if (e < 0) return text;
  // JavaScript and Go both print the shortest round-trip digits; only the layout differs.
  const negative = text.startsWith('-');
  const mantissa = text.slice(negative ? 1 : 0, e);
  const exponent = Number(text.slice(e + 1));
  const dot = mantissa.indexOf('.');
  const digits = dot < 0 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  const pointAt = (dot < 0 ? mantissa.length : dot) + exponent;
  let out: string;
  if (pointAt <= 0) out = '0.' + '0'.repeat(-pointAt) + digits;
  else if (pointAt >= digits.length) out = digits + '0'.repeat(pointAt - digits.length);
  else out = digits.slice(0, pointAt) + '.' + digits.slice(pointAt);
  return negative ? '-' + out : out;
}

const GO_FLOAT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

/** `strconv.ParseFloat(s, 64)` for decimal, infinity and NaN forms; null when Go would reject it. */
export function parseGoFloat(s: string): number | null {
  if (GO_FLOAT.test(s)) return Number(s);
  const lower = s.toLowerCase();
  if (lower === 'nan') return NaN;
  if (/^[+]?inf(?:inity)?$/.test(lower)) return Infinity;
  if (/^-inf(?:inity)?$/.test(lower)) return -Infinity;
  return null;
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/** `strconv.Atoi` on a 64-bit platform: the number and its `strconv.Itoa` text, or null. */
export function parseGoInt(s: string): { value: number; text: string } | null {
  if (!/^[+-]?\d+$/.test(s)) return null;
  const big = BigInt(s);
  if (big < INT64_MIN || big > INT64_MAX) return null;
  return { value: Number(big), text: big.toString() };
}

/** `strconv.ParseBool`. */
export function parseGoBool(s: string): boolean | null {
  switch (s) {
    case '1': case 't': case 'T': case 'TRUE': case 'true': case 'True':
      return true;
    case '0': case 'f': case 'F': case 'FALSE': case 'false': case 'False':
      return false;
    default:
      return null;
  }
}
