/**
 * "Outputs intact" (DESIGN.md "Status document"): each output is what the last publish wrote, with
 * the mode (0600), owner and link count (1) it was written with, in a home nobody else can read.
 *
 * Rules:
 * - a cheap look: lstat of home and of each output, and a read (never through a symlink, never
 *   blocking on a FIFO) only of a private regular file, to compare its digest with the one kept in
 *   memory since the publish. Digests of plaintext never leave this process;
 * - problems are described by path, mode, uid, link count and inode number: never by content;
 * - a second hard link cannot be repaired by publishing again (the other name keeps the old
 *   inode and its plaintext). {@link LinkedCopies} keeps the old inode open so that the daemon can
 *   tell, later, when the last other name is gone.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import * as fsp from 'node:fs/promises';
import { realFs, type PublishFs } from './fs.js';

/** The verdict on one output. */
export interface OutputCheck {
  path: string;
  intact: boolean;
  /** What is wrong, for people: e.g. `mode 0644 (expected 0600)`, `2 hard links`. Empty when intact. */
  problems: string[];
  /** Hard links seen (0 when absent); more than 1 means another name holds the same plaintext. */
  links: number;
}

export interface IntegrityReport {
  /** Every output intact and home private. */
  intact: boolean;
  outputs: OutputCheck[];
  /** What is wrong with home itself (mode or owner), empty when fine. */
  homeProblems: string[];
}

export interface IntegrityDeps {
  fs?: PublishFs;
  /** The uid that must own home and the outputs (default: this process's; undefined skips it). */
  uid?: number;
}

/**
 * Checks home and each output against what was published. `sha256` null means nothing was
 * published there yet (the output then counts as not intact).
 */
export async function verifyOutputsIntact(home: string, outputs: readonly { path: string; sha256: string | null }[], deps: IntegrityDeps = {}): Promise<IntegrityReport> {
  const fs = deps.fs ?? realFs;
  const uid = 'uid' in deps ? deps.uid : process.getuid?.();
  const homeProblems: string[] = [];
  const homeStat = await fs.lstat(home).catch(() => null);
  if (homeStat === null || !homeStat.isDirectory()) homeProblems.push('home is missing or not a directory');
  else {
    if (process.platform !== 'win32' && (homeStat.mode & 0o077) !== 0) homeProblems.push(`home mode ${octal(homeStat.mode & 0o777)} (expected 0700)`);
    if (uid !== undefined && homeStat.uid !== uid) homeProblems.push(`home owned by uid ${homeStat.uid}`);
  }
  const checks = await Promise.all(outputs.map((o) => checkOne(fs, o.path, o.sha256, uid)));
  return { intact: homeProblems.length === 0 && checks.every((c) => c.intact), outputs: checks, homeProblems };
}

async function checkOne(fs: PublishFs, path: string, sha256: string | null, uid: number | undefined): Promise<OutputCheck> {
  const stat = await fs.lstat(path).catch(() => null);
  if (stat === null) return { path, intact: false, problems: ['missing'], links: 0 };
  if (stat.isSymbolicLink()) return { path, intact: false, problems: ['a symbolic link'], links: stat.nlink };
  if (!stat.isFile()) return { path, intact: false, problems: ['not a regular file'], links: stat.nlink };
  const problems: string[] = [];
  if (process.platform !== 'win32' && (stat.mode & 0o7777) !== 0o600) problems.push(`mode ${octal(stat.mode & 0o7777)} (expected 0600)`);
  if (uid !== undefined && stat.uid !== uid) problems.push(`owned by uid ${stat.uid}`);
  if (stat.nlink > 1) problems.push(`${stat.nlink} hard links (expected 1)`);
  if (sha256 === null) problems.push('not published by this daemon yet');
  else if (problems.length === 0) {
    const bytes = await fs.readNoFollow(path).catch(() => null);
    if (bytes === null || createHash('sha256').update(bytes).digest('hex') !== sha256) problems.push('content changed since it was published');
  }
  return { path, intact: problems.length === 0, problems, links: stat.nlink };
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

/** An earlier output inode that is still linked under a name we do not know. */
export interface LinkedCopy {
  /** The output it was published as. */
  path: string;
  /** Its inode number and device, for `find MOUNT -xdev -inum N`. */
  inode: number;
  device: number;
  /** Names other than the output still linked to it (outside mcp-secrets' control). */
  otherNames: number;
}

/**
 * Holds outputs that had extra hard links before they were published again. The old inode is
 * kept open (read-only, our own 0600 file) so its link count can be read after the output's
 * name points elsewhere: when it drops to 0, every other name is gone and the copy is released.
 */
export class LinkedCopies {
  private readonly held = new Map<string, { copy: LinkedCopy; handle: fsp.FileHandle }>();

  /** Starts following the inode now at `path` if it has more than one link; false if it could not be opened. */
  async track(path: string): Promise<boolean> {
    let handle: fsp.FileHandle;
    try {
      handle = await fsp.open(path, constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0) | (constants.O_NONBLOCK ?? 0));
    } catch {
      return false;
    }
    const stat = await handle.stat().catch(() => null);
    const key = stat ? `${stat.dev}:${stat.ino}` : '';
    if (stat === null || !stat.isFile() || stat.nlink < 2 || this.held.has(key)) {
      await handle.close();
      return stat !== null;
    }
    this.held.set(key, { copy: { path, inode: stat.ino, device: stat.dev, otherNames: stat.nlink - 1 }, handle });
    return true;
  }

  /** The copies still linked under a name other than the output's; those with none left are released. */
  async remaining(): Promise<LinkedCopy[]> {
    const left: LinkedCopy[] = [];
    for (const [key, entry] of [...this.held]) {
      const stat = await entry.handle.stat().catch(() => null);
      const otherNames = stat === null ? 0 : stat.nlink - ((await namesOutput(entry.copy.path, stat.ino, stat.dev)) ? 1 : 0);
      if (otherNames <= 0) {
        this.held.delete(key);
        await entry.handle.close().catch(() => undefined);
        continue;
      }
      entry.copy = { ...entry.copy, otherNames };
      left.push({ ...entry.copy });
    }
    return left;
  }

  /** Closes every handle (daemon shutdown). */
  async close(): Promise<void> {
    for (const { handle } of this.held.values()) await handle.close().catch(() => undefined);
    this.held.clear();
  }
}

async function namesOutput(path: string, ino: number, dev: number): Promise<boolean> {
  const stat = await fsp.lstat(path).catch(() => null);
  return stat !== null && stat.ino === ino && stat.dev === dev;
}
