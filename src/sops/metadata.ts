/**
 * The `sops` metadata block: reading every layout sops has written (3.x full, 3.10+ compact,
 * 3.13 sorted, flattened for dotenv/INI) and writing the compact layout current sops writes.
 */
import { AppError } from '../errors.js';
import { parseGoBool } from './gofmt.js';
import type { PlainValue } from './flatten.js';
import type { EncryptionRules } from './rules.js';
import { isTreeMap, type TreeMap, type TreeValue } from './tree.js';

/** The layout version this engine writes (compact metadata, as sops 3.10+ writes it). */
export const WRITTEN_SOPS_VERSION = '3.11.0';

export interface AgeKeyEntry {
  recipient: string;
  /** The armored age file wrapping the data key. */
  enc: string;
}

export interface SopsMetadata extends EncryptionRules {
  ageKeys: AgeKeyEntry[];
  otherKeyTypes: string[];
  lastModified: string | null;
  mac: string | null;
  version: string | null;
  macOnlyEncrypted: boolean;
  commentRules: boolean;
  keyGroupCount: number;
}

/** What {@link inspect} reports: the metadata without anything wrapped or encrypted. */
export interface SopsMetadataSummary {
  version: string | null;
  lastModified: string | null;
  /** Public age recipients, in file order. */
  ageRecipients: string[];
  /** Other key types present, e.g. `['pgp']`: `kms`, `gcp_kms`, `azure_kv`, `hc_vault`, `pgp`. */
  otherKeyTypes: string[];
  macOnlyEncrypted: boolean;
  unencryptedSuffix: string | null;
  encryptedSuffix: string | null;
  unencryptedRegex: string | null;
  encryptedRegex: string | null;
}

const OTHER_KEY_TYPES = ['kms', 'gcp_kms', 'azure_kv', 'hc_vault', 'pgp'] as const;

/** A TreeMap subtree (the `sops` key) as plain nested data. */
export function treeToPlain(value: TreeValue): PlainValue {
  if (isTreeMap(value)) {
    const out: { [key: string]: PlainValue } = {};
    for (const [k, v] of value) out[k] = treeToPlain(v);
    return out;
  }
  if (Array.isArray(value)) return value.map(treeToPlain);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('utf8');
  return value;
}

function isRecord(v: unknown): v is Record<string, PlainValue> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

