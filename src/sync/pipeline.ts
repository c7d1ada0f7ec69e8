/**
 * One sync, start to end: read the bundle → refuse conflicts → decrypt (strict: GCM + MAC) →
 * entries → render both outputs → publish them atomically. Used by `mcp-secrets sync` and by the
 * daemon. Any failure throws an AppError before the publisher runs or inside it; either way the
 * outputs on disk stay the last good ones.
 */
import { performance } from 'node:perf_hooks';
import { AppError } from '../errors.js';
import { conflictState, provenance } from '../git/index.js';
import { secretsVersionOf } from '../render/entries.js';
import { renderEnv } from '../render/env.js';
import { renderConsole } from '../render/console.js';
import { publish } from '../publish/publisher.js';
import type { SyncSuccess } from './types.js';
import { readSopsConfigRecipients } from '../identity/recipients.js';
import { DataKeyChangedError, TRUST_FILE, trustFileWithKey } from '../trust/data-keys.js';
import { openBundle, readBundle, sha256Hex, type DataKeyPin, type OpenDeps, type SyncPlan } from '../bundle/open.js';

export const OUTPUT_FILES = { env: '.env', console: 'console-secrets.json' } as const;

// Opening the bundle is the use-case layer's (bundle/open.ts); these names stay importable from here.
export { planFor, readBundle, sha256Hex, type IdentityLookup, type ResolvedIdentity, type SyncPlan } from '../bundle/open.js';

export interface PipelineDeps extends OpenDeps {
  /** Accept a data key this machine has not seen (`sync --accept-data-key`). Default false. */
  acceptDataKey?: boolean;
}

/**
 * Trust in the bundle (DESIGN.md): the data key must be one this machine accepted for this bundle
 * path. The first one seen is recorded (trust on first use); another one throws
 * {@link DataKeyChangedError} unless the caller accepts it. Recorded before publishing, so a
 * failure to record publishes nothing.
 */
async function recordPin(plan: SyncPlan, pin: DataKeyPin | null, accept: boolean): Promise<{ pin: SyncSuccess['dataKeyPin']; trustFile: Uint8Array | null }> {
  // The sops binary never hands out the data key: such bundles cannot be pinned (docs/security.md).
  if (pin === null) return { pin: 'not-pinned', trustFile: null };
  if (pin.verdict === 'known') return { pin: 'known', trustFile: null };
  if (pin.verdict === 'changed' && !accept) throw new DataKeyChangedError(plan.sourceRel, plan.sourceAbs, pin.digest);
  return { pin: pin.verdict === 'first-use' ? 'first-use' : 'accepted', trustFile: await trustFileWithKey(plan.home, plan.sourceAbs, pin.digest) };
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
  const opened = openBundle(plan, deps, bytes).then(
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
  const { entries, pin, metadata, lookup } = result.value;

  const source = { path: plan.sourceRel, sha256: sourceSha256 };
  const envBytes = renderEnv(entries, source);
  const consoleBytes = renderConsole(entries, { ...source, commit: origin.commit });
  // Last step before publishing: a bundle that cannot be rendered records nothing either.
  const { pin: dataKeyPin, trustFile } = await recordPin(plan, pin, deps.acceptDataKey === true);
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
