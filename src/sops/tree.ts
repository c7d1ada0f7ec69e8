/**
 * The ordered document every store reads into and writes from.
 *
 * Maps are `Map`s, never plain objects: a plain object moves integer-like keys ("10", "2") to the
 * front, and the SOPS MAC depends on document order. Lists are arrays. Leaves keep the type SOPS
 * records (`str`, `int`, `float`, `bool`, `bytes`); `null` is never encrypted.
 */

export type Scalar = string | number | boolean | null | Uint8Array;
export type TreeValue = Scalar | TreeValue[] | TreeMap;
export type TreeMap = Map<string, TreeValue>;

export function isTreeMap(value: TreeValue): value is TreeMap {
  return value instanceof Map;
}

/** Builds an ordered tree from plain JSON-like data (object key order as JavaScript gives it). */
export function fromPlain(value: unknown): TreeValue {
  if (value === null || value === undefined) return null;
  if (value instanceof Map) {
    const out: TreeMap = new Map();
    for (const [k, v] of value) out.set(String(k), fromPlain(v));
    return out;
  }
  if (value instanceof Uint8Array) return value;
  if (Array.isArray(value)) return value.map((v) => fromPlain(v));
  if (typeof value === 'object') {
    const out: TreeMap = new Map();
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) out.set(k, fromPlain(v));
    return out;
  }
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') return value;
  throw new TypeError(`unsupported value of type ${typeof value}`);
}

/**
 * Serialises a tree as JSON keeping map order exactly (what `sops -d --output-type json` prints).
 * Bytes become UTF-8 text when valid, else base64 (callers needing exact bytes use the tree).
 */
export function toOrderedJson(value: TreeValue, indent = 2): string {
  return serialise(value, indent, 0);
}

function serialise(value: TreeValue, indent: number, depth: number): string {
  const pad = indent > 0 ? '\n' + ' '.repeat(indent * (depth + 1)) : '';
  const end = indent > 0 ? '\n' + ' '.repeat(indent * depth) : '';
  const sep = indent > 0 ? ': ' : ':';
  if (value instanceof Map) {
    if (value.size === 0) return '{}';
    const parts: string[] = [];
    for (const [k, v] of value) parts.push(pad + JSON.stringify(k) + sep + serialise(v, indent, depth + 1));
    return '{' + parts.join(',') + end + '}';
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return '[' + value.map((v) => pad + serialise(v, indent, depth + 1)).join(',') + end + ']';
  }
  if (value instanceof Uint8Array) {
    const text = new TextDecoder('utf-8', { fatal: false }).decode(value);
    return JSON.stringify(text);
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return 'null';
  return JSON.stringify(value);
}
