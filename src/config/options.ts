/**
 * The only reader of flags and environment for the common options. One resolve step applies
 * defaults, validates with messages naming the option and the bad value, and freezes the result.
 *
 * Cheap on purpose (no git, no fs beyond path maths): `status` and `tray` call it on their fast path.
 * Repo discovery, which needs git, lives in `./repo.ts`.
 */
import os from 'node:os';
import path from 'node:path';
import { AppError } from '../errors.js';

export const ENGINES = ['auto', 'native', 'sops'] as const;
export type EngineName = (typeof ENGINES)[number];

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_SOURCE = 'config/secrets.enc.yaml';

export interface CommonOptions {
  /** `--repo` as given (absolute), or null: discover it from the cwd with git (see repo.ts). */
  readonly repoFlag: string | null;
  /** Bundle path relative to the repo (or absolute). */
  readonly source: string;
  /** Where outputs go: --home, else $MCP_HOME, else ~/.mcp. Absolute. */
  readonly home: string;
  /** IPC socket: --socket, else $MCP_SECRETS_SOCKET, else $XDG_RUNTIME_DIR/mcp-secrets/daemon.sock, else <home>/run/daemon.sock. */
  readonly socket: string;
  readonly engine: EngineName;
  readonly json: boolean;
  readonly logLevel: LogLevel;
  readonly cwd: string;
}

type Values = Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
type Env = Readonly<Record<string, string | undefined>>;

function stringFlag(values: Values, name: string): string | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.length === 0) {
    throw new AppError('E_USAGE', `--${name} needs a value`, { hint: `e.g. --${name} ${name === 'repo' ? '~/src/project' : '…'}` });
  }
  return v;
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new AppError('E_USAGE', `--${name} must be one of ${allowed.join(', ')}, not "${value.slice(0, 40)}"`, {
    hint: `use --${name} ${allowed[0]}`,
  });
}

/** Expands a leading `~/` the way a shell would; service managers pass paths unexpanded. */
export function expandHome(p: string, env: Env): string {
  if (p === '~') return env.HOME ?? os.homedir();
  if (p.startsWith('~/')) return path.join(env.HOME ?? os.homedir(), p.slice(2));
  return p;
}

export function resolveHome(values: Values, env: Env, cwd: string): string {
  const raw = stringFlag(values, 'home') ?? (env.MCP_HOME && env.MCP_HOME.length > 0 ? env.MCP_HOME : undefined);
  if (raw !== undefined) return path.resolve(cwd, expandHome(raw, env));
  return path.join(env.HOME ?? os.homedir(), '.mcp');
}

export function resolveSocketPath(values: Values, env: Env, cwd: string, home: string): string {
  const raw = stringFlag(values, 'socket') ?? (env.MCP_SECRETS_SOCKET && env.MCP_SECRETS_SOCKET.length > 0 ? env.MCP_SECRETS_SOCKET : undefined);
  if (raw !== undefined) return path.resolve(cwd, expandHome(raw, env));
  if (env.XDG_RUNTIME_DIR && path.isAbsolute(env.XDG_RUNTIME_DIR)) return path.join(env.XDG_RUNTIME_DIR, 'mcp-secrets', 'daemon.sock');
  return path.join(home, 'run', 'daemon.sock');
}

export function resolveCommonOptions(values: Values, env: Env, cwd: string): CommonOptions {
  const repoRaw = stringFlag(values, 'repo');
  const home = resolveHome(values, env, cwd);
  const options: CommonOptions = {
    repoFlag: repoRaw === undefined ? null : path.resolve(cwd, expandHome(repoRaw, env)),
    source: stringFlag(values, 'source') ?? DEFAULT_SOURCE,
    home,
    socket: resolveSocketPath(values, env, cwd, home),
    engine: oneOf('engine', stringFlag(values, 'engine') ?? 'auto', ENGINES),
    json: values.json === true,
    logLevel: oneOf('log-level', stringFlag(values, 'log-level') ?? env.MCP_SECRETS_LOG_LEVEL ?? 'info', LOG_LEVELS),
    cwd,
  };
  return Object.freeze(options);
}
