/**
 * The outputs registry (DESIGN.md "Outputs", "Consumers"): one table of formats and one list of
 * outputs, from which the pipeline, the publisher's inputs, purge, doctor, the status document
 * and the daemon's triggers all derive.
 *
 * - {@link OUTPUT_FORMATS}: format → status `kind`, file mode, renderer. A new format is one
 *   renderer file in `render/` plus one row here.
 * - {@link resolveOutputs}: the repo config's outputs (absent config = DESIGN's two files, every
 *   entry, byte-identical to before configurable outputs existed) as absolute paths in home.
 * - {@link renderOutputs}: each output's bytes from its profile's entries, plus a digest of the
 *   entries it renders (names and values), kept in memory only to tell whether they changed
 *   (change hooks): never in a reply, a log or a file.
 * - The outputs record (`<home>/.mcp-secrets-outputs.json`): the output names written to this
 *   home and not deleted since, so outputs dropped from the config are deleted and `purge` finds
 *   every one. Absent means the two default names, so a home with the default config holds no
 *   new file.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { AppError, isAppError } from '../errors.js';
import { DEFAULT_OUTPUTS, loadRepoConfig, type OutputFormat, type OutputSpec } from '../config/repo-config.js';
import { selectEntries, type Profile } from '../consumers/select.js';
import type { StatusOutput } from '../ipc/status.js';
import { renderConsole } from '../render/console.js';
import type { Entry } from '../render/entries.js';
import { renderEnv } from '../render/env.js';
import { renderJson } from '../render/json.js';
import { readBoundedText } from '../fsx/read-bounded.js';
import { OUR_DOT_PREFIX } from '../publish/home-names.js';
import { readRepoConfigText } from './repo-config.js';

/** What a renderer is told about the bundle the entries came from. */
export interface RenderSource {
  /** The bundle's path relative to the repo. */
  path: string;
  /** Hex sha256 of the encrypted bundle. */
  sha256: string;
  /** The commit it was read at (null outside git). */
  commit: string | null;
}

/** One row of the formats table. */
export interface OutputFormatRow {
  /** The status document's `kind` for outputs of this format. */
  kind: StatusOutput['kind'];
  /** The file mode it is published with (the publisher writes every output 0600). */
  mode: number;
  render(entries: readonly Entry[], source: RenderSource, spec: OutputSpec): Uint8Array;
}

/** format → kind, mode, renderer. */
export const OUTPUT_FORMATS: Readonly<Record<OutputFormat, OutputFormatRow>> = Object.freeze({
  env: { kind: 'env', mode: 0o600, render: (entries, source, spec) => renderEnv(entries, { path: source.path, sha256: source.sha256 }, spec.dialect ?? 'compat') },
  secretstore: { kind: 'console', mode: 0o600, render: (entries, source) => renderConsole(entries, source) },
  json: { kind: 'json', mode: 0o600, render: (entries) => renderJson(entries) },
});

/** An output of the config, placed in home. */
export interface ResolvedOutput extends OutputSpec {
  kind: StatusOutput['kind'];
  /** Absolute path in home. */
  path: string;
}

/** The outputs of `specs` (default: DESIGN's two) in home, in config order. */
export function resolveOutputs(home: string, specs: readonly OutputSpec[] = DEFAULT_OUTPUTS): ResolvedOutput[] {
  return specs.map((spec) => ({ ...spec, kind: OUTPUT_FORMATS[spec.format].kind, path: path.join(home, spec.file) }));
}

/**
 * The outputs the repo's config lists as it is now, for the checks made outside a sync (the
 * daemon's first status and watch list, doctor): DESIGN's two when there is no repo, no config,
 * or a config that cannot be read or is invalid. An invalid config is reported by the sync
 * itself, never guessed at here.
 */
export async function configuredOutputs(repo: string | null): Promise<readonly OutputSpec[]> {
  if (repo === null) return DEFAULT_OUTPUTS;
  return loadRepoConfig(repo, readRepoConfigText).then(
    (config) => config.outputs,
    () => DEFAULT_OUTPUTS,
  );
}

