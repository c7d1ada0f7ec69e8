/**
 * The native engine: a thin adapter over the in-process SOPS decryption (src/sops). The decrypt
 * function is passed in so that this module does not pin the sops module's shape.
 */
import type { TreeMap } from '../sops/tree.js';
import type { DecryptEngine, DecryptInput, SopsFormat } from './types.js';

/** `decrypt(bytes, {format, identities})` as `mcp-secrets/sops` exports it (DESIGN.md "Library"). */
export type NativeDecrypt = (
  bytes: Uint8Array,
  options: { format: SopsFormat; identities: readonly string[]; path?: string },
) => TreeMap | Promise<TreeMap>;

/** Wraps the in-process decrypt function as an engine. Errors pass through unchanged. */
export function createNativeEngine(decryptFn: NativeDecrypt): DecryptEngine {
  return Object.freeze({
    name: 'native' as const,
    decrypt: async (input: DecryptInput) => decryptFn(input.bytes, { format: input.format, identities: input.identities, path: input.path }),
  });
}
