/**
 * YAML (and JSON, which is YAML) text → ordered tree, using the `yaml` package's CST parser.
 *
 * Speed matters here (the daemon decrypts on every change), and composing the full `yaml`
 * Document costs about as much again as parsing, so the common shape of a SOPS file (block and
 * flow maps and lists of scalars) is read straight from the CST, with scalars resolved by the
 * package (`CST.resolveAsScalar`) and the YAML 1.2 core schema. Anything rarer (anchors, aliases,
 * tags, complex keys) goes through the full Document API instead. Comments that look like
 * `ENC[…]` are collected with the key paths that may be their AAD.
 */
import type * as Yaml2 from 'yaml';
// The CST parser of yaml 3 (pinned pre-release, npm alias `yaml3`): ~5x faster than 2.x's, which
// reads process.env.LOG_TOKENS once per token. To go back: import these two from 'yaml' again.
import { CST, Parser } from 'yaml3';
import type { Scalar, TreeMap, TreeValue } from '../tree.js';
import { looksEncrypted } from '../cipher.js';
import { yamlApi } from '../yaml-api.js';
import { MAX_NESTING_DEPTH, depthError, lineOf, parseError } from './errors.js';
import type { EncryptedComment } from './types.js';

type Token = CST.Token;
type SourceToken = CST.SourceToken;

class NeedsFullParser extends Error {}

interface Ctx {
  text: string;
  name: string;
  comments: EncryptedComment[];
  lineStarts?: number[];
  /** Collections open around the token being converted (bounded by MAX_NESTING_DEPTH). */
  depth: number;
}

/** The 0-based column of an offset (line starts computed once per file). */
function columnOf(ctx: Ctx, offset: number): number {
  if (!ctx.lineStarts) {
    const starts = [0];
    for (let i = ctx.text.indexOf('\n'); i >= 0; i = ctx.text.indexOf('\n', i + 1)) starts.push(i + 1);
    ctx.lineStarts = starts;
  }
  const starts = ctx.lineStarts;
  let lo = 0;
  let hi = starts.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if ((starts[mid] as number) <= offset) lo = mid;
    else hi = mid - 1;
  }
  return offset - (starts[lo] as number);
}

/** Block collections: every entry starts at the same column (the Composer's BAD_INDENT / TAB_AS_INDENT). */
function checkColumn(ctx: Ctx, offset: number, expected: { column: number | null }): void {
  const column = columnOf(ctx, offset);
  if (expected.column === null) expected.column = column;
  else if (expected.column !== column) throw parseError(ctx.name, 'inconsistent indentation', lineOf(ctx.text, offset));
}

/** The parsed root value (or undefined for an empty document) and the encrypted-looking comments. */
export function parseYamlText(text: string, name: string): { root: TreeValue | undefined; comments: EncryptedComment[] } {
  const ctx: Ctx = { text, name, comments: [], depth: 0 };
  try {
    return { root: fromCst(ctx), comments: ctx.comments };
  } catch (error) {
    if (!(error instanceof NeedsFullParser)) throw error;
  }
  return { root: fromDocument(text, name), comments: [] };
}

function fromCst(ctx: Ctx): TreeValue | undefined {
  const docs: CST.Document[] = [];
  for (const token of new Parser().parse(ctx.text)) {
    if (token.type === 'document') docs.push(token);
    else if (token.type === 'error') throw parseError(ctx.name, 'invalid YAML syntax', lineOf(ctx.text, token.offset));
    else if (token.type === 'doc-end') scanTokens(ctx, token.end, [':'], []);
  }
  const withValue = docs.filter((d) => d.value !== undefined);
  if (withValue.length > 1) throw parseError(ctx.name, 'multi-document YAML is not supported', lineOf(ctx.text, (withValue[1] as CST.Document).offset));
  const doc = withValue[0] ?? docs[0];
  if (!doc) return undefined;
  scanTokens(ctx, doc.start, [':'], []);
  const result = doc.value ? convert(ctx, doc.value, [], ':', []) : undefined;
  scanTokens(ctx, doc.end, [':'], result?.trailing ?? []);
  return result?.value;
}

