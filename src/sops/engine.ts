/**
 * The SOPS + age engine: decrypt (strict: every tag, the MAC and encrypted comments verified;
 * nothing returned unless all of it checks out), encrypt, and re-wrap or rotate the data key.
 * Pure: no file system, environment, logging or processes.
 */
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { AppError } from '../errors.js';
import { CipherFailure, openValue, sealValue } from './cipher.js';
import { unwrapDataKey, wrapDataKey, DATA_KEY_BYTES } from './datakey.js';
import type { PlainValue } from './flatten.js';
import type { SopsFormat } from './format.js';
import {
  buildMetadata,
  formatLastModified,
  macAdditionalData,
  readMetadata,
  summarize,
  withAgeKeys,
  type AgeKeyEntry,
  type SopsMetadata,
  type SopsMetadataSummary,
} from './metadata.js';
import { RuleSet, type EncryptionRules } from './rules.js';
import { storeFor, type ParsedFile } from './stores/index.js';
import { dotenvValues } from './stores/dotenv.js';
import { fromPlain, isTreeMap, type TreeMap } from './tree.js';
import { yamlApi } from './yaml-api.js';
import { MacInput, decryptTree, encryptTree, macEquals } from './walk.js';

export interface DecryptOptions {
  format: SopsFormat;
  /** `AGE-SECRET-KEY-1…` (or `AGE-SECRET-KEY-PQ-1…`) lines. */
  identities: readonly string[];
  /** Display name for messages, e.g. `config/secrets.enc.yaml`. */
  path?: string;
}

export interface DecryptResult {
  document: TreeMap;
  metadata: SopsMetadataSummary;
  /** The recipient of the identity that unwrapped the data key. */
  openedBy: string;
  timings?: { parseMs: number; unwrapMs: number; valuesMs: number; macMs: number };
  /**
   * A copy of the data key, only when `keepDataKey` was asked for: for a caller in the same
   * process that pins keys (the engine itself knows nothing of pins). Never log or store it.
   */
  dataKey?: Uint8Array;
}

export interface EncryptOptions {
  format: SopsFormat;
  recipients: readonly string[];
  unencryptedSuffix?: string;
  encryptedSuffix?: string;
  unencryptedRegex?: string;
  encryptedRegex?: string;
  macOnlyEncrypted?: boolean;
  /** `lastmodified`; defaults to the current time. */
  now?: Date;
}

export interface UpdateRecipientsOptions {
  format: SopsFormat;
  identities: readonly string[];
  recipients: readonly string[];
  /** true: a new data key, every value re-encrypted (`sops rotate`); false: re-wrap the same key (`sops updatekeys`). */
  rotateDataKey?: boolean;
  /**
   * Changes the plain document before it is sealed again (e.g. bump MCP_SECRETS_VERSION during a
   * rotation). Without rotateDataKey the data key is kept and every value is re-encrypted with it
   * (fresh IVs, new MAC), as `sops edit` does; comments are not kept.
   */
  edit?: (document: TreeMap) => void;
  now?: Date;
  path?: string;
}

function displayNameOf(path: string | undefined, format: SopsFormat): string {
  return path && path.length > 0 ? path : `(${format} input)`;
}

function toText(bytes: Uint8Array | string, name: string): string {
  if (typeof bytes === 'string') return bytes;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch (cause) {
    throw new AppError('E_PARSE', `cannot parse ${name}: it is not UTF-8 text`, { hint: 'is this really a SOPS file? restore it from git', cause, details: { file: name } });
  }
}

function notSops(name: string): AppError {
  return new AppError('E_NOT_SOPS', `not a SOPS file (no sops metadata): ${name}`, {
    hint: 'encrypt it with sops or `mcp-secrets rotate`',
    details: { file: name },
  });
}

interface Loaded {
  parsed: ParsedFile;
  metadata: SopsMetadata;
  raw: Record<string, PlainValue>;
}

function load(bytes: Uint8Array | string, format: SopsFormat, name: string): Loaded {
  const parsed = storeFor(format).parse(toText(bytes, name), name);
  if (parsed.metadata === null) throw notSops(name);
  const metadata = readMetadata(parsed.metadata, name);
  if (metadata.commentRules) {
    throw new AppError('E_DECRYPT', `${name} uses unencrypted_comment_regex/encrypted_comment_regex, which the native engine does not implement`, {
      hint: 'decrypt it with `--engine sops`',
      details: { file: name },
    });
  }
  if (metadata.keyGroupCount > 1) {
    throw new AppError('E_NO_IDENTITY', `${name} splits its data key over ${metadata.keyGroupCount} key groups (Shamir), which the native engine does not implement`, {
      hint: 'decrypt it with `--engine sops`',
      details: { file: name },
    });
  }
  return { parsed, metadata, raw: parsed.metadata };
}

