/**
 * A SOPS document outside the bundle flow (`mcp-secrets decrypt FILE`): the formats, reading a
 * file the user named, opening it exactly as a bundle is opened ({@link decryptDocument}: one
 * parse, the identity order, the engine rules, one no-identity error), and writing the plain
 * document in a chosen format. The data key is never kept.
 */
import { AppError, isAppError } from '../errors.js';
import { READ_LIMITS, readBounded } from '../fsx/read-bounded.js';
import { formatFromPath, serialize, toOrderedJson, type SopsFormat, type TreeMap } from '../sops/index.js';
import { SOPS_FORMATS } from '../sops/format.js';
import { decryptDocument, type DocumentSource, type OpenDeps } from './open.js';

export { formatFromPath, SOPS_FORMATS, type SopsFormat, type TreeMap };

/**
 * Reads a file the user named (a symlink is followed: they chose it), bounded: a FIFO, a device or
 * a huge file is refused without blocking.
 *
 * @throws AppError `E_SOURCE_MISSING` when it cannot be read; the bounded reader's own errors.
 */
export async function readNamedFile(abs: string): Promise<Buffer> {
  try {
    return await readBounded(abs, { limit: READ_LIMITS.bundle, followSymlinks: true, what: 'the file' });
  } catch (error) {
    if (isAppError(error)) throw error;
    throw new AppError('E_SOURCE_MISSING', `cannot read ${abs} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { hint: 'check the path', cause: error });
  }
}

/**
 * Reads and decrypts `source` (strict: a MAC or tag problem throws, nothing is returned).
 *
 * @throws AppError every error of {@link readNamedFile} and {@link decryptDocument}.
 */
export async function decryptFile(source: DocumentSource, deps: OpenDeps): Promise<TreeMap> {
  const bytes = await readNamedFile(source.sourceAbs);
  const { document, dataKey } = await decryptDocument(source, bytes, deps);
  // no pin for a file outside the bundle flow: the key goes at once
  dataKey?.fill(0);
  return document;
}

/** The plain document in `format`: sops's own output (`json` is its ordered JSON, with a newline). */
export function renderDocument(document: TreeMap, format: SopsFormat): Uint8Array | string {
  return format === 'json' ? toOrderedJson(document) + '\n' : serialize(document, format);
}
