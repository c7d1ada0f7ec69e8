/** The binary store: the whole file is one value, kept in a JSON object as `data` (exact bytes). */
import { AppError } from '../../errors.js';
import type { TreeMap } from '../tree.js';
import { jsonStore } from './json.js';
import { parseError } from './errors.js';
import type { Store } from './types.js';

export const binaryStore: Store = {
  parse(text, name) {
    const parsed = jsonStore.parse(text, name);
    if (parsed.metadata === null) return parsed;
    const keys = [...parsed.document.keys()];
    if (keys.length !== 1 || keys[0] !== 'data') throw parseError(name, 'a SOPS binary file holds exactly one `data` value', null);
    return parsed;
  },
  emitEncrypted(document, metadata) {
    return jsonStore.emitEncrypted(new Map([['data', document.get('data') ?? '']]) as TreeMap, metadata);
  },
  emitPlain(document) {
    const data = document.get('data');
    if (data instanceof Uint8Array) return data;
    if (typeof data === 'string') return Buffer.from(data, 'utf8');
    throw new AppError('E_UNSUPPORTED_VALUE', 'a binary document needs a `data` value (bytes or text)', { hint: 'pass {data: Uint8Array}' });
  },
};
