/**
 * The dotenv store, as sops reads it: `KEY=value` lines (split at the first `=`, nothing trimmed,
 * `\n` in a value is a newline), `#` lines are comments, metadata is flattened under `sops_`.
 */
import { AppError } from '../../errors.js';
import { flattenMetadata, unflattenMetadata } from '../flatten.js';
import { looksEncrypted } from '../cipher.js';
import type { TreeMap, TreeValue } from '../tree.js';
import { parseError } from './errors.js';
import type { EncryptedComment, Store } from './types.js';

const PREFIX = 'sops_';

function scalarText(key: string, value: TreeValue): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return '';
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  throw new AppError('E_UNSUPPORTED_VALUE', `a dotenv file holds only flat values; "${key}" is a ${Array.isArray(value) ? 'list' : 'map'}`, {
    hint: 'use the YAML or JSON format for nested documents',
    details: { key },
  });
}

function checkRepresentable(key: string, value: string): void {
  if (key === '' || key.includes('=') || key.includes('\n') || key.includes('\r') || key.startsWith('#')) {
    throw new AppError('E_UNREPRESENTABLE', `a dotenv key cannot be empty, start with # or hold = or a line break: "${key.slice(0, 80).replace(/[\r\n]/g, ' ')}"`, { hint: 'rename the key', details: { key: key.slice(0, 80) } });
  }
  if (value.includes('\\n') || value.includes('\r')) {
    throw new AppError('E_UNREPRESENTABLE', `the value of ${key} cannot be stored in dotenv form (it holds a carriage return or a literal backslash-n)`, { hint: 'use the YAML or JSON format for this value', details: { key } });
  }
}

function lines(entries: Iterable<[string, string]>): string {
  let out = '';
  for (const [k, v] of entries) out += `${k}=${v.replace(/\n/g, '\\n')}\n`;
  return out;
}

export const dotenvStore: Store = {
  parse(text, name) {
    const document: TreeMap = new Map();
    const meta: Array<[string, string]> = [];
    const comments: EncryptedComment[] = [];
    const rows = text.split('\n');
    rows.forEach((raw, index) => {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.trim() === '') return;
      if (line.startsWith('#')) {
        const body = line.slice(1).trim();
        if (looksEncrypted(body)) comments.push({ text: body, aadCandidates: [':'], line: index + 1 });
        return;
      }
      const eq = line.indexOf('=');
      if (eq < 0) throw parseError(name, 'a line is neither KEY=value nor a # comment', index + 1);
      const key = line.slice(0, eq);
      const value = line.slice(eq + 1).replace(/\\n/g, '\n');
      if (key.startsWith(PREFIX)) meta.push([key.slice(PREFIX.length), value]);
      else {
        if (document.has(key)) throw parseError(name, `duplicate key "${key}"`, index + 1);
        document.set(key, value);
      }
    });
    return { document, comments: meta.length > 0 ? comments : [], metadata: meta.length > 0 ? unflattenMetadata(meta) : null };
  },
  emitEncrypted(document, metadata) {
    const entries: Array<[string, string]> = [];
    for (const [k, v] of document) {
      if (k.startsWith(PREFIX)) throw new AppError('E_UNREPRESENTABLE', `a dotenv key cannot start with "${PREFIX}" (reserved for metadata): ${k}`, { hint: 'rename the key' });
      const text = scalarText(k, v);
      checkRepresentable(k, text);
      entries.push([k, text]);
    }
    const meta = flattenMetadata(metadata)
      .map(([k, v]): [string, string] => [PREFIX + k, v])
      .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return lines(entries) + lines(meta);
  },
  emitPlain(document) {
    const entries: Array<[string, string]> = [];
    for (const [k, v] of document) {
      const text = scalarText(k, v);
      checkRepresentable(k, text);
      entries.push([k, text]);
    }
    return Buffer.from(lines(entries));
  },
};

/** A dotenv document's values as text (sops stores every dotenv value as a string). */
export function dotenvValues(document: TreeMap): TreeMap {
  const out: TreeMap = new Map();
  for (const [k, v] of document) out.set(k, scalarText(k, v));
  return out;
}
