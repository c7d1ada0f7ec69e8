/**
 * One sync, start to end: read the bundle → refuse conflicts → decrypt (strict: GCM + MAC) →
 * entries → render both outputs → publish them atomically. Used by `mcp-secrets sync` and by the
 * daemon. Any failure throws an AppError before the publisher runs or inside it; either way the
 * outputs on disk stay the last good ones.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { AppError, isAppError } from '../errors.js';
import type { EngineName } from '../config/options.js';
import { formatFromPath, parseBundle, decryptDetailed, type SopsMetadataSummary, type TreeMap } from '../sops/index.js';
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
import { READ_LIMITS, readBounded } from '../fsx/read-bounded.js';
import { loadUserConfig, type UserConfig } from '../config/user-config.js';
import { checkDataKey, dataKeyDigest, DataKeyChangedError, TRUST_FILE, trustFileWithKey } from '../trust/data-keys.js';

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
  /** The user's own config (allowed names). Default: {@link loadUserConfig} on `env`, read per sync. */
  userConfig?: () => Promise<UserConfig>;
  /** Accept a data key this machine has not seen (`sync --accept-data-key`). Default false. */
  acceptDataKey?: boolean;
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
    // A checkout decides what is at this path: a symlink (to /dev/zero, say), a FIFO or a huge
    // file is refused before it can block or fill memory.
    return await readBounded(plan.sourceAbs, {
      limit: READ_LIMITS.bundle,
      what: 'the bundle',
      hint: 'check --source points at the SOPS bundle, and commit it as a regular file',
    });
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
async function openBundle(
  plan: SyncPlan,
  bytes: Buffer,
  deps: PipelineDeps,
): Promise<{ document: TreeMap; dataKey: Uint8Array | null; metadata: SopsMetadataSummary; lookup: IdentityLookup }> {
  const format = formatFromPath(plan.sourceAbs);
  // parsed once: the metadata picks the engine, and the native engine decrypts the same parse
  const parsed = parseBundle(bytes, { format, path: plan.sourceRel });
  const metadata = parsed.metadata;
  const lookup = await deps.identities();
  if (lookup.identities.length === 0) throw noIdentityError(lookup.attempts, metadata.ageRecipients, [], { bundle: plan.sourceRel });
  const engine = await chooseEngine(plan.engine, metadata, {
    // the data key comes back (after the MAC check) only to be pinned, below; the parse is reused
    native: createNativeEngine((_bytes, options) => decryptDetailed(parsed, { ...options, keepDataKey: true })),
    sops: () => createSopsCliEngine({ binary: deps.sopsBinary, env: deps.env, bundleKeys: metadata }),
  });
  try {
    const input = { bytes, path: plan.sourceAbs, format, identities: lookup.identities.map((i) => i.line) };
    const opened = engine.open ? await engine.open(input) : { document: await engine.decrypt(input), dataKey: null };
    if (engine.name === 'native' && opened.dataKey === null) throw new AppError('E_DECRYPT', 'the native engine gave no data key to check against the accepted ones (a bug)');
    return { ...opened, metadata, lookup };
  } catch (error) {
    if (isAppError(error) && error.code === 'E_NO_IDENTITY' && metadata.ageRecipients.length > 0) {
      throw noIdentityError(lookup.attempts, metadata.ageRecipients, lookup.identities.map((i) => i.recipient), { bundle: plan.sourceRel });
    }
    throw error;
  }
}

/**
 * Trust in the bundle (DESIGN.md): the data key must be one this machine accepted for this bundle
 * path. The first one seen is recorded (trust on first use); another one throws
 * {@link DataKeyChangedError} unless the caller accepts it. Recorded before publishing, so a
 * failure to record publishes nothing.
 */
