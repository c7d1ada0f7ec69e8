/** The YAML store: a map document with a top-level `sops` key; written like sops (4-space indent). */
import { AppError } from '../../errors.js';
import type { PlainValue } from '../flatten.js';
import { treeToPlain } from '../metadata.js';
import { yamlApi } from '../yaml-api.js';
import { isTreeMap, type TreeMap, type TreeValue } from '../tree.js';
import { parseError } from './errors.js';
import type { ParsedFile, Store } from './types.js';
import { parseYamlText } from './yaml-tree.js';

/** Splits a parsed map document into content and its `sops` block. */
export function splitSops(root: TreeValue | undefined, comments: ParsedFile['comments'], name: string, kind: string): ParsedFile {
  if (root === undefined || root === null) return { document: new Map(), comments, metadata: null };
  if (!isTreeMap(root)) throw parseError(name, `the top level of a SOPS ${kind} file must be a map`, null);
  const document: TreeMap = new Map();
  let metadata: Record<string, PlainValue> | null = null;
  for (const [k, v] of root) {
    if (k === 'sops') {
      const plain = treeToPlain(v);
      if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) throw parseError(name, 'the `sops` key is not a map', null);
      metadata = plain;
    } else document.set(k, v);
  }
  return { document, comments: metadata === null ? [] : comments, metadata };
}

const STRINGIFY = { indent: 4, indentSeq: true, lineWidth: 0, minContentWidth: 0 } as const;

function toYamlValue(value: TreeValue): unknown {
  if (value instanceof Map) {
    const out = new Map<string, unknown>();
    for (const [k, v] of value) out.set(k, toYamlValue(v));
    return out;
  }
  if (Array.isArray(value)) return value.map(toYamlValue);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return value;
}

function plainToYaml(value: PlainValue): unknown {
  if (Array.isArray(value)) return value.map(plainToYaml);
  if (value !== null && typeof value === 'object') {
    const out = new Map<string, unknown>();
    for (const [k, v] of Object.entries(value)) out.set(k, plainToYaml(v));
    return out;
  }
  return value;
}

function render(root: Map<string, unknown>): string {
  const { Document, isMap, isScalar, Scalar: YamlScalar } = yamlApi();
  const doc = new Document(root, { version: '1.2' });
  const sops = doc.get('sops', true);
  if (isMap(sops)) {
    // sops quotes lastmodified so YAML 1.1 readers do not see a timestamp
    const lm = sops.get('lastmodified', true);
    if (isScalar(lm)) lm.type = YamlScalar.QUOTE_DOUBLE;
  }
  return doc.toString(STRINGIFY);
}

export const yamlStore: Store = {
  parse(text, name) {
    const { root, comments } = parseYamlText(text, name);
    return splitSops(root, comments, name, 'YAML');
  },
  emitEncrypted(document, metadata) {
    if (document.has('sops')) throw new AppError('E_UNSUPPORTED_VALUE', 'the document already has a top-level `sops` key', { hint: 'rename that key; `sops` is reserved for the metadata' });
    const root = toYamlValue(document) as Map<string, unknown>;
    root.set('sops', plainToYaml(metadata));
    return render(root);
  },
  emitPlain(document) {
    if (document.size === 0) return Buffer.from('{}\n');
    return Buffer.from(new (yamlApi().Document)(toYamlValue(document), { version: '1.2' }).toString(STRINGIFY));
  },
};
