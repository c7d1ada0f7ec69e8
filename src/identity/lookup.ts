/**
 * The one place commands get identities from: the keychain backend chosen once (or none), then the
 * resolution order of DESIGN.md "Identity". Returns a function so callers decide when (and how
 * often) the keychain is read: the daemon calls it again after a failure an import could fix.
 */
import { openKeychain } from './keychain/index.js';
import { resolveIdentities, type Resolution } from './resolve.js';

export interface LookupOptions {
  env: Readonly<Record<string, string | undefined>>;
  /** Store identities found in env or a key file into the keychain (default on; `--no-cache-identity`). */
  cache: boolean;
  /** CI mode (`--skip-without-identity`): no keychain at all, nothing cached, nothing written. */
  ci?: boolean;
  onNotice(message: string): void;
}

export function identityLookup(options: LookupOptions): () => Promise<Resolution> {
  const keychain = options.ci ? null : openKeychain({ env: options.env });
  return () =>
    resolveIdentities({
      env: options.env,
      keychain,
      cache: options.cache && !options.ci,
      onNotice: options.onNotice,
    });
}