const PARSED = new WeakMap<ParsedBundle, Loaded>();

/**
 * A SOPS file parsed once (document, comments and metadata checked), to read its metadata and
 * then decrypt it without parsing the bytes again. Immutable: decrypting does not consume it.
 * Made only by {@link parseBundle}.
 */
export class ParsedBundle {
  /** What the metadata says (recipients, key types, rules): public, nothing decrypted. */
  readonly metadata: SopsMetadataSummary;
  private constructor(
    readonly format: SopsFormat,
    /** The display name parse errors used; decrypt errors use `path` from the decrypt options when given. */
    readonly displayName: string,
    loaded: Loaded,
  ) {
    this.metadata = summarize(loaded.metadata);
    PARSED.set(this, loaded);
    Object.freeze(this);
  }
  /** @internal */
  static of(format: SopsFormat, displayName: string, loaded: Loaded): ParsedBundle {
    return new ParsedBundle(format, displayName, loaded);
  }
}

/** Parses a SOPS file once: no identity needed, nothing decrypted. E_PARSE / E_NOT_SOPS. */
export function parseBundle(bytes: Uint8Array | string, opts: { format: SopsFormat; path?: string }): ParsedBundle {
  const name = displayNameOf(opts.path, opts.format);
  return ParsedBundle.of(opts.format, name, load(bytes, opts.format, name));
}

/** Reads the metadata only: no identity needed, nothing decrypted. E_PARSE / E_NOT_SOPS. */
export function inspect(bytes: Uint8Array | string, opts: { format: SopsFormat; path?: string }): SopsMetadataSummary {
  return parseBundle(bytes, opts).metadata;
}

/** The parse of `input`: done now for bytes, taken as it is for a {@link ParsedBundle}. */
function loadInput(input: Uint8Array | string | ParsedBundle, format: SopsFormat, name: string): Loaded {
  if (!(input instanceof ParsedBundle)) return load(input, format, name);
  const loaded = PARSED.get(input);
  if (!loaded) throw new TypeError('a ParsedBundle must come from parseBundle');
  if (input.format !== format) {
    throw new AppError('E_USAGE', `${name} was parsed as ${input.format}, not ${format}`, { hint: 'pass the same format to parseBundle and decrypt' });
  }
  return loaded;
}

interface Opened extends Loaded {
  document: TreeMap;
  dataKey: Uint8Array;
  openedBy: string;
  timings: { parseMs: number; unwrapMs: number; valuesMs: number; macMs: number };
}

async function open(input: Uint8Array | string | ParsedBundle, opts: DecryptOptions): Promise<Opened> {
  const name = input instanceof ParsedBundle && !opts.path ? input.displayName : displayNameOf(opts.path, opts.format);
  const t0 = performance.now();
  const loaded = loadInput(input, opts.format, name);
  const { metadata, parsed } = loaded;
  const rules = new RuleSet(metadata, name);
  const t1 = performance.now();
  const { dataKey, openedBy } = await unwrapDataKey(metadata.ageKeys, opts.identities, { displayName: name, otherKeyTypes: metadata.otherKeyTypes });
  const t2 = performance.now();
  const mac = new MacInput(metadata.macOnlyEncrypted);
  const document = decryptTree(parsed.document, { key: dataKey, rules, mac, displayName: name, rawStrings: opts.format === 'binary' });
  verifyComments(parsed, dataKey, name);
  const t3 = performance.now();
  verifyMac(mac, metadata, dataKey, name);
  const t4 = performance.now();
  return { ...loaded, document, dataKey, openedBy, timings: { parseMs: t1 - t0, unwrapMs: t2 - t1, valuesMs: t3 - t2, macMs: t4 - t3 } };
}

/** Encrypted comments are not in the document or the MAC, but a tampered one is still an error. */
function verifyComments(parsed: ParsedFile, key: Uint8Array, name: string): void {
  for (const comment of parsed.comments) {
    let ok = false;
    for (const aad of comment.aadCandidates) {
      try {
        openValue(comment.text, key, aad);
        ok = true;
        break;
      } catch (error) {
        if (!(error instanceof CipherFailure)) throw error;
      }
    }
    if (!ok) {
      const where = comment.line === null ? name : `${name}:${comment.line}`;
      throw new AppError('E_DECRYPT', `cannot decrypt the encrypted comment at ${where}: AES-GCM authentication failed`, {
        hint: 'the comment was changed after encryption; restore the file from git',
        details: { file: name, line: comment.line },
      });
    }
  }
}

