/**
 * Rotation's own use of the engine, beside the use-case layer (opening the bundle stays the
 * layer's `decryptDocument`): re-wrap the data key for a new recipient set (or make a new one),
 * bumping `MCP_SECRETS_VERSION` in the same pass, and digest the data key of the bundle this
 * machine just wrote so that it can be accepted here. No file is touched in this module.
 */
import { decryptDetailed, formatFromPath, updateRecipients } from '../sops/index.js';
import { dataKeyDigest } from '../trust/data-keys.js';

/** The bundle being rotated: where it is and how messages name it. */
export interface RotatedBundle {
  readonly sourceAbs: string;
  readonly sourceRel: string;
}

export interface RewrapOptions {
  /** The age secret keys that open the bundle now. */
  readonly identities: readonly string[];
  /** The recipient set after rotation. */
  readonly recipients: readonly string[];
  /** A new data key (every value re-encrypted) instead of the same one re-wrapped. */
  readonly rotateDataKey: boolean;
  /** The new `MCP_SECRETS_VERSION`. */
  readonly version: string;
}

/**
 * The bundle's new bytes.
 *
 * @throws AppError from the engine (`E_NO_IDENTITY`, `E_MAC_MISMATCH`, `E_USAGE` for a bundle
 *   with other key types when a new data key is asked for …).
 */
export function rewrapBundle(bundle: RotatedBundle, before: Uint8Array, options: RewrapOptions): Promise<Uint8Array> {
  return updateRecipients(before, {
    format: formatFromPath(bundle.sourceAbs),
    identities: options.identities,
    recipients: options.recipients,
    rotateDataKey: options.rotateDataKey,
    path: bundle.sourceRel,
    edit: (doc) => void doc.set('MCP_SECRETS_VERSION', options.version),
  });
}

/**
 * The digest (DESIGN.md "Trust in the bundle") of the data key of `bytes`, opened with
 * `identities`; the key itself is wiped at once.
 *
 * @throws AppError from the engine when none of `identities` opens it.
 */
export async function dataKeyDigestOf(bundle: RotatedBundle, bytes: Uint8Array, identities: readonly string[]): Promise<string> {
  const opened = await decryptDetailed(bytes, { format: formatFromPath(bundle.sourceAbs), identities, path: bundle.sourceRel, keepDataKey: true });
  try {
    return dataKeyDigest(opened.dataKey!);
  } finally {
    opened.dataKey?.fill(0);
  }
}