/** Registers `ENC[` comments; rejects what only the full parser handles. */
function scanTokens(ctx: Ctx, tokens: readonly (SourceToken | Token)[] | undefined, candidates: string[], more: string[]): void {
  if (!tokens) return;
  for (const t of tokens) {
    switch (t.type) {
      case 'comment': {
        const body = t.source.slice(1).trim();
        if (looksEncrypted(body)) {
          ctx.comments.push({ text: body, aadCandidates: [...new Set([...candidates.slice(0, 1), ...more, ...candidates.slice(1)])], line: lineOf(ctx.text, t.offset) });
        }
        break;
      }
      case 'anchor':
      case 'tag':
      case 'explicit-key-ind':
        throw new NeedsFullParser();
      case 'error':
      case 'flow-error-end':
        throw parseError(ctx.name, 'invalid YAML syntax', lineOf(ctx.text, t.offset));
      default:
        break;
    }
  }
}

interface Converted {
  value: TreeValue;
  /** AADs of the maps this value ends in (trailing comments indented into them belong there). */
  trailing: string[];
}

function convert(ctx: Ctx, token: Token, path: string[], aad: string, ancestors: string[]): Converted {
  if (!isContainer(token)) return convertLeaf(ctx, token, aad, ancestors);
  // checked before descending: the walk recurses once per level (see MAX_NESTING_DEPTH)
  if (ctx.depth >= MAX_NESTING_DEPTH) throw depthError(ctx.name, lineOf(ctx.text, token.offset));
  ctx.depth += 1;
  const converted = convertContainer(ctx, token, path, aad, ancestors);
  ctx.depth -= 1;
  return converted;
}

function convertContainer(ctx: Ctx, token: Token, path: string[], aad: string, ancestors: string[]): Converted {
  switch (token.type) {
    case 'block-map':
      return convertMap(ctx, token.items, path, aad, ancestors, true);
    case 'block-seq':
      return convertSeq(ctx, token.items, path, aad, ancestors, true);
    case 'flow-collection': {
      const close = token.start.source === '{' ? 'flow-map-end' : 'flow-seq-end';
      if (!token.end.some((t) => t.type === close)) throw parseError(ctx.name, 'unterminated flow collection', lineOf(ctx.text, token.offset));
      const converted = token.start.source === '{' ? convertMap(ctx, token.items, path, aad, ancestors, false) : convertSeq(ctx, token.items, path, aad, ancestors, false);
      scanTokens(ctx, token.end, [aad, ...ancestors], []);
      return converted;
    }
    default:
      return convertLeaf(ctx, token, aad, ancestors);
  }
}

function convertLeaf(ctx: Ctx, token: Token, aad: string, ancestors: string[]): Converted {
  switch (token.type) {
    case 'scalar':
    case 'single-quoted-scalar':
    case 'double-quoted-scalar':
    case 'block-scalar': {
      if (token.type === 'block-scalar') scanTokens(ctx, token.props as SourceToken[], [aad, ...ancestors], []);
      else scanTokens(ctx, token.end, [aad, ...ancestors], []);
      const resolved = resolveScalar(ctx, token);
      return { value: resolved.type === 'PLAIN' ? resolveCorePlain(resolved.value) : resolved.value, trailing: [] };
    }
    case 'alias':
      throw new NeedsFullParser();
    case 'error':
      throw parseError(ctx.name, 'invalid YAML syntax', lineOf(ctx.text, token.offset));
    default:
      throw parseError(ctx.name, `unexpected YAML token ${token.type}`, lineOf(ctx.text, token.offset));
  }
}