function macMismatch(name: string, reason: string): AppError {
  return new AppError('E_MAC_MISMATCH', `MAC mismatch: ${name}: ${reason}`, {
    hint: 'the file was changed without sops (a hand edit, a bad merge or tampering); restore it from git or re-encrypt it with sops',
    details: { file: name },
  });
}

function verifyMac(mac: MacInput, metadata: SopsMetadata, key: Uint8Array, name: string): void {
  if (metadata.mac === null) throw macMismatch(name, 'the file has no MAC');
  if (metadata.lastModified === null) throw macMismatch(name, 'the file has no lastmodified date to check the MAC with');
  let stored: string;
  try {
    const opened = openValue(metadata.mac, key, macAdditionalData(metadata.lastModified));
    stored = opened.bytes.toString('utf8');
  } catch (error) {
    if (!(error instanceof CipherFailure)) throw error;
    // sops reports an undecryptable MAC as a MAC mismatch too (exit code 51)
    throw macMismatch(name, 'the stored MAC cannot be decrypted (AES-GCM authentication failed)');
  }
  if (!macEquals(mac.digest(), stored)) throw macMismatch(name, 'the values do not match the stored MAC');
}

/**
 * Decrypts a SOPS file (its bytes, or a {@link ParsedBundle} to skip parsing again) to its plain
 * document (metadata removed, order kept). Every check is made either way.
 * Throws E_PARSE, E_NOT_SOPS, E_NO_IDENTITY, E_DECRYPT or E_MAC_MISMATCH; never partial output.
 */
export async function decrypt(bytes: Uint8Array | string | ParsedBundle, opts: DecryptOptions): Promise<TreeMap> {
  return (await open(bytes, opts)).document;
}

/**
 * {@link decrypt} plus the metadata summary, the opening recipient, (with `profile`) phase timings
 * and (with `keepDataKey`) the data key, returned only after the MAC has been verified.
 */
export async function decryptDetailed(bytes: Uint8Array | string | ParsedBundle, opts: DecryptOptions & { profile?: boolean; keepDataKey?: boolean }): Promise<DecryptResult> {
  const opened = await open(bytes, opts);
  const result: DecryptResult = { document: opened.document, metadata: summarize(opened.metadata), openedBy: opened.openedBy };
  if (opts.profile) result.timings = opened.timings;
  if (opts.keepDataKey) result.dataKey = Uint8Array.from(opened.dataKey);
  return result;
}

function rulesFrom(opts: Pick<EncryptOptions, 'unencryptedSuffix' | 'encryptedSuffix' | 'unencryptedRegex' | 'encryptedRegex'>): EncryptionRules {
  const set = [opts.unencryptedSuffix, opts.encryptedSuffix, opts.unencryptedRegex, opts.encryptedRegex].filter((v) => v !== undefined && v !== '');
  if (set.length > 1) {
    throw new AppError('E_USAGE', 'only one of unencryptedSuffix, encryptedSuffix, unencryptedRegex and encryptedRegex may be set', {
      hint: 'pick one rule (sops allows only one per file)',
    });
  }
  const none = set.length === 0;
  return {
    unencryptedSuffix: none ? '_unencrypted' : (opts.unencryptedSuffix || null),
    encryptedSuffix: opts.encryptedSuffix || null,
    unencryptedRegex: opts.unencryptedRegex || null,
    encryptedRegex: opts.encryptedRegex || null,
  };
}

function documentFor(document: TreeMap | Record<string, unknown>, format: SopsFormat): TreeMap {
  const tree = fromPlain(document);
  if (!isTreeMap(tree)) throw new AppError('E_UNSUPPORTED_VALUE', 'the document must be a map', { hint: 'pass a Map or a plain object' });
  if (format === 'dotenv') return dotenvValues(tree);
  if (format === 'binary') {
    const data = tree.get('data');
    if (tree.size !== 1 || !(data instanceof Uint8Array || typeof data === 'string')) {
      throw new AppError('E_UNSUPPORTED_VALUE', 'a binary document is {data: bytes}', { hint: 'pass new Map([["data", bytes]])' });
    }
    return new Map([['data', typeof data === 'string' ? Buffer.from(data, 'utf8') : data]]);
  }
  return tree;
}

async function seal(
  document: TreeMap,
  format: SopsFormat,
  ageKeys: readonly AgeKeyEntry[],
  dataKey: Uint8Array,
  rules: EncryptionRules,
  macOnlyEncrypted: boolean,
  now: Date,
): Promise<Uint8Array> {
  const store = storeFor(format);
  const mac = new MacInput(macOnlyEncrypted);
  const encrypted = encryptTree(document, { key: dataKey, rules: new RuleSet(rules, '(document)'), mac, bytesAsStr: format === 'binary' });
  const lastModified = formatLastModified(now);
  const macValue = sealValue(Buffer.from(mac.digest()), 'str', dataKey, macAdditionalData(lastModified));
  const metadata = buildMetadata({ ageKeys, lastModified, mac: macValue, rules, macOnlyEncrypted });
  return Buffer.from(store.emitEncrypted(encrypted, metadata), 'utf8');
}