async function checkPin(plan: SyncPlan, dataKey: Uint8Array | null, accept: boolean): Promise<{ pin: SyncSuccess['dataKeyPin']; trustFile: Uint8Array | null }> {
  // The sops binary never hands out the data key: such bundles cannot be pinned (docs/security.md).
  if (dataKey === null) return { pin: 'not-pinned', trustFile: null };
  const digest = dataKeyDigest(dataKey);
  dataKey.fill(0);
  const verdict = await checkDataKey(plan.home, plan.sourceAbs, digest);
  if (verdict === 'known') return { pin: 'known', trustFile: null };
  if (verdict === 'changed' && !accept) throw new DataKeyChangedError(plan.sourceRel, plan.sourceAbs, digest);
  return { pin: verdict === 'first-use' ? 'first-use' : 'accepted', trustFile: await trustFileWithKey(plan.home, plan.sourceAbs, digest) };
}

export async function runPipeline(plan: SyncPlan, deps: PipelineDeps): Promise<SyncSuccess> {
  const started = performance.now();
  const bytes = await readBundle(plan);
  const sourceSha256 = sha256Hex(bytes);

  // The git questions (two or three child processes) run while we decrypt: they are the slow
  // part. A conflict is still reported first, whatever the decrypt made of the markers.
  const conflictP = conflictState(plan.repo, plan.sourceRel, bytes);
  // provenance of exactly these bytes: a checkout meanwhile must not lend them another commit's id
  const originP = provenance(plan.repo, plan.sourceRel, bytes);
  const configP = readSopsConfigRecipients(plan.repo);
  const userConfigP = (deps.userConfig ?? (() => loadUserConfig(deps.env ?? process.env)))().then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  const opened = openBundle(plan, bytes, deps).then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
  const [conflict, origin, sopsConfigRecipients, result, userConfig] = await Promise.all([conflictP, originP, configP, opened, userConfigP]);
  if (conflict.conflicted) {
    throw new AppError('E_CONFLICT', `${plan.sourceRel} is in a merge conflict (${conflict.reason === 'unmerged' ? 'unmerged in the git index' : 'conflict markers in the file'})`, {
      hint: 'resolve it (e.g. `git checkout --theirs` or re-edit with sops), then commit; the outputs keep their last good values meanwhile',
    });
  }
  if (!result.ok) throw result.error;
  if (!userConfig.ok) throw userConfig.error;
  const { document, dataKey, metadata, lookup } = result.value;

  // Forbidden names first: they are refused whoever made the bundle, accepted key or not.
  const entries = toEntries(document, { sourcePath: plan.sourceRel, allowNames: userConfig.value.allowNames });
  const source = { path: plan.sourceRel, sha256: sourceSha256 };
  const envBytes = renderEnv(entries, source);
  const consoleBytes = renderConsole(entries, { ...source, commit: origin.commit });
  // Last step before publishing: a bundle that cannot be rendered records nothing either.
  const { pin: dataKeyPin, trustFile } = await checkPin(plan, dataKey, deps.acceptDataKey === true);
  // A newly accepted data key is recorded in the same all-or-nothing publish as the outputs it
  // vouches for: a failed publish accepts nothing.
  const published = await publish(plan.home, [
    { name: OUTPUT_FILES.env, bytes: envBytes },
    { name: OUTPUT_FILES.console, bytes: consoleBytes },
    ...(trustFile === null ? [] : [{ name: TRUST_FILE, bytes: trustFile }]),
  ]);

  const opener = lookup.identities.find((i) => metadata.ageRecipients.includes(i.recipient)) ?? lookup.identities[0];
  const outputs = published.outputs.filter((o) => o.name !== TRUST_FILE).map((o) => ({
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
      opensNothing: lookup.identities.filter((i) => !metadata.ageRecipients.includes(i.recipient) && !(sopsConfigRecipients ?? []).includes(i.recipient)).map((i) => i.recipient),
    },
    bundleRecipients: metadata.ageRecipients,
    sopsConfigRecipients,
    dataKeyPin,
    durationMs: performance.now() - started,
    // the version is public (it is in the status document); everything else is masked in logs
    secretValues: entries.filter((e) => e.name !== 'MCP_SECRETS_VERSION').map((e) => e.value),
  };
}
