/**
 * The only writer of output files (DESIGN.md "Outputs", "Publishing").
 *
 * Rules:
 * - home is a directory owned by the user, 0700 (a looser mode is tightened, with a warning, only
 *   when home is ours to close: see {@link ensureHome});
 * - every output goes to a temp file created exclusively in home (O_EXCL|O_NOFOLLOW, 0600 and
 *   fchmod 0600 whatever the umask), written, fsynced; only when EVERY temp is ready are they
 *   renamed over their targets, then home is fsynced;
 * - a symlink at a target is replaced (rename acts on the link), never followed or read through;
 * - a byte-equal output (regular, 0600, ours, one link) is left alone;
 * - any failure puts back what the targets were (old file, old symlink, or nothing) and removes
 *   every temp: the outputs stay the last good ones. Temps a crash leaves behind carry
 *   {@link TEMP_PREFIX} and the writer's pid; {@link removeStaleTemps} removes them later.
 * Plaintext is never written outside home. Messages name paths and errno codes, never content.
 */

import { createHash, randomBytes } from 'node:crypto';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { AppError, isAppError, sanitizeForMessage } from '../errors.js';
import { realFs, type FileStat, type PublishFs } from './fs.js';
import { isStateName } from './home-names.js';
import { errnoOf } from '../fsx/errno.js';

export type { PublishFs } from './fs.js';

/** Every temp and backup file the publisher makes in home starts with this. */
export const TEMP_PREFIX = '.mcp-secrets-tmp-';

/** One output: its file name in home and its bytes. */
export interface OutputFile {
  /** A plain file name in home: `.env` or `console-secrets.json`. */
  name: string;
  bytes: Uint8Array;
}

export interface PublishResult {
  /** Targets that were replaced. */
  written: string[];
  /** Targets that already held exactly these bytes (left alone). */
  unchanged: string[];
  /** Things a person should know (e.g. home's mode was tightened). */
  warnings: string[];
  /** Each output, in the order given, with the sha256 of its bytes. */
  outputs: { name: string; path: string; sha256: string }[];
}

export interface PublishDeps {
  fs?: PublishFs;
  /** The uid that must own home (default: this process's; undefined skips the check, e.g. on Windows). */
  uid?: number;
  /**
   * Other names in home that are outputs of ours besides the ones published now (those an
   * earlier sync recorded): they do not make a loose home "not only mcp-secrets'" (see ensureHome).
   */
  alsoOurs?: readonly string[];
}

export interface StaleTempDeps {
  fs?: PublishFs;
  /** Whether a process with this pid is alive (default: `process.kill(pid, 0)`). */
  isAlive?: (pid: number) => boolean;
}

/** How to put a target back as it was if a later step fails. */
type Restore = { kind: 'absent' } | { kind: 'file'; backup: string } | { kind: 'symlink'; linkTarget: string };

interface Plan {
  file: OutputFile;
  target: string;
  before: FileStat | null;
  temp?: string;
  restore?: Restore;
}

/**
 * Publishes the outputs into home, all or nothing.
 *
 * @returns what was written or left alone, warnings, and the sha256 of each output.
 * @throws AppError `E_INSECURE_PATH` (home not ours, a symlink, not a directory), `E_WRITE` (any
 *   file-system failure; the targets are as they were before and no temp remains).
 */
