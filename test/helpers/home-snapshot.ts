/** What a home directory holds, file by file, for "nothing changed" assertions in publisher tests. */

import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface EntrySnapshot {
  type: 'file' | 'symlink' | 'dir' | 'other';
  mode: number;
  /** File content (utf8) or the symlink's text. */
  content: string | null;
}

export async function snapshotHome(home: string): Promise<Record<string, EntrySnapshot>> {
  const out: Record<string, EntrySnapshot> = {};
  for (const name of (await readdir(home)).sort()) {
    const path = join(home, name);
    const stat = await lstat(path);
    const mode = stat.mode & 0o7777;
    if (stat.isSymbolicLink()) out[name] = { type: 'symlink', mode, content: await readlink(path) };
    else if (stat.isFile()) out[name] = { type: 'file', mode, content: await readFile(path, 'utf8') };
    else out[name] = { type: stat.isDirectory() ? 'dir' : 'other', mode, content: null };
  }
  return out;
}

/** Names of publisher temp or backup files left in home. */
export async function tempsIn(home: string): Promise<string[]> {
  return (await readdir(home)).filter((name) => name.startsWith('.mcp-secrets-tmp-'));
}
