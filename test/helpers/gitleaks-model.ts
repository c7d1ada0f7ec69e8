/**
 * A small model of how gitleaks v8 (>= 8.25) applies a config's own rules and allow-lists to one
 * file; tests only. gitleaks is not installable here, so the config's rules are exercised through
 * this model, which follows gitleaks' detect step: keyword prefilter on the lower-cased text,
 * every regex match, the secret taken from `secretGroup` of the match, the Shannon entropy
 * threshold (a secret at or below it is dropped), then global allow-lists and the rule's own,
 * where `condition = "AND"` requires every check the allow-list defines.
 *
 * The upstream default rules (`[extend] useDefault`) are not modelled.
 */
import { goRegexpToJs } from './go-regexp.js';
import { parseTomlSubset, type TomlTable, type TomlValue } from './toml-subset.js';

export type RegexTarget = 'secret' | 'match' | 'line';

export interface GitleaksAllowlist {
  description: string;
  condition: 'OR' | 'AND';
  paths: RegExp[];
  regexTarget: RegexTarget;
  regexes: RegExp[];
  stopwords: string[];
  /** Global allow-lists only: the rules it is limited to (empty: all rules). */
  targetRules: string[];
}

export interface GitleaksRule {
  id: string;
  description: string;
  regex: RegExp;
  secretGroup: number;
  /** 0: no entropy check. */
  entropy: number;
  keywords: string[];
  tags: string[];
  allowlists: GitleaksAllowlist[];
}

export interface GitleaksConfig {
  title: string;
  useDefault: boolean;
  rules: GitleaksRule[];
  allowlists: GitleaksAllowlist[];
}

/** What a rule found; `allowedBy` names the allow-list that excuses it, or is null (a leak). */
export interface Finding {
  ruleId: string;
  secret: string;
  match: string;
  line: string;
  allowedBy: string | null;
}

/** The text a finding exposes to an allow-list regex. */
export interface FindingTarget {
  path: string;
  secret: string;
  match: string;
  line: string;
}

const TOP_KEYS = new Set(['title', 'description', 'extend', 'rules', 'allowlists']);
const EXTEND_KEYS = new Set(['useDefault', 'path', 'disabledRules']);
const RULE_KEYS = new Set(['id', 'description', 'regex', 'secretGroup', 'entropy', 'keywords', 'tags', 'path', 'allowlists']);
const ALLOWLIST_KEYS = new Set(['description', 'condition', 'regexTarget', 'regexes', 'paths', 'stopwords', 'commits', 'targetRules']);

function fail(where: string, message: string): never {
  throw new Error(`gitleaks config ${where}: ${message}`);
}

function onlyKeys(table: TomlTable, allowed: Set<string>, where: string): void {
  for (const key of Object.keys(table)) if (!allowed.has(key)) fail(where, `unknown key "${key}"`);
}

function str(value: TomlValue | undefined, where: string, fallback?: string): string {
  if (value === undefined && fallback !== undefined) return fallback;
  if (typeof value !== 'string') fail(where, 'expected a string');
  return value;
}

function strings(value: TomlValue | undefined, where: string): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) fail(where, 'expected an array of strings');
  return value as string[];
}

function num(value: TomlValue | undefined, where: string): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number') fail(where, 'expected a number');
  return value;
}

function tables(value: TomlValue | undefined, where: string): TomlTable[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'object' && !Array.isArray(v))) fail(where, 'expected [[tables]]');
  return value as TomlTable[];
}

function compile(pattern: string, where: string): RegExp {
  try {
    return goRegexpToJs(pattern);
  } catch (error) {
    return fail(where, (error as Error).message);
  }
}

function readAllowlist(table: TomlTable, where: string, global: boolean): GitleaksAllowlist {
  onlyKeys(table, ALLOWLIST_KEYS, where);
  const description = str(table.description, `${where}.description`);
  const condition = str(table.condition, `${where}.condition`, 'OR').toUpperCase();
  if (condition !== 'OR' && condition !== 'AND') fail(where, `condition must be "AND" or "OR", not "${condition}"`);
  const regexTarget = str(table.regexTarget, `${where}.regexTarget`, 'secret');
  if (regexTarget !== 'secret' && regexTarget !== 'match' && regexTarget !== 'line') fail(where, `unknown regexTarget "${regexTarget}"`);
  if (table.commits !== undefined) fail(where, 'commits are not modelled (a --no-git scan has none)');
  const targetRules = strings(table.targetRules, `${where}.targetRules`);
  if (!global && targetRules.length > 0) fail(where, 'targetRules only belongs in a global [[allowlists]]');
  const allowlist: GitleaksAllowlist = {
    description,
    condition,
    paths: strings(table.paths, `${where}.paths`).map((p, i) => compile(p, `${where}.paths[${i}]`)),
    regexTarget,
    regexes: strings(table.regexes, `${where}.regexes`).map((p, i) => compile(p, `${where}.regexes[${i}]`)),
    stopwords: strings(table.stopwords, `${where}.stopwords`).map((w) => w.toLowerCase()),
    targetRules,
  };
  if (allowlist.paths.length + allowlist.regexes.length + allowlist.stopwords.length === 0) {
    fail(where, 'an allow-list needs at least one of paths, regexes or stopwords');
  }
  return allowlist;
}