/**
 * Encrypts a plain document for the given age recipients with a fresh data key, in the compact
 * metadata layout of current sops. Default rule: `unencrypted_suffix: _unencrypted`.
 */
export async function encrypt(document: TreeMap | Record<string, unknown>, opts: EncryptOptions): Promise<Uint8Array> {
  if (opts.recipients.length === 0) throw new AppError('E_USAGE', 'encrypt needs at least one age recipient', { hint: 'pass recipients: ["age1…"]' });
  const tree = documentFor(document, opts.format);
  const rules = rulesFrom(opts);
  new RuleSet(rules, '(options)');
  const dataKey = randomBytes(DATA_KEY_BYTES);
  const ageKeys = await wrapDataKey(dataKey, opts.recipients);
  return seal(tree, opts.format, ageKeys, dataKey, rules, opts.macOnlyEncrypted ?? false, opts.now ?? new Date());
}

/**
 * Changes who can open a file. Default: like `sops updatekeys` (the same data key re-wrapped for
 * `recipients`; values, MAC and date untouched). With `rotateDataKey`: like `sops rotate` (a new
 * data key, every value re-encrypted, MAC and date renewed). The file is fully verified first.
 */
/** The encryption rules a file was written with, to write it again the same way. */
function rulesOf(metadata: EncryptionRules): EncryptionRules {
  return {
    unencryptedSuffix: metadata.unencryptedSuffix,
    encryptedSuffix: metadata.encryptedSuffix,
    unencryptedRegex: metadata.unencryptedRegex,
    encryptedRegex: metadata.encryptedRegex,
  };
}

export async function updateRecipients(bytes: Uint8Array | string, opts: UpdateRecipientsOptions): Promise<Uint8Array> {
  if (opts.recipients.length === 0) throw new AppError('E_USAGE', 'updateRecipients needs at least one age recipient', { hint: 'pass recipients: ["age1…"]' });
  const name = displayNameOf(opts.path, opts.format);
  const opened = await open(bytes, { format: opts.format, identities: opts.identities, path: name });
  const { metadata } = opened;
  if (opts.rotateDataKey) {
    if (metadata.otherKeyTypes.length > 0) {
      throw new AppError('E_USAGE', `${name} also has ${metadata.otherKeyTypes.join(', ')} keys, which cannot wrap a new data key here`, {
        hint: 'rotate it with `sops rotate`, or drop the other keys first',
      });
    }
    const dataKey = randomBytes(DATA_KEY_BYTES);
    const ageKeys = await wrapDataKey(dataKey, opts.recipients);
    opts.edit?.(opened.document);
    return seal(opened.document, opts.format, ageKeys, dataKey, rulesOf(metadata), metadata.macOnlyEncrypted, opts.now ?? new Date());
  }
  const ageKeys = await wrapDataKey(opened.dataKey, opts.recipients);
  if (opts.edit) {
    opts.edit(opened.document);
    return seal(opened.document, opts.format, ageKeys, opened.dataKey, rulesOf(metadata), metadata.macOnlyEncrypted, opts.now ?? new Date());
  }
  if (opts.format === 'yaml') return Buffer.from(replaceYamlAgeKeys(toText(bytes, name), ageKeys), 'utf8');
  const raw = withAgeKeys(opened.raw, ageKeys);
  return Buffer.from(storeFor(opts.format).emitEncrypted(opened.parsed.document, raw), 'utf8');
}

/** YAML: edit only `sops.age` in the parsed Document, so values and comments stay as they were. */
function replaceYamlAgeKeys(text: string, ageKeys: readonly AgeKeyEntry[]): string {
  const { Document: YamlDocument, parseDocument } = yamlApi();
  const doc = parseDocument(text, { version: '1.2', schema: 'core', merge: false });
  const entries = ageKeys.map((k) => new Map([['recipient', k.recipient], ['enc', k.enc]]));
  doc.deleteIn(['sops', 'key_groups']);
  doc.setIn(['sops', 'age'], new YamlDocument(entries).contents);
  return doc.toString({ indent: 4, indentSeq: true, lineWidth: 0, minContentWidth: 0 });
}

/** A plain document in a store's format, like `sops -d` prints it. */
export function serialize(document: TreeMap, format: SopsFormat): Uint8Array {
  return storeFor(format).emitPlain(format === 'dotenv' ? dotenvValues(document) : document);
}