export async function publish(home: string, files: readonly OutputFile[], deps: PublishDeps = {}): Promise<PublishResult> {
  const fs = deps.fs ?? realFs;
  const uid = 'uid' in deps ? deps.uid : process.getuid?.();
  checkNames(files);
  const { warnings } = await ensureHome(home, { fs, uid, ourNames: [...files.map((f) => f.name), ...(deps.alsoOurs ?? [])] });
  // temps a killed writer left (0600 plaintext) go on every publish, not only at a daemon start
  try {
    await removeStaleTemps(home, { fs });
  } catch (error) {
    warnings.push(`could not remove temp files left by an earlier crash: ${isAppError(error) ? error.message : String(error)}`);
  }

  const unchanged: string[] = [];
  const plans: Plan[] = [];
  for (const file of files) {
    const target = join(home, file.name);
    const before = await fs.lstat(target);
    if (before !== null && !before.isFile() && !before.isSymbolicLink()) {
      throw new AppError('E_WRITE', `output path is not a file: ${target}`, {
        hint: `move it out of the way (mcp-secrets owns ${target}), then sync again`,
        details: { path: target },
      });
    }
    if (await holdsExactly(fs, target, before, file.bytes, uid)) unchanged.push(target);
    else plans.push({ file, target, before });
  }

  await writeAll(fs, home, plans);

  return {
    written: plans.map((p) => p.target),
    unchanged,
    warnings,
    outputs: files.map((f) => ({ name: f.name, path: join(home, f.name), sha256: createHash('sha256').update(f.bytes).digest('hex') })),
  };
}