function readRule(table: TomlTable, index: number): GitleaksRule {
  const where = `[[rules]] #${index + 1}`;
  onlyKeys(table, RULE_KEYS, where);
  const id = str(table.id, `${where}.id`);
  if (table.path !== undefined) fail(id, 'path rules are not modelled');
  const regex = compile(str(table.regex, `${id}.regex`), `${id}.regex`);
  const groups = new RegExp(`${regex.source}|`, regex.flags).exec('')!.length - 1;
  const secretGroup = num(table.secretGroup, `${id}.secretGroup`);
  if (!Number.isInteger(secretGroup) || secretGroup < 0 || secretGroup > groups) fail(id, `secretGroup ${secretGroup} but the regex has ${groups} groups`);
  const keywords = strings(table.keywords, `${id}.keywords`);
  for (const k of keywords) if (k !== k.toLowerCase()) fail(id, `keyword "${k}" should be lower-case (gitleaks lower-cases them)`);
  return {
    id,
    description: str(table.description, `${id}.description`),
    regex,
    secretGroup,
    entropy: num(table.entropy, `${id}.entropy`),
    keywords,
    tags: strings(table.tags, `${id}.tags`),
    allowlists: tables(table.allowlists, `${id}.allowlists`).map((a, i) => readAllowlist(a, `${id}.allowlists[${i}]`, false)),
  };
}

/**
 * Reads and validates a gitleaks config in the TOML subset; throws naming the rule or allow-list
 * on unknown keys, bad values, or regexes outside the RE2/JavaScript subset.
 */
export function readGitleaksConfig(text: string): GitleaksConfig {
  const root = parseTomlSubset(text);
  onlyKeys(root, TOP_KEYS, 'top level');
  if (root.allowlist !== undefined) fail('top level', 'use [[allowlists]], not the deprecated [allowlist]');
  const extend = root.extend ?? {};
  if (typeof extend !== 'object' || Array.isArray(extend)) fail('[extend]', 'expected a table');
  onlyKeys(extend, EXTEND_KEYS, '[extend]');
  const rules = tables(root.rules, '[[rules]]').map(readRule);
  const ids = new Set<string>();
  for (const rule of rules) {
    if (ids.has(rule.id)) fail(rule.id, 'duplicate rule id');
    ids.add(rule.id);
  }
  return {
    title: str(root.title, 'title', ''),
    useDefault: extend.useDefault === true,
    rules,
    allowlists: tables(root.allowlists, '[[allowlists]]').map((a, i) => readAllowlist(a, `[[allowlists]] #${i + 1}`, true)),
  };
}

/** Shannon entropy in bits per character, as gitleaks computes it. */
export function shannonEntropy(text: string): number {
  if (text.length === 0) return 0;
  const counts = new Map<string, number>();
  for (const c of text) counts.set(c, (counts.get(c) ?? 0) + 1);
  let entropy = 0;
  for (const count of counts.values()) {
    const p = count / text.length;
    entropy -= p * Math.log2(p);
  }
  return entropy;
}

/** True when this allow-list excuses the finding (paths, regexes on the target, stopwords). */
export function allowlistAllows(allowlist: GitleaksAllowlist, finding: FindingTarget): boolean {
  const target = allowlist.regexTarget === 'match' ? finding.match : allowlist.regexTarget === 'line' ? finding.line : finding.secret;
  const pathOk = allowlist.paths.some((p) => p.test(finding.path));
  const regexOk = allowlist.regexes.some((r) => r.test(target));
  const stopOk = allowlist.stopwords.some((w) => finding.secret.toLowerCase().includes(w));
  if (allowlist.condition === 'AND') {
    const checks: boolean[] = [];
    if (allowlist.paths.length > 0) checks.push(pathOk);
    if (allowlist.regexes.length > 0) checks.push(regexOk);
    if (allowlist.stopwords.length > 0) checks.push(stopOk);
    return checks.every(Boolean);
  }
  return pathOk || regexOk || stopOk;
}

function allowlistsFor(config: GitleaksConfig, rule: GitleaksRule): GitleaksAllowlist[] {
  const global = config.allowlists.filter((a) => a.targetRules.length === 0 || a.targetRules.includes(rule.id));
  return [...global, ...rule.allowlists];
}

/** Runs the config's own rules over one file's text, like `gitleaks detect --no-git` would. */
export function scanFile(config: GitleaksConfig, file: { path: string; content: string }): Finding[] {
  const { path, content } = file;
  const lower = content.toLowerCase();
  const findings: Finding[] = [];
  for (const rule of config.rules) {
    if (rule.keywords.length > 0 && !rule.keywords.some((k) => lower.includes(k))) continue;
    const all = new RegExp(rule.regex.source, `${rule.regex.flags}g`);
    for (const m of content.matchAll(all)) {
      if (m[0].length === 0) continue;
      // gitleaks trims newlines off the match, then takes the secret group from a re-match of it
      const match = m[0].replace(/^\n+|\n+$/g, '');
      const start = (m.index ?? 0) + (m[0].length - m[0].replace(/^\n+/, '').length);
      const end = start + match.length;
      const groups = rule.regex.exec(match);
      let secret = match;
      if (groups && groups.length >= 2) {
        secret = rule.secretGroup > 0 ? (groups[rule.secretGroup] ?? '') : (groups.slice(1).find((g) => g) ?? match);
      }
      if (rule.entropy > 0 && shannonEntropy(secret) <= rule.entropy) continue;
      const lineStart = content.lastIndexOf('\n', start - 1) + 1;
      const newline = content.indexOf('\n', end);
      const line = content.slice(lineStart, newline < 0 ? content.length : newline);
      const target: FindingTarget = { path, secret, match, line };
      const allowedBy = allowlistsFor(config, rule).find((a) => allowlistAllows(a, target))?.description ?? null;
      findings.push({ ruleId: rule.id, secret, match, line, allowedBy });
    }
  }
  return findings;
}
