/**
 * One sync, start to end: read the bundle → refuse conflicts → decrypt (strict: GCM + MAC) →
 * entries → render both outputs → publish them atomically. Used by `mcp-secrets sync` and by the
 * daemon. Any failure throws an AppError before the publisher runs or inside it; either way the
 * outputs on disk stay the last good ones.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { AppError, isAppError } from '../errors.js';
import type { EngineName } from '../config/options.js';
import { formatFromPath, parseBundle, decrypt as nativeDecrypt, type SopsMetadataSummary, type TreeMap } from '../sops/index.js';
import { chooseEngine } from '../engine/select.js';
import { createNativeEngine } from '../engine/native.js';
import { createSopsCliEngine } from '../engine/sops-cli.js';
import { conflictState, provenance } from '../git/index.js';
import { toEntries, secretsVersionOf } from '../render/entries.js';
import { renderEnv } from '../render/env.js';
import { renderConsole } from '../render/console.js';
import { publish } from '../publish/publisher.js';
import type { IdentitySource } from '../ipc/status.js';
import type { SyncSuccess } from './types.js';
import { noIdentityError } from '../identity/resolve.js';
import { readSopsConfigRecipients } from '../identity/recipients.js';

/** Bundles larger than this are refused before parsing: a secrets bundle is kilobytes. */
const MAX_BUNDLE_BYTES = 32 * 1024 * 1024;

export const OUTPUT_FILES = { env: '.env', console: 'console-secrets.json' } as const;

export interface SyncPlan {
  repo: string;
  /** Bundle path as the user sees it: relative to the repo when inside it. */
  sourceRel: string;
  sourceAbs: string;
  home: string;
  engine: EngineName;
}

export interface ResolvedIdentity {
  line: string;
  recipient: string;
  source: Exclude<IdentitySource, 'none'>;
}

export interface IdentityLookup {
  identities: ResolvedIdentity[];
  /** Every place tried and what happened there, for the error when nothing opens the bundle. */
  attempts: { source: string; outcome: string }[];
}

export interface PipelineDeps {
  identities(): Promise<IdentityLookup>;
  /** Where the sops binary is, for the `sops` engine (default: `sops` on PATH). */
  sopsBinary?: string;
  env?: Readonly<Record<string, string | undefined>>;
}

export function planFor(repo: string, source: string, home: string, engine: EngineName): SyncPlan {
  const sourceAbs = path.resolve(repo, source);
  const rel = path.relative(repo, sourceAbs);
  return { repo, sourceAbs, sourceRel: rel.startsWith('..') ? sourceAbs : rel, home, engine };
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function readBundle(plan: SyncPlan): Promise<Buffer> {
  try {
    const bytes = await readFile(plan.sourceAbs);
    if (bytes.length > MAX_BUNDLE_BYTES) {
      throw new AppError('E_PARSE', `${plan.sourceRel}: the bundle is ${bytes.length} bytes, larger than ${MAX_BUNDLE_BYTES}`, {
        hint: 'check --source points at the SOPS bundle',
      });
    }
    return bytes;
  } catch (error) {
    if (isAppError(error)) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new AppError('E_SOURCE_MISSING', `bundle not found: ${plan.sourceAbs}`, {
        hint: 'check --repo and --source, or check out the branch that has the bundle',
        cause: error,
      });
    }
    throw new AppError('E_SOURCE_MISSING', `cannot read the bundle ${plan.sourceAbs} (${code ?? 'error'})`, {
      hint: 'check the file permissions',
      cause: error,
    });
  }
}

