/**
 * Opening a bundle, the first use case of the use-case layer: everything between "a path in a
 * repo" and "the entries a consumer may be given", with every check made on the way.
 *
 * Steps: read the bundle (bounded) → inspect its metadata → look up identities (one no-identity
 * error listing every place tried) → choose the engine → decrypt (GCM + MAC) → entries, refusing
 * forbidden names unless the user's own config allows them → the data-key pin VERDICT.
 *
 * What it does not do: record or accept a pin, render or publish. `sync`/the daemon
 * (`sync-once.ts`) record the pin after rendering, so that a bundle that cannot be rendered
 * records nothing; `run` records it before its child starts. Nothing here writes to disk.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
import { AppError, isAppError } from '../errors.js';
import type { EngineName } from '../config/options.js';
import { formatFromPath, parseBundle, decryptDetailed, type SopsFormat, type SopsMetadataSummary, type TreeMap } from '../sops/index.js';
import { chooseEngine } from '../engine/select.js';
import { createNativeEngine } from '../engine/native.js';
import { createSopsCliEngine } from '../engine/sops-cli.js';
import { toEntries, type Entry } from '../render/entries.js';
import type { Resolution, ResolvedIdentity } from '../identity/resolve.js';
import { noIdentityError } from '../identity/resolve.js';
import { READ_LIMITS, readBounded } from '../fsx/read-bounded.js';
import { loadUserConfig, type UserConfig } from '../config/user-config.js';
import { checkDataKey, dataKeyDigest, type DataKeyVerdict } from '../trust/data-keys.js';

export interface SyncPlan {
  repo: string;
  /** Bundle path as the user sees it: relative to the repo when inside it. */
  sourceRel: string;
  sourceAbs: string;
  home: string;
  engine: EngineName;
}

/** What the identity lookup found, and every place it tried (the shape is identity/resolve.ts's). */
export type IdentityLookup = Resolution;
export type { ResolvedIdentity };

export interface OpenDeps {
  identities(): Promise<IdentityLookup>;
  /** Where the sops binary is, for the `sops` engine (default: `sops` on PATH). */
  sopsBinary?: string;
  env?: Readonly<Record<string, string | undefined>>;
  /** The user's own config (allowed names). Default: {@link loadUserConfig} on `env`, read per open. */
  userConfig?: () => Promise<UserConfig>;
}

/**
 * The data key's standing on this machine. `digest` is what a caller records or accepts; the key
 * itself is wiped as soon as it is digested. Null when the sops binary opened the bundle (it
 * never hands out the data key, so such a bundle cannot be pinned: docs/security.md).
 */
export interface DataKeyPin {
  digest: string;
  verdict: DataKeyVerdict;
}

export interface OpenedBundle {
  metadata: SopsMetadataSummary;
  lookup: IdentityLookup;
  entries: Entry[];
  pin: DataKeyPin | null;
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

/** What {@link decryptDocument} needs to know of the file: where it is, how to name it, which engine. */
export interface DocumentSource {
  sourceAbs: string;
  /** How messages name it (relative to the repo for a bundle, as typed for `decrypt FILE`). */
  sourceRel: string;
  engine: EngineName;
  /** Default: from the file name. */
  format?: SopsFormat;
}

/**
 * Metadata, identities and the decrypted document: everything that needs the file's bytes only.
 * One parse; one no-identity error listing every place tried. `decrypt FILE` uses it as is; a
 * bundle goes on to entries and the pin in {@link openBundle}. The data key comes back only
 * from the native engine, after the MAC check: the caller digests it and wipes it.
 */
export async function decryptDocument(
  plan: DocumentSource,
  bytes: Buffer,
  deps: OpenDeps,
): Promise<{ document: TreeMap; dataKey: Uint8Array | null; metadata: SopsMetadataSummary; lookup: IdentityLookup }> {
  const format = plan.format ?? formatFromPath(plan.sourceAbs);
  // parsed once: the metadata picks the engine, and the native engine decrypts the same parse
  const parsed = parseBundle(bytes, { format, path: plan.sourceRel });
  const metadata = parsed.metadata;
  const lookup = await deps.identities();
  if (lookup.identities.length === 0) throw noIdentityError(lookup.attempts, metadata.ageRecipients, [], { bundle: plan.sourceRel });
  const engine = await chooseEngine(plan.engine, metadata, {
    // the data key comes back (after the MAC check) only to be pinned; the parse is reused
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
 * Trust in the bundle (DESIGN.md): whether the data key is one this machine accepted for this
 * bundle path. Only the verdict: recording it is the caller's step.
 */
async function pinVerdict(plan: SyncPlan, dataKey: Uint8Array | null): Promise<DataKeyPin | null> {
  if (dataKey === null) return null;
  const digest = dataKeyDigest(dataKey);
  dataKey.fill(0);
  return { digest, verdict: await checkDataKey(plan.home, plan.sourceAbs, digest) };
}

/**
 * Opens the bundle of `plan` with every check (see the module comment).
 *
 * @param bytes the bundle's bytes when the caller has read them already (`readBundle`), e.g. to
 *   ask git about exactly these bytes meanwhile; read here otherwise.
 * @throws AppError: `E_SOURCE_MISSING`, `E_PARSE`, `E_NOT_SOPS`, `E_NO_IDENTITY`, `E_DECRYPT`,
 *   `E_MAC_MISMATCH`, `E_SOPS_CLI`, `E_FORBIDDEN_NAME`, `E_DUPLICATE_NAME`, `E_UNSUPPORTED_VALUE`,
 *   and the trust file's own errors. A changed data key is NOT thrown: see `pin.verdict`.
 */
export async function openBundle(plan: SyncPlan, deps: OpenDeps, bytes?: Buffer): Promise<OpenedBundle> {
  const read = bytes ?? (await readBundle(plan));
  const [result, userConfig] = await Promise.allSettled([decryptDocument(plan, read, deps), (deps.userConfig ?? (() => loadUserConfig(deps.env ?? process.env)))()]);
  if (result.status === 'rejected') throw result.reason;
  const { document, dataKey, metadata, lookup } = result.value;
  try {
    // the data key is wiped below whatever fails from here, the user's config included
    if (userConfig.status === 'rejected') throw userConfig.reason;
    // Forbidden names first: they are refused whoever made the bundle, accepted key or not.
    const entries = toEntries(document, { sourcePath: plan.sourceRel, allowNames: userConfig.value.allowNames });
    const pin = await pinVerdict(plan, dataKey);
    return { metadata, lookup, entries, pin };
  } finally {
    dataKey?.fill(0);
  }
}
