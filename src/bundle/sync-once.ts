/**
 * One sync, start to end: read the bundle → refuse conflicts → decrypt (strict: GCM + MAC) →
 * entries → the repo config's outputs (checked against the grant this machine accepted) → render
 * each output (outputs registry, bundle/outputs.ts) → publish them all atomically → delete the
 * outputs the config no longer lists. Used by `mcp-secrets sync` and by the daemon. Any failure
 * throws an AppError before the publisher runs or inside it; either way the outputs on disk stay
 * the last good ones.
 */
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { AppError } from '../errors.js';
import { bundleGitState } from '../git/index.js';
import { secretsVersionOf } from '../render/entries.js';
import { publish } from '../publish/publisher.js';
import { removeOutputs } from '../publish/remove.js';
import type { SyncSuccess } from './sync-result.js';
import { readSopsConfigRecipients } from '../identity/recipients.js';
import { DataKeyChangedError, TRUST_FILE, trustFileWith } from '../trust/data-keys.js';
import { openBundle, readBundle, sha256Hex, type DataKeyPin, type OpenDeps, type SyncPlan } from './open.js';
import { OUTPUTS_RECORD, outputsRecordBytes, readOutputsRecord, renderOutputs, resolveOutputs } from './outputs.js';
import { loadRepoConfig } from '../config/repo-config.js';
import { readRepoConfigText } from './repo-config.js';
import { grantToRecord } from '../trust/config-grants.js';

// Opening the bundle is the use-case layer's (bundle/open.ts); these names stay importable from here.
export { planFor, readBundle, sha256Hex, type IdentityLookup, type ResolvedIdentity, type SyncPlan } from './open.js';

export interface SyncOnceDeps extends OpenDeps {
  /** Accept a data key this machine has not seen (`sync --accept-data-key`). Default false. */
  acceptDataKey?: boolean;
  /** Accept a repo config that widens the accepted one (`status --ack` in the daemon). Default false. */
  acceptConfig?: boolean;
}

/**
 * Trust in the bundle (DESIGN.md): the data key must be one this machine accepted for this bundle
 * path. The first one seen is recorded (trust on first use); another one throws
 * {@link DataKeyChangedError} unless the caller accepts it. Recorded before publishing, so a
 * failure to record publishes nothing.
 */
function recordPin(plan: SyncPlan, pin: DataKeyPin | null, accept: boolean): { pin: SyncSuccess['dataKeyPin']; record?: { bundlePath: string; digest: string } } {
  // The sops binary never hands out the data key: such bundles cannot be pinned (docs/security.md).
  if (pin === null) return { pin: 'not-pinned' };
  if (pin.verdict === 'known') return { pin: 'known' };
  if (pin.verdict === 'changed' && !accept) throw new DataKeyChangedError(plan.sourceRel, plan.sourceAbs, pin.digest);
  return { pin: pin.verdict === 'first-use' ? 'first-use' : 'accepted', record: { bundlePath: plan.sourceAbs, digest: pin.digest } };
}

