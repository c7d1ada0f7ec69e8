/**
 * Where the login service may run mcp-secrets from. A unit whose ExecStart points into an npx
 * cache (`…/_npx/…`), the npm cache or the system temp dir breaks later without warning: npm
 * prunes its cache, the OS empties /tmp, and the daemon then fails at the next login. Such a path
 * is refused at install time with the way to a lasting install.
 */
import os from 'node:os';
import path from 'node:path';
import { AppError } from '../errors.js';

export interface CliLocationContext {
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Default: the temp dir `env` names (TMPDIR, TMP, TEMP), as `os.tmpdir()` reads it. */
  readonly tmpdir?: string;
  /** Default `os.homedir()` when HOME is unset. */
  readonly homedir?: string;
  readonly platform?: NodeJS.Platform;
}

/** npm's cache directory: `$npm_config_cache`, else npm's default for the platform. */
export function npmCacheDir(context: CliLocationContext): string {
  const configured = context.env.npm_config_cache ?? context.env.NPM_CONFIG_CACHE;
  if (configured && path.isAbsolute(configured)) return configured;
  if ((context.platform ?? process.platform) === 'win32' && context.env.LOCALAPPDATA) return path.join(context.env.LOCALAPPDATA, 'npm-cache');
  return path.join(context.env.HOME || context.homedir || os.homedir(), '.npm');
}

/** The system temp dir of the environment the command runs in (POSIX: TMPDIR, TMP, TEMP, else /tmp). */
function tempDirOf(context: CliLocationContext): string {
  if ((context.platform ?? process.platform) === 'win32') return os.tmpdir();
  const named = context.env.TMPDIR || context.env.TMP || context.env.TEMP;
  return named && path.isAbsolute(named) ? named : '/tmp';
}

function isInside(child: string, parent: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}

/** Why `cliPath` is no lasting place for a login service, or null when it is fine. */
export function ephemeralCliLocation(cliPath: string, context: CliLocationContext): string | null {
  const full = path.resolve(cliPath);
  if (full.split(path.sep).includes('_npx')) return 'it is inside an npx cache (`_npx`)';
  if (isInside(full, npmCacheDir(context))) return `it is inside the npm cache (${npmCacheDir(context)})`;
  const tmp = path.resolve(context.tmpdir ?? tempDirOf(context));
  if (isInside(full, tmp)) return `it is inside the system temp dir (${tmp})`;
  return null;
}

/**
 * @throws AppError E_USAGE when the CLI runs from a place that does not last (see module header).
 */
export function refuseEphemeralCliLocation(cliPath: string, context: CliLocationContext): void {
  const why = ephemeralCliLocation(cliPath, context);
  if (why === null) return;
  throw new AppError('E_USAGE', `service install: refusing to point the login service at ${cliPath}: ${why}, which is emptied without notice`, {
    hint: 'install mcp-secrets where it stays, then run `mcp-secrets service install` from there: from a clone (`npm ci && npm run build`), or globally from a release tarball (`npm install -g ./mcp-secrets-<version>.tgz`)',
  });
}
