/**
 * Pure rendering of the login service files from their templates (service/systemd/,
 * service/launchd/): options in, file text out. No fs, no env.
 *
 * Every value is escaped for where it lands: systemd's ExecStart= and Environment= word quoting
 * (C escapes inside double quotes, `%%` for specifiers, `$$` for variables in ExecStart=), and
 * XML text for launchd plists. A value that cannot be carried is refused, never mangled.
 */
import { AppError } from '../errors.js';
import type { KeychainBackend } from '../identity/keychain/index.js';

export const SYSTEMD_UNIT_NAME = 'mcp-secrets.service';
export const LAUNCHD_LABEL = 'dev.mcp-secrets.daemon';

export interface DaemonLaunchSpec {
  /** Absolute, real path of the node binary (see node-binary.ts). */
  nodePath: string;
  /** Absolute path of the CLI entry script (dist/src/main.js). */
  cliPath: string;
  /** The working repo, passed as --repo. */
  repo: string;
  /** Where outputs go, passed as --home. */
  home: string;
  /** An explicit --socket, or null for the daemon's default. */
  socket: string | null;
  /** PATH for the daemon (git, sops and the tools sops calls), from install time. */
  pathEnv: string;
  /**
   * The keychain backend the installing CLI uses (MCP_SECRETS_KEYCHAIN), written into the service's
   * environment so the daemon reads the identities from the same store `identity import` wrote to.
   */
  keychain: KeychainBackend;
}

/** The daemon's argv, as the service manager will run it. */
export function daemonArgv(spec: DaemonLaunchSpec): string[] {
  const argv = [spec.nodePath, spec.cliPath, 'daemon', '--repo', spec.repo, '--home', spec.home];
  if (spec.socket !== null) argv.push('--socket', spec.socket);
  return argv;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function hasLoneSurrogate(value: string): boolean {
  return LONE_SURROGATE.test(value);
}

function refuse(what: string, value: string, why: string): never {
  const shown = JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
  throw new AppError('E_USAGE', `${what} cannot be written to the service file: ${shown} (${why})`, {
    hint: 'move the repo, home or Node installation to a path without control characters, then run `mcp-secrets service install` again',
  });
}

/**
 * One systemd word in double quotes. `exec` (ExecStart=) also doubles `$`, which systemd expands
 * there; Environment= does not expand variables, so `$` stays as it is.
 */
export function quoteSystemdWord(value: string, context: 'exec' | 'environment'): string {
  if (value.includes('\0')) refuse('a value', value, 'it contains a NUL character');
  if (hasLoneSurrogate(value)) refuse('a value', value, 'it is not valid Unicode');
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '%') out += '%%';
    else if (ch === '$' && context === 'exec') out += '$$';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `"${out}"`;
}

/** An ExecStart= value: every word quoted (a quoted `;` is an argument, not a separator). */
export function systemdExecStart(argv: readonly string[]): string {
  const [program] = argv;
  if (program === undefined || !program.startsWith('/')) refuse('the program', program ?? '', 'it must be an absolute path');
  return argv.map((word) => quoteSystemdWord(word, 'exec')).join(' ');
}

/** Text for an XML text node: entities for markup, character references for tab, CR and LF. */
export function escapeXml(value: string): string {
  if (hasLoneSurrogate(value)) refuse('a value', value, 'it is not valid Unicode');
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '&') out += '&amp;';
    else if (ch === '<') out += '&lt;';
    else if (ch === '>') out += '&gt;';
    else if (ch === '"') out += '&quot;';
    else if (ch === "'") out += '&apos;';
    else if (ch === '\t' || ch === '\n' || ch === '\r') out += `&#${code};`;
    else if (code < 0x20 || code === 0x7f || code === 0xfffe || code === 0xffff) refuse('a value', value, 'XML cannot carry its control characters');
    else out += ch;
  }
  return out;
}

/**
 * Replaces every `{{NAME}}` in a template with its (already escaped) value. An unknown or unfilled
 * placeholder is a bug in the template or the caller, so it throws.
 */
export function fillTemplate(template: string, values: Readonly<Record<string, string>>): string {
  const used = new Set<string>();
  const text = template.replace(/\{\{([A-Z_]+)\}\}/g, (_m, name: string) => {
    const value = values[name];
    if (value === undefined) throw new TypeError(`template placeholder {{${name}}} has no value`);
    used.add(name);
    return value;
  });
  for (const name of Object.keys(values)) if (!used.has(name)) throw new TypeError(`template has no placeholder {{${name}}}`);
  return text;
}

/** The systemd --user unit for this spec, from service/systemd/mcp-secrets.service. */
export function renderSystemdUnit(template: string, spec: DaemonLaunchSpec): string {
  return fillTemplate(template, {
    EXEC_START: systemdExecStart(daemonArgv(spec)),
    PATH_ENVIRONMENT: quoteSystemdWord(`PATH=${spec.pathEnv}`, 'environment'),
    KEYCHAIN_ENVIRONMENT: quoteSystemdWord(`MCP_SECRETS_KEYCHAIN=${spec.keychain}`, 'environment'),
  });
}

export interface LaunchdPaths {
  stdoutPath: string;
  stderrPath: string;
}

/** The LaunchAgent plist for this spec, from service/launchd/dev.mcp-secrets.daemon.plist. */
export function renderLaunchdPlist(template: string, spec: DaemonLaunchSpec, logs: LaunchdPaths): string {
  return fillTemplate(template, {
    LABEL: escapeXml(LAUNCHD_LABEL),
    PROGRAM_ARGUMENTS: daemonArgv(spec)
      .map((word) => `\t\t<string>${escapeXml(word)}</string>`)
      .join('\n'),
    PATH: escapeXml(spec.pathEnv),
    KEYCHAIN: escapeXml(spec.keychain),
    STDOUT_PATH: escapeXml(logs.stdoutPath),
    STDERR_PATH: escapeXml(logs.stderrPath),
  });
}

/** POSIX shell quoting, for the commands printed to a person (dry run, manual start). */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_./:=@+-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
