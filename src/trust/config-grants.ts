/**
 * Consent for the repo's `.mcp-secrets.yaml`, kept beside the data-key pins in `<home>/trust.json`
 * (DESIGN.md "Consumers"): the first version of a config a machine sees is trusted and its grant
 * recorded; a later version that hands out more (config-trust.ts `wideningOf`) is refused until
 * the user accepts it. A narrower version is used as it is and changes nothing recorded, so going
 * back to what was accepted needs no new consent.
 *
 * Keyed by the config file's absolute path, as the pins are by the bundle's. Only names, globs and
 * providers are stored, never values.
 */
import { grantOf, wideningOf, type ConfigGrant } from '../config/config-trust.js';
import type { RepoConfig } from '../config/repo-config.js';
import { AppError, sanitizeForMessage } from '../errors.js';
import { emptyTrust, readTrustFile, writeTrustFile } from './data-keys.js';

export type ConfigVerdict =
  /** No grant was recorded for this config file yet: the caller records this one. */
  | { verdict: 'first-use'; grant: ConfigGrant }
  /** Nothing beyond the accepted grant. */
  | { verdict: 'known'; grant: ConfigGrant }
  /** It hands out more than was accepted: one line per widening. */
  | { verdict: 'widened'; grant: ConfigGrant; widening: string[] };

/**
 * How `config` (read from `config.file`) stands against the grant accepted on this machine.
 *
 * @throws AppError from reading the trust file (`E_PARSE`, `E_INSECURE_PATH`, `E_WRITE`).
 */
export async function checkConfigGrant(home: string, config: RepoConfig & { file: string }): Promise<ConfigVerdict> {
  const grant = grantOf(config);
  const accepted = (await readTrustFile(home))?.configs[config.file];
  if (accepted === undefined) return { verdict: 'first-use', grant };
  const widening = wideningOf(accepted, grant);
  return widening.length === 0 ? { verdict: 'known', grant } : { verdict: 'widened', grant, widening };
}

/**
 * The one consent decision, for `sync`, the daemon and `run`: the grant the caller must record
 * (first use, or a widening it was told to accept), or null when nothing is to be recorded (no
 * config file, or nothing beyond the accepted grant). A widening not accepted throws
 * {@link ConfigWidenedError} naming each widening. Recording is the caller's step: `sync` records
 * the grant in the same publish as the outputs, `run` at once.
 *
 * @throws ConfigWidenedError (`E_UNTRUSTED`); AppError from reading the trust file.
 */
export async function grantToRecord(home: string, repo: string, config: RepoConfig, accept: boolean): Promise<{ file: string; grant: ConfigGrant; widening: string[] } | null> {
  if (config.file === null) return null;
  const standing = await checkConfigGrant(home, { ...config, file: config.file });
  if (standing.verdict === 'known') return null;
  if (standing.verdict === 'widened' && !accept) throw new ConfigWidenedError(config.file, repo, standing.widening, standing.grant);
  return { file: config.file, grant: standing.grant, widening: standing.verdict === 'widened' ? standing.widening : [] };
}

/** Records `grant` as the accepted one for the config file at `file` (absolute), atomically, 0600. */
export async function acceptConfigGrant(home: string, file: string, grant: ConfigGrant): Promise<void> {
  const trust = (await readTrustFile(home)) ?? emptyTrust();
  trust.configs[file] = grant;
  await writeTrustFile(home, trust);
}

/**
 * `E_UNTRUSTED` for a repo config that widens what was accepted: every widening is named (names,
 * globs, providers; never values) and the hint says how to accept it. It carries the grant to
 * accept in memory only, so that the daemon's `status --ack` accepts exactly the version the
 * person was told about.
 */
export class ConfigWidenedError extends AppError {
  /** The notice code the daemon shows for it. */
  static readonly NOTICE = 'CONFIG_WIDENED';
  declare readonly configFile: string;
  declare readonly pendingGrant: ConfigGrant;
  declare readonly widening: readonly string[];

  constructor(file: string, repo: string, widening: readonly string[], grant: ConfigGrant) {
    super('E_UNTRUSTED', `${file} now hands out more than this machine accepted:\n${widening.map((w) => `  - ${sanitizeForMessage(w, 200)}`).join('\n')}`, {
      hint: `check who changed it (\`git -C ${repo} log -p -- .mcp-secrets.yaml\`); if it is the team's, accept it with \`mcp-secrets sync --repo ${repo} --accept-config\` (or \`mcp-secrets status --ack\` when the daemon runs)`,
      details: { config: file, notice: ConfigWidenedError.NOTICE },
    });
    Object.defineProperty(this, 'configFile', { value: file, enumerable: false });
    Object.defineProperty(this, 'pendingGrant', { value: grant, enumerable: false });
    Object.defineProperty(this, 'widening', { value: [...widening], enumerable: false });
  }
}