function resolveScalar(ctx: Ctx, token: CST.FlowScalar | CST.BlockScalar): { value: string; type: string | null } {
  const r = CST.resolveAsScalar(token, true, (offset) => {
    throw parseError(ctx.name, 'invalid YAML scalar', lineOf(ctx.text, offset));
  });
  return { value: r.value, type: r.type };
}

function convertMap(ctx: Ctx, items: CST.CollectionItem[], path: string[], aad: string, ancestors: string[], block: boolean): Converted {
  const map: TreeMap = new Map();
  const column = { column: null as number | null };
  const innerAncestors = [aad, ...ancestors];
  let prevTrailing: string[] = [];
  let lastTrailing: string[] = [];
  for (const item of items) {
    scanTokens(ctx, item.start, innerAncestors, prevTrailing);
    if (item.key === undefined && item.sep === undefined && item.value === undefined) continue;
    if (!item.key) throw parseError(ctx.name, 'a map entry has no key', lineOf(ctx.text, item.value?.offset ?? item.sep?.[0]?.offset ?? 0));
    const key = keyText(ctx, item.key);
    if (block) checkColumn(ctx, item.key.offset, column);
    if (map.has(key)) throw parseError(ctx.name, `duplicate key "${key}"`, lineOf(ctx.text, item.key.offset));
    const childPath = [...path, key];
    const childAad = (path.length === 0 ? '' : aad) + key + ':';
    scanTokens(ctx, item.sep, [childAad, ...innerAncestors], []);
    if (item.value?.type === 'block-map' && !item.sep?.some((t) => t.type === 'newline')) {
      // `a: b: c` — the Composer rejects nested mappings in compact form, and so does sops
      throw parseError(ctx.name, 'nested mappings are not allowed in compact mappings', lineOf(ctx.text, item.value.offset));
    }
    const child = item.value ? convert(ctx, item.value, childPath, childAad, innerAncestors) : { value: null, trailing: [] };
    map.set(key, child.value);
    prevTrailing = isContainer(item.value) ? [childAad, ...child.trailing] : [];
    lastTrailing = prevTrailing;
  }
  return { value: map, trailing: lastTrailing };
}

function convertSeq(ctx: Ctx, items: CST.CollectionItem[], path: string[], aad: string, ancestors: string[], block: boolean): Converted {
  const list: TreeValue[] = [];
  const column = { column: null as number | null };
  let prevTrailing: string[] = [];
  for (const item of items) {
    scanTokens(ctx, item.start, [aad, ...ancestors], prevTrailing);
    const indicator = block ? item.start.find((t) => t.type === 'seq-item-ind') : undefined;
    if (indicator) checkColumn(ctx, indicator.offset, column);
    if (item.key !== undefined || item.sep !== undefined) {
      if (item.key === undefined && item.value === undefined) continue;
      throw new NeedsFullParser();
    }
    if (item.value === undefined) {
      if (item.start.some((t) => t.type === 'seq-item-ind')) list.push(null);
      continue;
    }
    const child = convert(ctx, item.value, path, aad, ancestors);
    list.push(child.value);
    prevTrailing = child.trailing;
  }
  return { value: list, trailing: prevTrailing };
}

function isContainer(token: Token | undefined): boolean {
  return token !== undefined && (token.type === 'block-map' || token.type === 'block-seq' || token.type === 'flow-collection');
}

/** Keys are always strings, as sops reads them (the key's text, whatever it looks like). */
function keyText(ctx: Ctx, token: Token): string {
  switch (token.type) {
    case 'scalar':
    case 'single-quoted-scalar':
    case 'double-quoted-scalar':
      scanTokens(ctx, token.end, [], []);
      return resolveScalar(ctx, token).value;
    case 'alias':
      throw new NeedsFullParser();
    default:
      throw new NeedsFullParser();
  }
}

const CORE_INT = /^[-+]?[0-9]+$/;
const CORE_FLOAT = /^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$/;

