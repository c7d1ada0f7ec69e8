/**
 * The one way this program reads a file it did not write for itself in this run: the bundle,
 * `.sops.yaml`, age key files, git's HEAD and loose refs, the outputs the daemon hashes, pid files.
 *
 * Rules, and why:
 * - Only a regular file is read. A FIFO blocks a plain open (and then a read) for good; a device
 *   such as `/dev/zero` never ends. Both arrive by a `git checkout` of a committed symlink.
 * - The path is `stat`ed first so a device or FIFO is not even opened (opening some devices has
 *   effects), then opened with O_NONBLOCK (a FIFO swapped in between cannot block the open) and
 *   O_NOCTTY, and the open descriptor is `fstat`ed: that answer, not the path's, decides.
 * - `followSymlinks: false` adds O_NOFOLLOW: for files whose target the repo's content chooses
 *   (the bundle, `.sops.yaml`), a symlink is refused rather than followed.
 * - At most `limit` bytes are read, and a file whose size is already over it is refused before
 *   any byte is read; a file that grows while it is read is refused once it passes the limit. So
 *   memory stays bounded whatever is at the path.
 * - A refusal is an {@link AppError} (code chosen by the caller) naming the file, what it is, the
 *   limit and the remedy. Errors of the file system itself (ENOENT, EACCES, …) are re-thrown
 *   as they are, so each caller keeps its own wording for "missing" and "unreadable".
 */
import { constants, type Stats } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { AppError, sanitizeForMessage, type ErrorCode } from '../errors.js';
import { isErrno } from './errno.js';

/**
 * Limits per kind of input. Each is far above any real file of that kind and far below what
 * would hurt a 2 GB machine: a secrets bundle is kilobytes, a key file a few lines.
 */
export const READ_LIMITS = {
  /** The SOPS bundle (and `decrypt FILE`). */
  bundle: 32 * 1024 * 1024,
  /** `.sops.yaml`: creation rules, a few recipients each. */
  sopsConfig: 1024 * 1024,
  /** An age identity file (`SOPS_AGE_KEY_FILE`, sops's `keys.txt`, `identity import --file`). */
  keyFile: 1024 * 1024,
  /** Our own outputs, read back to hash them; rendering can escape a value to a few times its size. */
  output: 4 * 32 * 1024 * 1024,
  /** A git HEAD or loose ref: one line. */
  gitRef: 64 * 1024,
  /** A pid or lock file: one number and a little text. */
  pidFile: 4 * 1024,
  /** A file we installed ourselves (service unit, plist) and read back to compare. */
  serviceFile: 1024 * 1024,
} as const;

export interface BoundedReadOptions {
  /** The most bytes to accept (see {@link READ_LIMITS}). */
  limit: number;
  /**
   * Whether a symlink at the last path component is followed (default false: refused). Follow
   * only paths the user chose (a key file, a file named on the command line), never a path whose
   * target a checkout decides.
   */
  followSymlinks?: boolean;
  /** What the file is, for messages: "the bundle", ".sops.yaml", "the age key file". */
  what: string;
  /** The code of a refusal (default `E_PARSE`). */
  code?: ErrorCode;
  /** The next step, appended to the built-in remedy. */
  hint?: string;
}

/** Why a file was refused, in `details.refused` of the error. */
export type Refusal = 'symlink' | 'not-regular' | 'too-large';

// O_NOFOLLOW, O_NONBLOCK and O_NOCTTY do not exist on Windows; there the lstat/fstat checks remain.
const O_NOFOLLOW = constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = constants.O_NONBLOCK ?? 0;
const O_NOCTTY = constants.O_NOCTTY ?? 0;

/** The kind of a non-regular file, in words. */
export function fileKind(stats: Pick<Stats, 'isDirectory' | 'isFIFO' | 'isCharacterDevice' | 'isBlockDevice' | 'isSocket' | 'isSymbolicLink'>): string {
  if (stats.isSymbolicLink()) return 'a symbolic link';
  if (stats.isDirectory()) return 'a directory';
  if (stats.isFIFO()) return 'a FIFO (named pipe)';
  if (stats.isCharacterDevice()) return 'a character device';
  if (stats.isBlockDevice()) return 'a block device';
  if (stats.isSocket()) return 'a socket';
  return 'not a regular file';
}

