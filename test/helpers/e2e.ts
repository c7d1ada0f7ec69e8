/**
 * End-to-end helpers: an isolated environment (own HOME, no ambient SOPS_AGE_KEY, keychain off
 * unless asked), the built CLI run as a child, and waiting on conditions. Temp dirs are
 * `temp.ts`'s, git repos `git.ts`'s.
 */
import path from 'node:path';
import { execa } from 'execa';
import { repoRoot } from './fixtures.js';
import { GIT_ENV } from './git.js';

export { repoRoot };

export const CLI = path.join(repoRoot(), 'dist', 'src', 'main.js');

/**
 * An environment for a child CLI: its own HOME and XDG dirs under `dir`, no identity from the
 * caller's environment, the keychain off unless `keychain: true` (then the ambient D-Bus session is kept).
 */
export function isolatedEnv(dir: string, extra: Record<string, string | undefined> = {}, opts: { keychain?: boolean } = {}): Record<string, string> {
  const env: Record<string, string | undefined> = {
    PATH: process.env.PATH,
    LANG: 'C.UTF-8',
    HOME: path.join(dir, 'userhome'),
    XDG_CONFIG_HOME: path.join(dir, 'userhome', '.config'),
    TMPDIR: process.env.TMPDIR,
    CI: process.env.CI,
    ...GIT_ENV,
    MCP_SECRETS_KEYCHAIN: opts.keychain ? undefined : 'none',
    DBUS_SESSION_BUS_ADDRESS: opts.keychain ? process.env.DBUS_SESSION_BUS_ADDRESS : undefined,
    XDG_RUNTIME_DIR: undefined,
    ...extra,
  };
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined));
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], opts: { env: Record<string, string>; cwd?: string; input?: string }): Promise<CliResult> {
  const r = await execa(process.execPath, [CLI, ...args], {
    env: opts.env,
    extendEnv: false,
    cwd: opts.cwd,
    input: opts.input,
    reject: false,
    timeout: 60_000,
  });
  return { code: r.exitCode ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** Polls `check` until it returns a value (not undefined) or the timeout passes. For waiting on real events, never bare sleeps. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