/** Prepares every temp, then renames them all; on failure puts the targets back and cleans up. */
async function writeAll(fs: PublishFs, home: string, plans: Plan[]): Promise<void> {
  if (plans.length === 0) return;
  const renamed: Plan[] = [];
  let step = 'create a temp file for';
  let current = plans[0]?.target ?? home;
  try {
    for (const plan of plans) {
      current = plan.target;
      step = 'create a temp file for';
      plan.temp = tempPath(home, plan.file.name);
      const handle = await fs.createExclusive(plan.temp, 0o600).catch((error: unknown) => {
        plan.temp = undefined; // never created: nothing to remove
        throw error;
      });
      try {
        // The mode given to open is filtered by the umask; fchmod is not.
        await handle.chmod(0o600);
        step = 'write';
        await handle.write(plan.file.bytes);
        step = 'fsync';
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    step = 'keep the previous version of';
    for (const plan of plans) {
      current = plan.target;
      plan.restore = await keepPrevious(fs, home, plan);
    }
    step = 'rename the temp file over';
    for (const plan of plans) {
      current = plan.target;
      await fs.rename(plan.temp as string, plan.target);
      plan.temp = undefined;
      renamed.push(plan);
    }
    step = 'fsync the directory of';
    current = home;
    await fs.syncDir(home);
  } catch (error) {
    await rollBack(fs, home, plans, renamed);
    throw writeError(step, current, home, error);
  }
  for (const plan of plans) if (plan.restore?.kind === 'file') await removeQuietly(fs, plan.restore.backup);
}

/** Remembers each target's current state: a hard link to the old file, the old link text, or absence. */
async function keepPrevious(fs: PublishFs, home: string, plan: Plan): Promise<Restore> {
  if (plan.before === null) return { kind: 'absent' };
  if (plan.before.isSymbolicLink()) return { kind: 'symlink', linkTarget: await fs.readlink(plan.target) };
  const backup = tempPath(home, `bak-${plan.file.name}`);
  await fs.link(plan.target, backup);
  return { kind: 'file', backup };
}

/** Best effort: targets already renamed go back to what they were; every temp and backup goes. */
async function rollBack(fs: PublishFs, home: string, plans: readonly Plan[], renamed: readonly Plan[]): Promise<void> {
  for (const plan of [...renamed].reverse()) {
    const restore = plan.restore;
    try {
      if (restore?.kind === 'absent') await fs.unlink(plan.target);
      else if (restore?.kind === 'file') {
        await fs.rename(restore.backup, plan.target);
        plan.restore = undefined;
      } else if (restore?.kind === 'symlink') {
        const link = tempPath(home, `lnk-${plan.file.name}`);
        await fs.symlink(restore.linkTarget, link);
        await fs.rename(link, plan.target).catch(async (error: unknown) => {
          await removeQuietly(fs, link);
          throw error;
        });
      }
    } catch {
      // Keep going: the other targets and the temps still need putting right.
    }
  }
  for (const plan of plans) {
    if (plan.temp !== undefined) await removeQuietly(fs, plan.temp);
    if (plan.restore?.kind === 'file') await removeQuietly(fs, plan.restore.backup);
  }
  if (renamed.length > 0) await fs.syncDir(home).catch(() => undefined);
}

async function removeQuietly(fs: PublishFs, path: string): Promise<void> {
  try {
    await fs.unlink(path);
  } catch {
    // Already gone, or home became unwritable: removeStaleTemps retries on the next run.
  }
}

function writeError(step: string, path: string, home: string, cause: unknown): AppError {
  if (isAppError(cause)) return cause;
  const code = typeof cause === 'object' && cause !== null ? (cause as NodeJS.ErrnoException).code : undefined;
  return new AppError('E_WRITE', `could not ${step} output: ${path}${code ? ` (${code})` : ''}`, {
    hint: `check that ${home} is writable by you and its disk has space; the previous outputs were kept`,
    cause,
    details: { path, errno: code ?? null },
  });
}

/** A byte-equal output needs no write only if it is also a private regular file with one link. */
async function holdsExactly(fs: PublishFs, target: string, before: FileStat | null, bytes: Uint8Array, uid: number | undefined): Promise<boolean> {
  if (before === null || !before.isFile() || before.size !== bytes.length || before.nlink !== 1) return false;
  if ((before.mode & 0o7777) !== 0o600 || (uid !== undefined && before.uid !== uid)) return false;
  try {
    return Buffer.from(bytes).equals(Buffer.from(await fs.readNoFollow(target)));
  } catch {
    return false; // replaced meanwhile (e.g. by a symlink): write it
  }
}

function tempPath(home: string, name: string): string {
  return join(home, `${TEMP_PREFIX}${process.pid}-${randomBytes(6).toString('hex')}-${name}`);
}

function checkNames(files: readonly OutputFile[]): void {
  const seen = new Set<string>();
  for (const { name } of files) {
    if (!/^[A-Za-z0-9._-]+$/.test(name) || name === '.' || name === '..' || name.startsWith(TEMP_PREFIX) || seen.has(name)) {
      throw new TypeError(`publish: bad or repeated output name ${JSON.stringify(name)}`);
    }
    seen.add(name);
  }
}

/** The default outputs' names, ours to find in home even before a repo config names others. */
const DEFAULT_OUTPUT_NAMES = new Set(['.env', 'console-secrets.json']);

/** True when `name` in home is one mcp-secrets makes (an output, `logs`, `run`, trust state, `.mcp-secrets…`). */
export function isOurHomeEntry(name: string): boolean {
  return DEFAULT_OUTPUT_NAMES.has(name) || isStateName(name);
}

export interface EnsureHomeDeps extends Omit<PublishDeps, 'alsoOurs'> {
  /** The default home, which is always ours to tighten (default: `~/.mcp`). */
  defaultHome?: string;
  /**
   * Output names the caller knows are ours beyond the two defaults (the repo config's outputs, and
   * those the outputs record lists): a loose home holding `gemini.env` is then ours to tighten. A
   * function is asked only for a loose home that passed every other check (it may read in home).
   */
  ourNames?: readonly string[] | (() => Promise<readonly string[]>);
}

/**
 * Makes sure home exists, is a real directory owned by `uid`, and is 0700. Every check runs
 * before anything changes. A missing home is created (0700 whatever the umask; parents that are
 * missing too are created, existing ones are never touched). A home open to group or others is
 * tightened, with a warning, only when it is ours to close: the default `~/.mcp` (the old runbook
 * left it 0755), or a directory holding nothing but our files (our state, the default outputs and
 * `ourNames`); any other is refused, so `--home /tmp` or `--home ~` changes nothing.
 *
 * @throws AppError `E_INSECURE_PATH` when home is a symlink, not a directory, owned by another
 *   user, or open to others and not ours to tighten (the hint gives the `chmod`); `E_WRITE` when
 *   it cannot be created or tightened.
 */
export async function ensureHome(home: string, deps: EnsureHomeDeps = {}): Promise<{ warnings: string[] }> {
  const fs = deps.fs ?? realFs;
  const uid = 'uid' in deps ? deps.uid : process.getuid?.();
  const warnings: string[] = [];
  let stat = await fs.lstat(home);
  if (stat === null) {
    try {
      await fs.mkdir(home, 0o700);
      await fs.chmod(home, 0o700);
    } catch (error) {
      throw writeError('create the home directory for', home, home, error);
    }
    stat = await fs.lstat(home);
    if (stat === null) throw writeError('create the home directory for', home, home, undefined);
  }
  if (stat.isSymbolicLink()) {
    throw new AppError('E_INSECURE_PATH', `home is a symbolic link: ${home}`, {
      hint: 'point --home or MCP_HOME at the real directory',
      details: { path: home },
    });
  }
  if (!stat.isDirectory()) {
    throw new AppError('E_INSECURE_PATH', `home is not a directory: ${home}`, {
      hint: 'move it out of the way or choose another --home / MCP_HOME',
      details: { path: home },
    });
  }
  if (uid !== undefined && stat.uid !== uid) {
    throw new AppError('E_INSECURE_PATH', `home is owned by another user (uid ${stat.uid}): ${home}`, {
      hint: `use a home you own (--home or MCP_HOME), or give it to yourself: chown "$(id -u)" ${home}`,
      details: { path: home, owner: stat.uid },
    });
  }
  const mode = stat.mode & 0o777;
  if (process.platform !== 'win32' && (mode & 0o077) !== 0) {
    const isDefault = resolve(home) === resolve(deps.defaultHome ?? join(homedir(), '.mcp'));
    let foreign: string | undefined;
    if (!isDefault) {
      const ours = new Set(typeof deps.ourNames === 'function' ? await deps.ourNames() : (deps.ourNames ?? []));
      try {
        foreign = (await fs.readdir(home)).find((name) => !isOurHomeEntry(name) && !ours.has(name));
      } catch (error) {
        throw writeError('list', home, home, error);
      }
    }
    if (!isDefault && foreign !== undefined) {
      throw new AppError('E_INSECURE_PATH', `home is open to others (mode ${octal(mode)}) and is not only mcp-secrets': ${home}`, {
        hint: `if ${home} is meant to hold the plaintext outputs, close it yourself: chmod 700 ${home}; otherwise choose a private --home / MCP_HOME (default ~/.mcp)`,
        details: { path: home, mode: octal(mode), ...(foreign === undefined ? {} : { foreign: sanitizeForMessage(foreign) }) },
      });
    }
    const tightened = mode & 0o700;
    try {
      await fs.chmod(home, tightened);
    } catch (error) {
      throw writeError('tighten the mode of', home, home, error);
    }
    warnings.push(`home was readable by others: mode of ${home} tightened from ${octal(mode)} to ${octal(tightened)}`);
  }
  return { warnings };
}

function octal(mode: number): string {
  return `0${mode.toString(8).padStart(3, '0')}`;
}

/**
 * Removes temp and backup files (named {@link TEMP_PREFIX}…) that a crashed publish left in home:
 * those whose writer pid is no longer alive. Temps of this process and of live ones are kept
 * (they may be mid-publish).
 *
 * @returns the paths removed.
 */
export async function removeStaleTemps(home: string, deps: StaleTempDeps = {}): Promise<string[]> {
  const fs = deps.fs ?? realFs;
  const isAlive = deps.isAlive ?? processIsAlive;
  let names: string[];
  try {
    names = await fs.readdir(home);
  } catch (error) {
    if (typeof error === 'object' && error !== null && (error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw writeError('list', home, home, error);
  }
  const removed: string[] = [];
  for (const name of names.sort()) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(TEMP_PREFIX.length))?.[1] ?? Number.NaN);
    if (Number.isInteger(pid) && (pid === process.pid || isAlive(pid))) continue;
    const path = join(home, name);
    const stat = await fs.lstat(path);
    if (stat === null || stat.isDirectory()) continue;
    try {
      await fs.unlink(path);
      removed.push(path);
    } catch (error) {
      throw writeError('remove the stale temp file', path, home, error);
    }
  }
  return removed;
}

/** Whether `pid` still runs (the temp sweep and the home lock ask it of a writer they found). */
export function processIsAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoOf(error) === 'EPERM'; // it exists, but is someone else's
  }
}
