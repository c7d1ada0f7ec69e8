/**
 * The INI store with go-ini's reading rules, as sops uses them: keys before the first section
 * belong to `DEFAULT`; `=` or `:` separate key and value; `;`/`#` start comments (also inline,
 * unless the value is quoted); `"…"`, `` `…` `` and `"""…"""` quote values. The `[sops]`
 * section holds the flattened metadata, with line breaks written as `\n`.
 */
import { AppError } from '../../errors.js';
import { flattenMetadata, unflattenMetadata } from '../flatten.js';
import { looksEncrypted } from '../cipher.js';
import { isTreeMap, type TreeMap, type TreeValue } from '../tree.js';
import { parseError } from './errors.js';
import type { EncryptedComment, Store } from './types.js';

const DEFAULT_SECTION = 'DEFAULT';
const SOPS_SECTION = 'sops';

function readValue(rest: string, rows: string[], index: { i: number }, name: string): string {
  const v = rest.trim();
  if (v.startsWith('"""')) {
    let body = v.slice(3);
    const close = body.indexOf('"""');
    if (close >= 0) return body.slice(0, close);
    while (++index.i < rows.length) {
      const next = (rows[index.i] as string).replace(/\r$/, '');
      const end = next.indexOf('"""');
      if (end >= 0) return body + '\n' + next.slice(0, end);
      body += '\n' + next;
    }
    throw parseError(name, 'unterminated """ value', index.i);
  }
  for (const q of ['"', '`']) {
    if (v.startsWith(q)) {
      const close = v.indexOf(q, 1);
      if (close > 0) return v.slice(1, close);
    }
  }
  const hash = v.search(/[#;]/);
  return (hash >= 0 ? v.slice(0, hash) : v).trim();
}

function sectionOf(document: TreeMap, name: string): TreeMap {
  let section = document.get(name);
  if (!isTreeMap(section ?? null)) {
    section = new Map();
    document.set(name, section);
  }
  return section as TreeMap;
}

function valueText(section: string, key: string, value: TreeValue): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null) return '';
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  throw new AppError('E_UNSUPPORTED_VALUE', `an INI file holds sections of flat values; ${section}.${key} is nested`, { hint: 'use the YAML or JSON format for nested documents', details: { section, key } });
}

function quoted(value: string, where: string): string {
  const needs = value.includes('\n') ? '"""' : value.includes('#') || value.includes(';') ? '`' : value.trim() !== value || value.startsWith('"') || value.startsWith('`') ? '"' : '';
  if (needs !== '' && value.includes(needs === '"""' ? '"""' : needs)) {
    throw new AppError('E_UNREPRESENTABLE', `the value of ${where} cannot be quoted for INI`, { hint: 'use the YAML or JSON format for this value', details: { key: where } });
  }
  return needs + value + needs;
}

function writeSections(document: TreeMap, meta: Array<[string, string]> | null): string {
  const blocks: string[] = [];
  for (const [section, body] of document) {
    if (section.includes(']') || section.includes('\n')) throw new AppError('E_UNREPRESENTABLE', `INI section names cannot hold ] or a line break: ${section.slice(0, 80)}`, { hint: 'rename the section' });
    if (meta && section === SOPS_SECTION) throw new AppError('E_UNREPRESENTABLE', 'the section [sops] is reserved for the metadata', { hint: 'rename the section' });
    if (!isTreeMap(body)) throw new AppError('E_UNSUPPORTED_VALUE', `an INI document is a map of sections; "${section}" is not a section`, { hint: 'put every key inside a section (keys outside go in DEFAULT)', details: { key: section } });
    let text = `[${section}]\n`;
    for (const [key, value] of body) {
      if (key === '' || /[=:\n\r]/.test(key) || /^[#;[\s]/.test(key) || key.trim() !== key) throw new AppError('E_UNREPRESENTABLE', `INI keys cannot hold =, : or a line break, or start with # ; [ or a space: ${section}.${key.slice(0, 80)}`, { hint: 'rename the key' });
      text += `${key} = ${quoted(valueText(section, key, value), `${section}.${key}`)}\n`;
    }
    blocks.push(text);
  }
  if (meta) blocks.push(`[${SOPS_SECTION}]\n` + meta.map(([k, v]) => `${k} = ${v.replace(/\n/g, '\\n')}\n`).join(''));
  return blocks.join('\n');
}

export const iniStore: Store = {
  parse(text, name) {
    const document: TreeMap = new Map();
    const meta: Array<[string, string]> = [];
    const comments: EncryptedComment[] = [];
    let pending: Array<{ text: string; line: number }> = [];
    let current = DEFAULT_SECTION;
    const flush = (section: string): void => {
      const aad = section === SOPS_SECTION ? null : `${section}:`;
      for (const c of pending) if (aad !== null) comments.push({ text: c.text, aadCandidates: [aad, ':'], line: c.line });
      pending = [];
    };
    const rows = text.split('\n');
    const index = { i: 0 };
    for (; index.i < rows.length; index.i++) {
      const lineNo = index.i + 1;
      const line = (rows[index.i] as string).replace(/\r$/, '').trim();
      if (line === '') continue;
      if (line.startsWith(';') || line.startsWith('#')) {
        const body = line.slice(1).trim();
        if (looksEncrypted(body)) pending.push({ text: body, line: lineNo });
        continue;
      }
      if (line.startsWith('[')) {
        const close = line.indexOf(']');
        if (close < 0) throw parseError(name, 'unclosed section header', lineNo);
        current = line.slice(1, close).trim();
        if (current === '') throw parseError(name, 'empty section name', lineNo);
        flush(current);
        continue;
      }
      const sep = line.search(/[=:]/);
      if (sep <= 0) throw parseError(name, 'a line is neither key = value, a [section] nor a comment', lineNo);
      let key = line.slice(0, sep).trim();
      if ((key.startsWith('"') && key.endsWith('"') && key.length > 1) || (key.startsWith('`') && key.endsWith('`') && key.length > 1)) key = key.slice(1, -1);
      const value = readValue(line.slice(sep + 1), rows, index, name);
      flush(current);
      if (current === SOPS_SECTION) {
        meta.push([key, value]);
        continue;
      }
      const section = sectionOf(document, current);
      if (section.has(key)) throw parseError(name, `duplicate key "${key}" in [${current}]`, lineNo);
      section.set(key, value);
    }
    flush(current);
    if (meta.length === 0) return { document, comments: [], metadata: null };
    return { document, comments, metadata: unflattenMetadata(meta.map(([k, v]) => [k, v.replace(/\\n/g, '\n')])) };
  },
  emitEncrypted(document, metadata) {
    return writeSections(document, flattenMetadata(metadata));
  },
  emitPlain(document) {
    return Buffer.from(writeSections(document, null));
  },
};