/** YAML 1.2 core schema for plain scalars: only true/false are booleans; no timestamps. */
export function resolveCorePlain(s: string): Scalar {
  switch (s) {
    case '':
    case '~':
    case 'null':
    case 'Null':
    case 'NULL':
      return null;
    case 'true':
    case 'True':
    case 'TRUE':
      return true;
    case 'false':
    case 'False':
    case 'FALSE':
      return false;
    case '.inf':
    case '.Inf':
    case '.INF':
    case '+.inf':
    case '+.Inf':
    case '+.INF':
      return Infinity;
    case '-.inf':
    case '-.Inf':
    case '-.INF':
      return -Infinity;
    case '.nan':
    case '.NaN':
    case '.NAN':
      return NaN;
    default:
      break;
  }
  if (CORE_INT.test(s) || CORE_FLOAT.test(s)) return Number(s);
  if (/^0o[0-7]+$/.test(s)) return parseInt(s.slice(2), 8);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.slice(2), 16);
  return s;
}

const MAX_NODES = 1_000_000;

/** The slow, complete path: the `yaml` Document API (anchors, aliases, tags, complex keys). */
function fromDocument(text: string, name: string): TreeValue | undefined {
  const { CST: CST2, isAlias, isMap, isScalar, isSeq, parseAllDocuments } = yamlApi();
  const docs = parseAllDocuments(text, { version: '1.2', schema: 'core', merge: false, uniqueKeys: true, keepSourceTokens: true, prettyErrors: false });
  if (!Array.isArray(docs)) throw parseError(name, 'invalid YAML syntax', null);
  const withContent = docs.filter((d) => d.contents !== null);
  for (const d of docs) {
    const err = d.errors[0];
    if (err) throw parseError(name, 'invalid YAML syntax', lineOf(text, err.pos[0]));
  }
  if (withContent.length > 1) throw parseError(name, 'multi-document YAML is not supported', null);
  const doc = withContent[0];
  if (!doc || doc.contents === null) return undefined;
  let budget = MAX_NODES;
  const visit = (node: unknown, depth: number): TreeValue => {
    if (--budget < 0) throw parseError(name, 'too many nodes (alias expansion)', null);
    // an alias adds no level of its own; the budget above stops cycles and expansion
    if (isAlias(node)) return visit(node.resolve(doc as Yaml2.Document), depth);
    // `depth` collections are open around this node, counted as the fast path counts them
    if ((isMap(node) || isSeq(node)) && depth >= MAX_NESTING_DEPTH) throw depthError(name, nodeLine(text, node));
    if (isMap(node)) {
      const map: TreeMap = new Map();
      for (const pair of node.items) {
        if (!isScalar(pair.key)) throw parseError(name, 'complex (non-scalar) map keys are not supported', pair.key && (pair.key as Yaml2.Node).range ? lineOf(text, ((pair.key as Yaml2.Node).range as [number, number, number])[0]) : null);
        const src = pair.key.srcToken;
        const key = src && (src.type === 'scalar' || src.type === 'single-quoted-scalar' || src.type === 'double-quoted-scalar' || src.type === 'block-scalar') ? CST2.resolveAsScalar(src).value : String(pair.key.value);
        if (map.has(key)) throw parseError(name, `duplicate key "${key}"`, null);
        map.set(key, visit(pair.value, depth + 1));
      }
      return map;
    }
    if (isSeq(node)) return node.items.map((item) => visit(item, depth + 1));
    if (isScalar(node)) {
      const v = node.value;
      if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
      if (typeof v === 'bigint') return Number(v);
      if (v instanceof Uint8Array) return v;
      return String(v);
    }
    if (node === null || node === undefined) return null;
    throw parseError(name, 'unsupported YAML node', null);
  };
  return visit(doc.contents, 0);
}

/** The line a Document node starts on, when it has a range. */
function nodeLine(text: string, node: unknown): number | null {
  const range = (node as Yaml2.Node | null)?.range;
  return Array.isArray(range) ? lineOf(text, range[0]) : null;
}