export async function syncOnce(plan: SyncPlan, deps: SyncOnceDeps): Promise<SyncSuccess> {
  const started = performance.now();
  const bytes = await readBundle(plan);
  const sourceSha256 = sha256Hex(bytes);

  // The git questions (two child processes) run while we decrypt: they are the slow part. They
  // concern exactly these bytes: a checkout meanwhile must not lend them another commit's id. A
  // conflict is still reported first, whatever the decrypt made of the markers.
  const gitP = bundleGitState(plan.repo, plan.sourceRel, bytes);
  const configP = readSopsConfigRecipients(plan.repo);
  // settled, not raced: a conflict is reported before whatever the open or the config failed with
  const openedP = Promise.allSettled([openBundle(plan, deps, bytes), loadRepoConfig(plan.repo, readRepoConfigText)]);
  const [{ conflict, provenance: origin }, sopsConfigRecipients, [result, repoConfig]] = await Promise.all([gitP, configP, openedP]);
  if (conflict.conflicted) {
    throw new AppError('E_CONFLICT', `${plan.sourceRel} is in a merge conflict (${conflict.reason === 'unmerged' ? 'unmerged in the git index' : 'conflict markers in the file'})`, {
      hint: 'resolve it (e.g. `git checkout --theirs` or re-edit with sops), then commit; the outputs keep their last good values meanwhile',
    });
  }
  if (result.status === 'rejected') throw result.reason;
  const { entries, pin, metadata, lookup } = result.value;

  if (repoConfig.status === 'rejected') throw repoConfig.reason;
  const config = repoConfig.value;

  const outputs = resolveOutputs(plan.home, config.outputs);
  const rendered = renderOutputs(outputs, entries, config.profiles, { path: plan.sourceRel, sha256: sourceSha256, commit: origin.commit });
  // Last steps before publishing: a bundle that cannot be rendered records nothing either.
  // consent for the repo config: a grant to record goes into the same publish as the outputs
  const grant = await grantToRecord(plan.home, plan.repo, config, deps.acceptConfig === true);
  const { pin: dataKeyPin, record } = recordPin(plan, pin, deps.acceptDataKey === true);
  const trustFile = record === undefined && grant === null ? null : await trustFileWith(plan.home, { dataKey: record, config: grant ?? undefined });
  // Every output name this home holds: the record lists them before they are written, so a crash
  // between publish and cleanup still leaves each one findable by the next sync and by purge.
  const previous = await readOutputsRecord(plan.home);
  const current = outputs.map((o) => o.file);
  const recordBefore = outputsRecordBytes([...previous, ...current]);
  // A newly accepted data key or config is recorded in the same all-or-nothing publish as the
  // outputs it vouches for: a failed publish accepts nothing.
  const published = await publish(
    plan.home,
    [
      ...rendered.map((r) => ({ name: r.output.file, bytes: r.bytes })),
      ...(trustFile === null ? [] : [{ name: TRUST_FILE, bytes: trustFile }]),
      ...(recordBefore === null ? [] : [{ name: OUTPUTS_RECORD, bytes: recordBefore }]),
    ],
    // outputs an earlier sync wrote (and this one may delete) are ours too, for a loose home
    { alsoOurs: previous },
  );
  // Outputs the config no longer lists are deleted at once (narrowing needs no consent).
  const dropped = previous.filter((name) => !current.includes(name));
  const removed = dropped.length === 0 ? [] : await removeOutputs(plan.home, dropped);
  if (dropped.length > 0) {
    const recordAfter = outputsRecordBytes(current);
    if (recordAfter === null) await removeOutputs(plan.home, [OUTPUTS_RECORD]);
    else await publish(plan.home, [{ name: OUTPUTS_RECORD, bytes: recordAfter }]);
  }

  const opener = lookup.identities.find((i) => metadata.ageRecipients.includes(i.recipient)) ?? lookup.identities[0];
  const byName = new Map(published.outputs.map((o) => [o.name, o]));
  const publishedOutputs = rendered.map((r) => ({
    kind: r.output.kind,
    format: r.output.format,
    file: r.output.file,
    path: r.output.path,
    sha256: byName.get(r.output.file)?.sha256 ?? sha256Hex(r.bytes),
    entriesDigest: r.entriesDigest,
  }));
  const recordPath = (file: string): boolean => [TRUST_FILE, OUTPUTS_RECORD].includes(path.basename(file));
  return {
    sourcePath: plan.sourceAbs,
    sourceSha256,
    commit: origin.commit,
    dirty: origin.dirty,
    entries: entries.length,
    secretsVersion: secretsVersionOf(entries),
    outputs: publishedOutputs,
    written: published.written.filter((p) => !recordPath(p)),
    unchanged: published.unchanged.filter((p) => !recordPath(p)),
    removed,
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
