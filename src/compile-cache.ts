/**
 * Node's on-disk compile cache for our own modules (Node >= 22.1 `module.enableCompileCache`):
 * a later start skips recompiling them. A no-op on Node 20.
 *
 * Rules: the cache lives in a private directory under the user's cache dir
 * (`$XDG_CACHE_HOME` or `~/.cache`, `~/Library/Caches` on macOS), created 0700, and is used only
 * when it is a real directory owned by this user with no group or other access; never a shared
 * temp dir (another user could plant code there). Any failure just leaves the cache off.
 */
import { lstatSync, mkdirSync } from 'node:fs';
import module from 'node:module';
import os from 'node:os';
import path from 'node:path';

/** Where the cache goes for this user. */
export function compileCacheDir(env: Readonly<Record<string, string | undefined>>, platform: NodeJS.Platform = process.platform): string | null {
  const home = env.HOME || os.homedir();
  const xdg = env.XDG_CACHE_HOME;
  const base = xdg && path.isAbsolute(xdg) ? xdg : platform === 'darwin' ? path.join(home, 'Library', 'Caches') : home ? path.join(home, '.cache') : null;
  return base ? path.join(base, 'mcp-secrets', 'compile-cache') : null;
}

/** Creates `dir` 0700 if missing; true only when it is then a private directory of this user. */
export function ensurePrivateDir(dir: string): boolean {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = lstatSync(dir);
  const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid;
  return st.isDirectory() && st.uid === uid && (st.mode & 0o077) === 0;
}

/** Turns the cache on when this Node has it; returns what happened, for tests and `doctor`. */
export function enableCompileCache(env: Readonly<Record<string, string | undefined>> = process.env): 'enabled' | 'unsupported' | 'refused' | 'failed' {
  const enable = (module as { enableCompileCache?: (dir?: string) => unknown }).enableCompileCache;
  if (typeof enable !== 'function') return 'unsupported';
  try {
    const dir = compileCacheDir(env);
    if (!dir || !ensurePrivateDir(dir)) return 'refused';
    enable(dir);
    return 'enabled';
  } catch {
    return 'failed';
  }
}