function optionalString(raw: Record<string, PlainValue>, key: string): string | null {
  const v = raw[key];
  if (v === undefined || v === null || v === '') return null;
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

/** Reads raw metadata (nested, any layout); E_PARSE when its shape is not what sops writes. */
export function readMetadata(raw: Record<string, PlainValue>, displayName: string): SopsMetadata {
  const bad = (what: string): AppError =>
    new AppError('E_PARSE', `malformed sops metadata (${what}): ${displayName}`, {
      hint: 'the `sops` block was edited by hand or damaged; restore it from git',
      details: { file: displayName },
    });
  const groups: Array<Record<string, PlainValue>> = [];
  const keyGroups = raw['key_groups'];
  if (Array.isArray(keyGroups) && keyGroups.length > 0) {
    for (const g of keyGroups) {
      if (!isRecord(g)) throw bad('key_groups');
      groups.push(g);
    }
  } else {
    groups.push(raw);
  }
  const ageKeys: AgeKeyEntry[] = [];
  const other = new Set<string>();
  for (const group of groups) {
    const age = group['age'];
    if (age !== undefined && age !== null) {
      if (!Array.isArray(age)) throw bad('age');
      for (const entry of age) {
        if (!isRecord(entry) || typeof entry['recipient'] !== 'string' || typeof entry['enc'] !== 'string') throw bad('age entry');
        ageKeys.push({ recipient: entry['recipient'].trim(), enc: entry['enc'] });
      }
    }
    for (const type of OTHER_KEY_TYPES) {
      const list = group[type];
      if (Array.isArray(list) && list.length > 0) other.add(type);
    }
  }
  const macOnlyRaw = raw['mac_only_encrypted'];
  let macOnlyEncrypted = false;
  if (typeof macOnlyRaw === 'boolean') macOnlyEncrypted = macOnlyRaw;
  else if (typeof macOnlyRaw === 'string' && macOnlyRaw !== '') {
    const parsed = parseGoBool(macOnlyRaw);
    if (parsed === null) throw bad('mac_only_encrypted');
    macOnlyEncrypted = parsed;
  }
  return {
    ageKeys,
    otherKeyTypes: OTHER_KEY_TYPES.filter((t) => other.has(t)),
    lastModified: optionalString(raw, 'lastmodified'),
    mac: optionalString(raw, 'mac'),
    version: optionalString(raw, 'version'),
    macOnlyEncrypted,
    unencryptedSuffix: optionalString(raw, 'unencrypted_suffix'),
    encryptedSuffix: optionalString(raw, 'encrypted_suffix'),
    unencryptedRegex: optionalString(raw, 'unencrypted_regex'),
    encryptedRegex: optionalString(raw, 'encrypted_regex'),
    commentRules: optionalString(raw, 'unencrypted_comment_regex') !== null || optionalString(raw, 'encrypted_comment_regex') !== null,
    keyGroupCount: groups.length,
  };
}

export function summarize(m: SopsMetadata): SopsMetadataSummary {
  return {
    version: m.version,
    lastModified: m.lastModified,
    ageRecipients: m.ageKeys.map((k) => k.recipient),
    otherKeyTypes: [...m.otherKeyTypes],
    macOnlyEncrypted: m.macOnlyEncrypted,
    unencryptedSuffix: m.unencryptedSuffix,
    encryptedSuffix: m.encryptedSuffix,
    unencryptedRegex: m.unencryptedRegex,
    encryptedRegex: m.encryptedRegex,
  };
}

/** New metadata in the compact layout sops 3.10+ writes (no empty key lists, only the rule in use). */
export function buildMetadata(input: {
  ageKeys: readonly AgeKeyEntry[];
  lastModified: string;
  mac: string;
  rules: EncryptionRules;
  macOnlyEncrypted: boolean;
}): Record<string, PlainValue> {
  const out: Record<string, PlainValue> = {
    age: input.ageKeys.map((k) => ({ recipient: k.recipient, enc: k.enc })),
    lastmodified: input.lastModified,
    mac: input.mac,
  };
  if (input.macOnlyEncrypted) out['mac_only_encrypted'] = true;
  if (input.rules.unencryptedSuffix) out['unencrypted_suffix'] = input.rules.unencryptedSuffix;
  if (input.rules.encryptedSuffix) out['encrypted_suffix'] = input.rules.encryptedSuffix;
  if (input.rules.unencryptedRegex) out['unencrypted_regex'] = input.rules.unencryptedRegex;
  if (input.rules.encryptedRegex) out['encrypted_regex'] = input.rules.encryptedRegex;
  out['version'] = WRITTEN_SOPS_VERSION;
  return out;
}

/** Raw metadata with its age list replaced; every other field (other key types, MAC, dates) kept. */
export function withAgeKeys(raw: Record<string, PlainValue>, ageKeys: readonly AgeKeyEntry[]): Record<string, PlainValue> {
  const out: Record<string, PlainValue> = {};
  const entries = ageKeys.map((k) => ({ recipient: k.recipient, enc: k.enc }));
  let placed = false;
  for (const [k, v] of Object.entries(raw)) {
    if (k === 'key_groups') continue;
    if (k === 'age') {
      out[k] = entries;
      placed = true;
    } else out[k] = v;
  }
  if (!placed) out['age'] = entries;
  return out;
}

/**
 * The additional data sops authenticates the MAC with: `lastmodified` parsed as RFC 3339 and
 * formatted again by Go (`time.RFC3339`: whole seconds, `Z` for UTC).
 */
export function macAdditionalData(lastModified: string): string {
  const m = /^(\d{4}-\d{2}-\d{2})[Tt](\d{2}:\d{2}:\d{2})(?:\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.exec(lastModified.trim());
  if (!m) return lastModified;
  const zone = m[3] === 'z' || m[3] === 'Z' || m[3] === '+00:00' || m[3] === '-00:00' ? 'Z' : (m[3] ?? 'Z');
  return `${m[1]}T${m[2]}${zone}`;
}

/** `now` as sops writes `lastmodified`: RFC 3339, UTC, whole seconds. */
export function formatLastModified(now: Date): string {
  return now.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export type { TreeMap };