function mib(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB` : `${bytes} bytes`;
}

function refuse(file: string, options: BoundedReadOptions, refused: Refusal, what: string, extra: Record<string, unknown> = {}): AppError {
  const shown = sanitizeForMessage(file, 300);
  const remedy =
    refused === 'too-large'
      ? `a ${options.what} is far smaller; check the path points at the right file`
      : refused === 'symlink'
        ? `replace it with a regular file (a symlink is not followed here: a checkout could point it anywhere)`
        : `replace it with a regular file`;
  return new AppError(options.code ?? 'E_PARSE', `${options.what} ${shown} ${what}: refused (only a regular file of at most ${mib(options.limit)} is read)`, {
    hint: options.hint ? `${remedy}; ${options.hint}` : remedy,
    details: { file, refused, limit: options.limit, ...extra },
  });
}

function checkStats(file: string, stats: Stats, options: BoundedReadOptions): void {
  if (stats.isSymbolicLink()) throw refuse(file, options, 'symlink', 'is a symbolic link');
  if (!stats.isFile()) throw refuse(file, options, 'not-regular', `is ${fileKind(stats)}`);
  if (stats.size > options.limit) throw refuse(file, options, 'too-large', `is ${mib(stats.size)}`, { size: stats.size });
}

/**
 * Reads a regular file of at most `options.limit` bytes.
 * @throws AppError (`options.code`, default E_PARSE) when the path is a symlink (unless followed),
 *   not a regular file, or larger than the limit; the file system's own errno error otherwise.
 */
export async function readBounded(file: string, options: BoundedReadOptions): Promise<Buffer> {
  const follow = options.followSymlinks ?? false;
  // Cheap refusals first, so /dev/zero or a FIFO is never opened at all.
  checkStats(file, follow ? await fsp.stat(file) : await fsp.lstat(file), options);
  let handle: fsp.FileHandle;
  try {
    handle = await fsp.open(file, constants.O_RDONLY | O_NONBLOCK | O_NOCTTY | (follow ? 0 : O_NOFOLLOW));
  } catch (error) {
    // The path was swapped for a symlink between lstat and open.
    if (!follow && isErrno(error, 'ELOOP')) throw refuse(file, options, 'symlink', 'is a symbolic link');
    throw error;
  }
  try {
    const stats = await handle.stat();
    checkStats(file, stats, options);
    return await readAtMost(handle, file, stats.size, options);
  } finally {
    await handle.close();
  }
}

/** Reads to the end, failing as soon as more than `limit` bytes have come (the file grew). */
async function readAtMost(handle: fsp.FileHandle, file: string, sizeHint: number, options: BoundedReadOptions): Promise<Buffer> {
  const bytes = await readHandleUpTo(handle, sizeHint, options.limit);
  if (bytes === null) throw refuse(file, options, 'too-large', `grew past the limit while it was read`);
  return bytes;
}

/**
 * Reads an opened file from where it stands to its end, keeping at most `limit` bytes: null as
 * soon as more have come. `sizeHint` (its fstat size) sizes the first buffer, so a small file
 * costs a small allocation whatever the limit. For readers that opened and checked the file
 * themselves (owner, mode) and word their own refusals.
 */
export async function readHandleUpTo(handle: fsp.FileHandle, sizeHint: number, limit: number): Promise<Buffer | null> {
  // One byte beyond the expected size tells "ended where fstat said" from "grew since".
  let buffer = Buffer.allocUnsafe(Math.min(Math.max(sizeHint, 0), limit) + 1);
  let length = 0;
  for (;;) {
    if (length === buffer.length) {
      if (length > limit) return null;
      const grown = Buffer.allocUnsafe(Math.min(buffer.length * 2, limit + 1));
      buffer.copy(grown, 0, 0, length);
      buffer = grown;
    }
    const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
    if (bytesRead === 0) break;
    length += bytesRead;
  }
  return length > limit ? null : buffer.subarray(0, length);
}

/** {@link readBounded}, decoded as UTF-8. */
export async function readBoundedText(file: string, options: BoundedReadOptions): Promise<string> {
  return (await readBounded(file, options)).toString('utf8');
}
