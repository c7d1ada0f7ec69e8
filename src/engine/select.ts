/**
 * Which engine opens a bundle (DESIGN.md "Engines"): `auto` picks native whenever the bundle has
 * any age recipient (mixed age + PGP/KMS included). A bundle with no age recipient is opened by
 * the sops binary only when the user asked for it (`--engine sops`): the bundle is written by
 * whoever can push, and must not be able to make us run sops with this user's cloud or Vault
 * credentials. A bundle that needs sops when sops is missing gets an error naming its key types.
 */
import { AppError } from '../errors.js';
import { DEFAULT_SOPS_BINARY, SOPS_BASE_ENV } from './sops-cli.js';
import type { BundleKeyTypes, DecryptEngine } from './types.js';

export type { BundleKeyTypes } from './types.js';

export type EngineRequest = 'auto' | 'native' | 'sops';

export interface ChooseEngineOptions {
  /** Whether a runnable sops binary exists. Default: {@link isSopsAvailable} on `sops`. */
  sopsAvailable?: () => Promise<boolean>;
}

/** True when `<binary> --version` runs and exits 0 within a few seconds (with only the basic variables of `env`). */
export async function isSopsAvailable(binary: string = DEFAULT_SOPS_BINARY, env: Readonly<Record<string, string | undefined>> = process.env): Promise<boolean> {
  const basic = Object.fromEntries(SOPS_BASE_ENV.filter((n) => env[n] !== undefined).map((n) => [n, env[n] as string]));
  // execa loads only when a bundle may need the sops binary: it is most of a process's start-up
  const { execa } = await import('execa');
  const result = await execa(binary, ['--version'], { env: basic, extendEnv: false, stdin: 'ignore', reject: false, timeout: 5_000 });
  return result.exitCode === 0;
}

function describeKeyTypes(metadata: BundleKeyTypes): string {
  const types = [...(metadata.ageRecipients.length > 0 ? ['age'] : []), ...new Set(metadata.otherKeyTypes)];
  return types.length > 0 ? types.join(', ') : 'none';
}

/**
 * Picks the engine for one bundle. `native` and `sops` are honoured as asked (with a clear error
 * when they cannot work); `auto` decides from the bundle's key types. The sops engine is built
 * lazily, only when chosen. Throws AppError `E_UNTRUSTED` when `auto` meets a bundle with no age
 * recipient, `E_SOPS_CLI` when sops is asked for and missing, and `E_NO_IDENTITY` when native is
 * forced on a bundle without an age recipient.
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

  if (requested === 'auto') {
    // No keys at all is not a sops job either: the native engine reports the bundle's problem.
    if (hasAge || metadata.otherKeyTypes.length === 0) return engines.native;
    throw new AppError('E_UNTRUSTED', `the bundle has no age recipient (key types: ${keyTypes}), and the sops binary is run on a bundle only when you ask for it`, {
      hint:
        'if the bundle is meant to be opened with these keys, pass `--engine sops` (for the daemon, add it to the service unit\'s ExecStart); ' +
        'if it had age recipients before, someone removed them: check `git log -p` on the bundle',
      details: { keyTypes: metadata.otherKeyTypes, bundleRecipients: [] },
    });
  }

  if (!(await sopsAvailable())) {
    const why = hasAge
      ? '`--engine sops` was asked for'
      : `\`--engine sops\` was asked for: the bundle's keys are ${keyTypes} and only the sops binary handles ${metadata.otherKeyTypes.length > 1 ? 'them' : 'that type'}`;
    throw new AppError('E_SOPS_CLI', `sops binary not found, and it is needed: ${why}`, {
      hint: hasAge
        ? 'install sops (https://github.com/getsops/sops/releases), or use `--engine native`: the bundle has an age recipient'
        : 'install sops (https://github.com/getsops/sops/releases) and the tools its keys need (gpg, cloud credentials), or add an age recipient to .sops.yaml and re-encrypt',
      details: { keyTypes: [...(hasAge ? ['age'] : []), ...metadata.otherKeyTypes] },
    });
  }
  return engines.sops();
}
