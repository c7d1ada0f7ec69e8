/**
 * Which engine opens a bundle (DESIGN.md "Engines"): `auto` picks native whenever the bundle has
 * any age recipient (mixed age + PGP/KMS included) and the sops binary otherwise. A bundle that
 * needs sops when sops is missing gets an error naming its key types.
 */
import { AppError } from '../errors.js';
import { DEFAULT_SOPS_BINARY } from './sops-cli.js';
import type { DecryptEngine } from './types.js';

export type EngineRequest = 'auto' | 'native' | 'sops';

export interface BundleKeyTypes {
  /** age recipients (`age1…`) listed in the bundle's metadata. */
  ageRecipients: string[];
  /** Other key types present, e.g. `pgp`, `kms`, `gcp_kms`, `azure_kv`, `hc_vault`. */
  otherKeyTypes: string[];
}

export interface ChooseEngineOptions {
  /** Whether a runnable sops binary exists. Default: {@link isSopsAvailable} on `sops`. */
  sopsAvailable?: () => Promise<boolean>;
}

/** True when `<binary> --version` runs and exits 0 within a few seconds. */
export async function isSopsAvailable(binary: string = DEFAULT_SOPS_BINARY, env: Record<string, string | undefined> = process.env): Promise<boolean> {
  const { execa } = await import('execa');
  const result = await execa(binary, ['--version'], { env, extendEnv: false, stdin: 'ignore', reject: false, timeout: 5_000 });
  return result.exitCode === 0;
}

function describeKeyTypes(metadata: BundleKeyTypes): string {
  const types = [...(metadata.ageRecipients.length > 0 ? ['age'] : []), ...new Set(metadata.otherKeyTypes)];
  return types.length > 0 ? types.join(', ') : 'none';
}

/**
 * Picks the engine for one bundle. `native` and `sops` are honoured as asked (with a clear error
 * when they cannot work); `auto` decides from the bundle's key types. The sops engine is built
 * lazily, only when chosen. Throws AppError `E_SOPS_CLI` when sops is needed and missing, and
 * `E_NO_IDENTITY` when native is forced on a bundle without an age recipient.
 */
export async function chooseEngine(
  requested: EngineRequest,
  metadata: BundleKeyTypes,
  engines: { native: DecryptEngine; sops: () => DecryptEngine },
  opts: ChooseEngineOptions = {},
): Promise<DecryptEngine> {
  const hasAge = metadata.ageRecipients.length > 0;
  const keyTypes = describeKeyTypes(metadata);
  const sopsAvailable = opts.sopsAvailable ?? (() => isSopsAvailable());

  if (requested === 'native') {
    if (!hasAge && metadata.otherKeyTypes.length > 0) {
      throw new AppError('E_NO_IDENTITY', `the bundle has no age recipient, so the native engine cannot open it (key types: ${keyTypes})`, {
        hint: 'use `--engine sops` (or `auto`) with the sops binary installed and the credentials those keys need',
        details: { keyTypes: metadata.otherKeyTypes },
      });
    }
    return engines.native;
  }

  if (requested === 'auto' && (hasAge || metadata.otherKeyTypes.length === 0)) {
    // No keys at all is not a sops job either: the native engine reports the bundle's problem.
    return engines.native;
  }

  if (!(await sopsAvailable())) {
    const why =
      requested === 'sops'
        ? '`--engine sops` was asked for'
        : `the bundle's keys are ${keyTypes} and only the sops binary handles ${metadata.otherKeyTypes.length > 1 ? 'them' : 'that type'}`;
    throw new AppError('E_SOPS_CLI', `sops binary not found, and it is needed: ${why}`, {
      hint: hasAge
        ? 'install sops (https://github.com/getsops/sops/releases), or use `--engine native`: the bundle has an age recipient'
        : 'install sops (https://github.com/getsops/sops/releases) and the tools its keys need (gpg, cloud credentials), or add an age recipient to .sops.yaml and re-encrypt',
      details: { keyTypes: [...(hasAge ? ['age'] : []), ...metadata.otherKeyTypes] },
    });
  }
  return engines.sops();
}
