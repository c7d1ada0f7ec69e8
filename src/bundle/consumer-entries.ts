/**
 * What `mcp-secrets run` may hand its child: the bundle's entries and the repo's profiles, after
 * every trust check (DESIGN.md "Consumers", "Trust in the bundle").
 *
 * - The bundle is opened as `sync` opens it ({@link openBundle}): MAC, identities, forbidden names.
 * - The data key: the first one seen for this bundle path is recorded (trust on first use, as
 *   `sync` does); one this machine has not accepted is `E_UNTRUSTED` and nothing starts. Accepting
 *   it stays `sync --accept-data-key` / `status --ack`: `run` never widens trust on its own.
 * - The repo's `.mcp-secrets.yaml` is read only when a profile is asked for (nothing else in it
 *   shapes what `run` hands out). The first version seen is recorded; a version that hands out
 *   more than the accepted one is `E_UNTRUSTED` naming each widening, until
 *   `sync --accept-config`.
 *
 * Only the trust state in home is ever written; no value reaches the disk.
 */
import { AppError } from '../errors.js';
import type { Profile } from '../consumers/select.js';
import { loadRepoConfig, type RepoConfig } from '../config/repo-config.js';
import type { Entry } from '../render/entries.js';
import { acceptConfigGrant, grantToRecord } from '../trust/config-grants.js';
import { acceptDataKey } from '../trust/data-keys.js';
import { openBundle, type OpenDeps, type SyncPlan } from './open.js';
import { readRepoConfigText } from './repo-config.js';

export interface ConsumerEntries {
  entries: readonly Entry[];
  profiles: Readonly<Record<string, Profile>>;
}

function dataKeyNotAccepted(bundleRel: string): AppError {
  return new AppError('E_UNTRUSTED', `${bundleRel} was encrypted with a data key this machine has not accepted (a bundle made anew, not edited with sops); the command was not started`, {
    hint: `check who changed it (\`git log -p -- ${bundleRel}\`); if it is the team's, accept it with \`mcp-secrets sync --accept-data-key\` (or \`mcp-secrets status --ack\` when the daemon runs)`,
    details: { bundle: bundleRel, notice: 'DATA_KEY_CHANGED' },
  });
}

/** The repo config, checked against (or recorded as) the grant this machine accepted. */
export async function trustedRepoConfig(repo: string, home: string): Promise<RepoConfig> {
  const config = await loadRepoConfig(repo, readRepoConfigText);
  // No file: no profiles, and nothing to consent to (the default outputs are today's).
  const record = await grantToRecord(home, repo, config, false);
  if (record !== null) await acceptConfigGrant(home, record.file, record.grant);
  return config;
}

/**
 * Opens the bundle of `plan` for a consumer.
 *
 * @param wantsProfiles whether the repo's profiles are needed (a `--profile` was given).
 * @throws AppError every error of {@link openBundle}; `E_UNTRUSTED` for an unaccepted data key or
 *   a widened repo config; `E_PARSE` for an invalid `.mcp-secrets.yaml`.
 */
export async function openForConsumer(plan: SyncPlan, deps: OpenDeps, wantsProfiles: boolean): Promise<ConsumerEntries> {
  const opened = await openBundle(plan, deps);
  if (opened.pin !== null) {
    if (opened.pin.verdict === 'changed') throw dataKeyNotAccepted(plan.sourceRel);
    if (opened.pin.verdict === 'first-use') await acceptDataKey(plan.home, plan.sourceAbs, opened.pin.digest);
  }
  const profiles = wantsProfiles ? (await trustedRepoConfig(plan.repo, plan.home)).profiles : {};
  return { entries: opened.entries, profiles };
}

/**
 * `sync --accept-config`: records the repo's current `.mcp-secrets.yaml` as accepted on this
 * machine. Returns the file and what it widened (empty when nothing), or null when the repo has none.
 *
 * @throws AppError `E_PARSE` for an invalid config (an invalid file is never accepted).
 */
export async function acceptRepoConfig(repo: string, home: string): Promise<{ file: string; widening: string[] } | null> {
  const config = await loadRepoConfig(repo, readRepoConfigText);
  if (config.file === null) return null;
  const record = await grantToRecord(home, repo, config, true);
  if (record !== null) await acceptConfigGrant(home, record.file, record.grant);
  return { file: config.file, widening: record?.widening ?? [] };
}
