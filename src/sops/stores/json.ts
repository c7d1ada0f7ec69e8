/** The JSON store: an object with a top-level `sops` key, order kept (parsed as YAML flow), tab-indented like sops. */
import { AppError } from '../../errors.js';
import type { PlainValue } from '../flatten.js';
import { formatGoFloat } from '../gofmt.js';
import type { TreeMap, TreeValue } from '../tree.js';
import { parseError } from './errors.js';
import type { Store } from './types.js';
import { splitSops } from './yaml.js';
import { parseYamlText } from './yaml-tree.js';

function jsonNumber(n: number): string {
  if (!Number.isFinite(n)) throw new AppError('E_UNREPRESENTABLE', 'JSON cannot hold NaN or infinity', { hint: 'store the value as a string' });
  const text = JSON.stringify(n);
  // Go's encoding/json prints integral floats below 1e21 without an exponent, like JavaScript.
  return text.includes('e') && Math.abs(n) < 1e21 ? formatGoFloat(n) : text;
}

/** Ordered JSON with tab indentation (what sops writes). */
export function writeJson(value: TreeValue | PlainValue, depth = 0): string {
  const pad = '\t'.repeat(depth + 1);
  const end = '\t'.repeat(depth);
  if (value instanceof Map) {
    if (value.size === 0) return '{}';
    const parts: string[] = [];
    for (const [k, v] of value) parts.push(`${pad}${JSON.stringify(k)}: ${writeJson(v as TreeValue, depth + 1)}`);
    return `{\n${parts.join(',\n')}\n${end}}`;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    return `[\n${value.map((v) => pad + writeJson(v, depth + 1)).join(',\n')}\n${end}]`;
  }
  if (value instanceof Uint8Array) return JSON.stringify(Buffer.from(value).toString('utf8'));
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0) return '{}';
    return `{\n${entries.map(([k, v]) => `${pad}${JSON.stringify(k)}: ${writeJson(v, depth + 1)}`).join(',\n')}\n${end}}`;
  }
  if (typeof value === 'number') return jsonNumber(value);
  return JSON.stringify(value);
}

export const jsonStore: Store = {
  parse(text, name) {
    const trimmed = text.trimStart();
    if (trimmed !== '' && !trimmed.startsWith('{')) throw parseError(name, 'a SOPS JSON file must hold an object', null);
    const { root, comments } = parseYamlText(text, name);
    return splitSops(root, comments, name, 'JSON');
  },
  emitEncrypted(document, metadata) {
    if (document.has('sops')) throw new AppError('E_UNSUPPORTED_VALUE', 'the document already has a top-level `sops` key', { hint: 'rename that key; `sops` is reserved for the metadata' });
    const root: TreeMap = new Map(document);
    const body = writeJson(root);
    const meta = writeJson(metadata, 1);
    return root.size === 0 ? `{\n\t"sops": ${meta}\n}\n` : `${body.slice(0, -2)},\n\t"sops": ${meta}\n}\n`;
  },
  emitPlain(document) {
    return Buffer.from(writeJson(document) + '\n');
  },
};