/** One rendered output: its bytes and the in-memory digest of the entries it carries. */
export interface RenderedOutput {
  output: ResolvedOutput;
  bytes: Uint8Array;
  /** sha256 over the rendered entries' names and values: in memory only, never logged or sent. */
  entriesDigest: string;
  /** The rendered entries' values (for log redaction). */
  values: string[];
}

/** Digest of entries by name and value (length-prefixed, so no two lists share one). */
export function entriesDigest(entries: readonly Entry[]): string {
  const hash = createHash('sha256').update('mcp-secrets/output-entries/v1\0');
  for (const e of entries) {
    for (const part of [e.name, e.value]) {
      const bytes = Buffer.from(part, 'utf8');
      hash.update(`${bytes.length}:`).update(bytes);
    }
  }
  return hash.digest('hex');
}

/**
 * Renders every output from `entries`, each with its profile's entries.
 *
 * @throws AppError from a renderer (`E_UNREPRESENTABLE`), or `E_USAGE` when an output's profile
 *   selects nothing in the bundle (named with the output).
 */
export function renderOutputs(outputs: readonly ResolvedOutput[], entries: readonly Entry[], profiles: Readonly<Record<string, Profile>>, source: RenderSource): RenderedOutput[] {
  return outputs.map((output) => {
    let selected: readonly Entry[] = entries;
    if (output.profile !== undefined) {
      try {
        selected = selectEntries(entries, { only: [], providers: [], profiles: [output.profile] }, profiles);
      } catch (error) {
        if (!isAppError(error)) throw error;
        throw new AppError(error.code, `output ${output.file} (profile ${output.profile}): ${error.message}`, { hint: 'fix the profile in .mcp-secrets.yaml or the names in the bundle', cause: error });
      }
    }
    const bytes = OUTPUT_FORMATS[output.format].render(selected, source, output);
    return { output, bytes, entriesDigest: entriesDigest(selected), values: selected.map((e) => e.value) };
  });
}

/** The record of output names written to home (an `.mcp-secrets…` name: ours, never an output). */
export const OUTPUTS_RECORD = `${OUR_DOT_PREFIX}-outputs.json`;

/** The default outputs' names: what an absent record means. */
export const DEFAULT_OUTPUT_NAMES: readonly string[] = Object.freeze(DEFAULT_OUTPUTS.map((o) => o.file));

function isOutputName(name: unknown): name is string {
  return typeof name === 'string' && name.length > 0 && name.length <= 255 && !name.includes('/') && !name.includes('\\') && name !== '.' && name !== '..' && !name.includes('\0');
}

/**
 * The output names this home holds from earlier syncs (absent record: the two defaults).
 *
 * @throws AppError `E_PARSE` for a record that is not ours (it names files to delete: never guessed).
 */
export async function readOutputsRecord(home: string): Promise<string[]> {
  const file = path.join(home, OUTPUTS_RECORD);
  let text: string;
  try {
    text = await readBoundedText(file, { limit: 256 * 1024, what: 'the outputs record', hint: `remove ${file}; the next sync writes it again` });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (!isAppError(error) && (code === 'ENOENT' || code === 'ENOTDIR')) return [...DEFAULT_OUTPUT_NAMES];
    throw error;
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    data = null;
  }
  const outputs = (data as { kind?: unknown; outputs?: unknown } | null)?.outputs;
  if ((data as { kind?: unknown } | null)?.kind !== 'mcp-secrets-outputs' || !Array.isArray(outputs) || !outputs.every(isOutputName)) {
    throw new AppError('E_PARSE', `the outputs record is not valid: ${file}`, { hint: `remove ${file} (and any output you no longer want in ${home}); the next sync writes it again` });
  }
  return [...new Set(outputs)];
}

/** The record's bytes for `names`, or null when they are exactly the defaults (no record needed). */
export function outputsRecordBytes(names: readonly string[]): Uint8Array | null {
  const sorted = [...new Set(names)].sort();
  const defaults = [...DEFAULT_OUTPUT_NAMES].sort();
  if (sorted.length === defaults.length && sorted.every((n, i) => n === defaults[i])) return null;
  return Buffer.from(JSON.stringify({ kind: 'mcp-secrets-outputs', version: 1, outputs: sorted }, null, 2) + '\n', 'utf8');
}
