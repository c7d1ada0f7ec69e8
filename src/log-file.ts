/**
 * The daemon's log file: `<home>/logs/daemon.log`, JSON lines, size-rotated.
 *
 * Rules (a home we checked may still hold links planted before we ran):
 * - the caller has already checked home (ours, 0700) and won the single-instance checks, so a
 *   refused daemon never creates or opens anything here;
 * - `logs` is created by us 0700 (never `mkdir -p`: its parent is home, which must exist); a
 *   `logs` that is a symlink, not a directory, or someone else's is refused, and one of ours
 *   open to others is closed (it is a name DESIGN.md reserves for us);
 * - the file is opened with O_NOFOLLOW (a `daemon.log` symlink is refused, never appended through)
 *   and O_NONBLOCK (a FIFO cannot hang us), then fstat'ed: a regular file of ours with one link,
 *   fchmod 0600.
 * Writes are synchronous: a daemon logs a few lines a minute, and the last line before a crash
 * must reach the file.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { AppError } from './errors.js';
import { errnoOf } from './fsx/errno.js';

const O_NOFOLLOW = fs.constants.O_NOFOLLOW ?? 0;
const O_NONBLOCK = fs.constants.O_NONBLOCK ?? 0;

/**
 * Makes sure `dir` (the `logs` directory inside a checked home) is a private directory of ours.
 *
 * @throws AppError `E_INSECURE_PATH` (a symlink, not a directory, another owner), `E_WRITE`.
 */
export function preparePrivateLogDir(dir: string, uid: number | undefined = process.getuid?.()): void {
  let info: fs.Stats | null = null;
  try {
    info = fs.lstatSync(dir);
  } catch (error) {
    if (errnoOf(error) !== 'ENOENT') throw logError('inspect', dir, error);
  }
  if (info === null) {
    try {
      fs.mkdirSync(dir, { mode: 0o700 });
      fs.chmodSync(dir, 0o700); // the mode given to mkdir is filtered by the umask
    } catch (error) {
      throw logError('create', dir, error);
    }
    info = fs.lstatSync(dir);
  }
  if (info.isSymbolicLink() || !info.isDirectory()) {
    throw new AppError('E_INSECURE_PATH', `the log directory is not a plain directory: ${dir}`, {
      hint: `remove it (mcp-secrets owns ${dir}) and start the daemon again`,
      details: { path: dir },
    });
  }
  if (uid !== undefined && info.uid !== uid) {
    throw new AppError('E_INSECURE_PATH', `the log directory belongs to uid ${info.uid}, not to you: ${dir}`, {
      hint: `remove it (mcp-secrets owns ${dir}) and start the daemon again`,
      details: { path: dir, owner: info.uid },
    });
  }
  if ((info.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
}

function logError(step: string, file: string, cause: unknown): AppError {
  const code = errnoOf(cause);
  return new AppError('E_WRITE', `could not ${step} the log: ${file}${code ? ` (${code})` : ''}`, {
    hint: `check that ${path.dirname(file)} is yours and writable`,
    cause,
    details: { path: file, errno: code ?? null },
  });
}

/** Opens `file` for appending without following a link, and checks it is a private regular file of ours. */
function openPrivateAppend(file: string, uid: number | undefined): { fd: number; size: number } {
  let fd: number;
  try {
    fd = fs.openSync(file, fs.constants.O_WRONLY | fs.constants.O_APPEND | fs.constants.O_CREAT | O_NOFOLLOW | O_NONBLOCK, 0o600);
  } catch (error) {
    if (errnoOf(error) === 'ELOOP' || errnoOf(error) === 'ENXIO') {
      throw new AppError('E_INSECURE_PATH', `the log file is a symbolic link or a FIFO: ${file}`, { hint: `remove it (mcp-secrets owns ${file})`, details: { path: file } });
    }
    throw logError('open', file, error);
  }
  const info = fs.fstatSync(fd);
  if (!info.isFile() || info.nlink !== 1 || (uid !== undefined && info.uid !== uid)) {
    fs.closeSync(fd);
    throw new AppError('E_INSECURE_PATH', `the log file is not a private regular file of yours: ${file}`, {
      hint: `remove it (mcp-secrets owns ${file})`,
      details: { path: file },
    });
  }
  fs.fchmodSync(fd, 0o600);
  return { fd, size: info.size };
}

export interface PrivateLogFileOptions {
  /** The `logs` directory; checked (and created) by {@link preparePrivateLogDir} first. */
  dir: string;
  /** Default `daemon.log`. */
  name?: string;
  /** Rotate once the file reaches this size (default 5 MiB). */
  maxBytes?: number;
  /** Files kept, the current one included (default 3): `daemon.log`, `daemon.log.1`, `daemon.log.2`. */
  maxFiles?: number;
}

/**
 * A writable stream of log lines (for winston's Stream transport) that appends to a private log
 * file (see the module rules). Each chunk is one line, written synchronously.
 *
 * @throws AppError from the constructor: `E_INSECURE_PATH` or `E_WRITE`, before any line is written.
 */
export class PrivateLogFile extends Writable {
  private readonly file: string;
  private readonly maxBytes: number;
  private readonly maxFiles: number;
  private readonly uid = process.getuid?.();
  private fd: number | null;
  private size: number;

  constructor(options: PrivateLogFileOptions) {
    super({ decodeStrings: true });
    preparePrivateLogDir(options.dir, this.uid);
    this.file = path.join(options.dir, options.name ?? 'daemon.log');
    this.maxBytes = options.maxBytes ?? 5 * 1024 * 1024;
    this.maxFiles = Math.max(1, options.maxFiles ?? 3);
    const opened = openPrivateAppend(this.file, this.uid);
    this.fd = opened.fd;
    this.size = opened.size;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    try {
      if (this.fd !== null) {
        this.size += fs.writeSync(this.fd, chunk);
        if (this.size >= this.maxBytes) this.rotate();
      }
    } catch {
      // A full disk must not take the daemon down; stderr still carries the line.
    }
    callback();
  }

  /** daemon.log → daemon.log.1 → … ; the oldest is dropped. Renames stay inside the private directory. */
  private rotate(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
    if (this.maxFiles === 1) fs.rmSync(this.file, { force: true });
    for (let i = this.maxFiles - 1; i >= 1; i--) {
      const from = i === 1 ? this.file : `${this.file}.${i - 1}`;
      try {
        fs.renameSync(from, `${this.file}.${i}`);
      } catch (error) {
        if (errnoOf(error) !== 'ENOENT') throw error;
      }
    }
    const opened = openPrivateAppend(this.file, this.uid);
    this.fd = opened.fd;
    this.size = opened.size;
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.closeFd();
    callback();
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.closeFd();
    callback(error);
  }

  private closeFd(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}
