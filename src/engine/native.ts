/**
 * The native engine: a thin adapter over the in-process SOPS decryption (src/sops). The decrypt
 * function is passed in so that this module does not pin the sops module's shape.
 */
import type { TreeMap } from '../sops/tree.js';
import type { DecryptEngine, DecryptInput, OpenedBundle, SopsFormat } from './types.js';

/**
 * `decrypt(bytes, {format, identities})` as `mcp-secrets/sops` exports it (DESIGN.md "Library"),
 * or `decryptDetailed` with `keepDataKey`, which also returns the data key for pinning.
 */
export type NativeDecrypt = (
  bytes: Uint8Array,
  options: { format: SopsFormat; identities: readonly string[]; path?: string },
) => TreeMap | { document: TreeMap; dataKey?: Uint8Array } | Promise<TreeMap | { document: TreeMap; dataKey?: Uint8Array }>;

async function openWith(decryptFn: NativeDecrypt, input: DecryptInput): Promise<OpenedBundle> {
  const out = await decryptFn(input.bytes, { format: input.format, identities: input.identities, path: input.path });
  return out instanceof Map ? { document: out, dataKey: null } : { document: out.document, dataKey: out.dataKey ?? null };
}

/** Wraps the in-process decrypt function as an engine. Errors pass through unchanged. */
export function createNativeEngine(decryptFn: NativeDecrypt): DecryptEngine {
  return Object.freeze({
    name: 'native' as const,
    decrypt: async (input: DecryptInput) => (await openWith(decryptFn, input)).document,
    open: (input: DecryptInput) => openWith(decryptFn, input),
  });
}