/** Metadata, identities and the decrypted document: everything that needs the bundle's bytes only. */
async function openBundle(plan: SyncPlan, bytes: Buffer, deps: PipelineDeps): Promise<{ document: TreeMap; metadata: SopsMetadataSummary; lookup: IdentityLookup }> {
  const format = formatFromPath(plan.sourceAbs);
  // parsed once: the metadata picks the engine, and the native engine decrypts the same parse
  const parsed = parseBundle(bytes, { format, path: plan.sourceRel });
  const metadata = parsed.metadata;
  const lookup = await deps.identities();
  if (lookup.identities.length === 0) throw noIdentityError(lookup.attempts, metadata.ageRecipients, [], { bundle: plan.sourceRel });
  const engine = await chooseEngine(plan.engine, metadata, {
    native: createNativeEngine((_bytes, options) => nativeDecrypt(parsed, options)),
    sops: () => createSopsCliEngine({ binary: deps.sopsBinary, env: deps.env }),
  });
  try {
    const document = await engine.decrypt({ bytes, path: plan.sourceAbs, format, identities: lookup.identities.map((i) => i.line) });
    return { document, metadata, lookup };
  } catch (error) {
    if (isAppError(error) && error.code === 'E_NO_IDENTITY' && metadata.ageRecipients.length > 0) {
      throw noIdentityError(lookup.attempts, metadata.ageRecipients, lookup.identities.map((i) => i.recipient), { bundle: plan.sourceRel });
    }
    throw error;
  }
}

export async function runPipeline(plan: SyncPlan, deps: PipelineDeps): Promise<SyncSuccess> {
  const started = performance.now();
  const bytes = await readBundle(plan);
  const sourceSha256 = sha256Hex(bytes);

  // The git questions (two or three child processes) run while we decrypt: they are the slow
  // part. A conflict is still reported first, whatever the decrypt made of the markers.
  const conflictP = conflictState(plan.repo, plan.sourceRel, bytes);
  const originP = provenance(plan.repo, plan.sourceRel);
  const configP = readSopsConfigRecipients(plan.repo);
  const opened = openBundle(plan, bytes, deps).then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  const [conflict, origin, sopsConfigRecipients, result] = await Promise.all([conflictP, originP, configP, opened]);
  if (conflict.conflicted) {
    throw new AppError('E_CONFLICT', `${plan.sourceRel} is in a merge conflict (${conflict.reason === 'unmerged' ? 'unmerged in the git index' : 'conflict markers in the file'})`, {
      hint: 'resolve it (e.g. `git checkout --theirs` or re-edit with sops), then commit; the outputs keep their last good values meanwhile',
    });
  }
  if (!result.ok) throw result.error;
  const { document, metadata, lookup } = result.value;

  const entries = toEntries(document, { sourcePath: plan.sourceRel });
  const source = { path: plan.sourceRel, sha256: sourceSha256 };
  const envBytes = renderEnv(entries, source);
  const consoleBytes = renderConsole(entries, { ...source, commit: origin.commit });
  const published = await publish(plan.home, [
    { name: OUTPUT_FILES.env, bytes: envBytes },
    { name: OUTPUT_FILES.console, bytes: consoleBytes },
  ]);

  const opener = lookup.identities.find((i) => metadata.ageRecipients.includes(i.recipient)) ?? lookup.identities[0];
  const outputs = published.outputs.map((o) => ({
    kind: o.name === OUTPUT_FILES.env ? ('env' as const) : ('console' as const),
    path: o.path,
    sha256: o.sha256,
  }));
  return {
    sourcePath: plan.sourceAbs,
    sourceSha256,
    commit: origin.commit,
    dirty: origin.dirty,
    entries: entries.length,
    secretsVersion: secretsVersionOf(entries),
    outputs,
    written: published.written,
    unchanged: published.unchanged,
    warnings: published.warnings,
    identity: {
      source: opener?.source ?? 'none',
      recipients: lookup.identities.filter((i) => metadata.ageRecipients.includes(i.recipient)).map((i) => i.recipient),
    },
    bundleRecipients: metadata.ageRecipients,
    sopsConfigRecipients,
    durationMs: performance.now() - started,
    // the version is public (it is in the status document); everything else is masked in logs
    secretValues: entries.filter((e) => e.name !== 'MCP_SECRETS_VERSION').map((e) => e.value),
  };
}
