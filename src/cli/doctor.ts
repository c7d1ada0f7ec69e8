/**
 * `mcp-secrets doctor`: checks this machine one line at a time, each problem with its fix.
 * Exit 0 when nothing failed (warnings allowed), 2 otherwise. `--json` prints the checks.
 *
 * The bundle is opened as `sync` opens it (the use-case layer's `openBundle`: one parse, the
 * identity order, `--engine`, MAC, names), so doctor reports what a sync would meet, in the
 * layer's words (the no-identity error lists every place tried).
 */
import { lstat, stat } from 'node:fs/promises';
import path from 'node:path';
import os from 'node:os';
import { execa } from 'execa';
import { EXIT, isAppError, type AppError } from '../errors.js';
import { oneLine } from '../escape.js';
import { resolveCommonOptions, type CommonOptions } from '../config/options.js';
import { resolveRepo } from '../config/repo.js';
import type { OutputSpec } from '../config/repo-config.js';
import { keychainBackend, openKeychain, openKeychainStore, type KeychainStore } from '../identity/keychain/index.js';
import type { Keychain } from '../identity/keychain/types.js';
import { copyCommand, lookIntoOtherBackend, otherKeychainStore } from '../identity/keychain/other-backend.js';
import { identityLookup } from '../identity/lookup.js';
import { openBundle, planFor, readBundle, type OpenedBundle, type SyncPlan } from '../bundle/open.js';
import { configuredOutputs, readOutputsRecord } from '../bundle/outputs.js';
import type { StatusDocument } from '../ipc/status.js';
import { serviceLocations, serviceManagerFor } from '../service/platform.js';
import { jsonDocument } from './report.js';
import type { Command, CliIo, CommandInput } from './types.js';

const command: Command = { run: async (input, io) => runDoctor(await resolveDoctorInput(input, io), defaultDoctorDeps(io)) };
export default command;

export type CheckLevel = 'ok' | 'warn' | 'fail';
export interface Check {
  id: string;
  level: CheckLevel;
  message: string;
  fix?: string;
}

/** What doctor looks at, resolved from its flags. */
export interface DoctorInput extends Pick<CommonOptions, 'source' | 'home' | 'socket' | 'engine' | 'json'> {
  /** The repo (`--repo`, else the git top level of the cwd), or null when there is none. */
  readonly repo: string | null;
}

/** A file's standing, as doctor judges it (lstat: a link is seen as a link). */
export interface FileInfo {
  mode: number;
  uid: number;
  symlink: boolean;
}

/** What doctor needs from the outside; tests pass fakes. */
export interface DoctorDeps {
  stdout(text: string): void;
  /** `process.versions.node`. */
  readonly nodeVersion: string;
  /** This user's uid (files in home must be theirs). */
  readonly uid: number;
  /** The keychain in use, or null when turned off (MCP_SECRETS_KEYCHAIN=none). */
  keychain(): Keychain | null;
  /** The real backend not in use, to find identities the one in use cannot see; null when none applies. */
  otherKeychain(): { store: KeychainStore; keychain: Keychain } | null;
  /** Reads the bundle (the layer's bounded read). */
  readBundle(plan: SyncPlan): Promise<Buffer>;
  /** Opens the bundle through the use-case layer, exactly as a sync does (nothing is written). */
  openBundle(plan: SyncPlan, bytes: Buffer): Promise<OpenedBundle>;
  /** The outputs the repo config lists (defaults when there is none or it is invalid). */
  configuredOutputs(repo: string | null): Promise<readonly OutputSpec[]>;
  /** Output names this home holds from earlier syncs. */
  heldOutputs(home: string): Promise<string[]>;
  fileInfo(file: string): Promise<FileInfo | null>;
  /** The daemon's status; throws when none answers. */
  daemonStatus(socket: string): Promise<StatusDocument>;
  /** Where the login service's unit or plist would be; throws on a platform without one. */
  serviceFile(): string;
  exists(file: string): Promise<boolean>;
  /** Where `bin` is on PATH, or null. */
  which(bin: string): Promise<string | null>;
  /** Whether git ignores `probe` in `repo` (the user's own excludes count). */
  isIgnored(repo: string, probe: string): Promise<boolean>;
}

const ok = (id: string, message: string): Check => ({ id, level: 'ok', message });
const warn = (id: string, message: string, fix: string): Check => ({ id, level: 'warn', message, fix });
const fail = (id: string, message: string, fix: string): Check => ({ id, level: 'fail', message, fix });

function describe(error: unknown): string {
  return isAppError(error) ? `${error.code}: ${error.message}` : String(error);
}

function checkNode(version: string): Check {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major > 20 || (major === 20 && minor >= 19) ? ok('node', `Node ${version}`) : fail('node', `Node ${version} is older than 20.19`, 'install Node 22 or 24 LTS');
}

async function checkKeychain(deps: DoctorDeps): Promise<Check> {
  const keychain = deps.keychain();
  if (!keychain) return warn('keychain', 'the keychain is turned off (MCP_SECRETS_KEYCHAIN=none)', 'unset MCP_SECRETS_KEYCHAIN to keep the identity in the OS keychain');
  try {
    const stored = await keychain.listRecipients();
    const reachable = `${keychain.name} reachable, ${stored.length} identit${stored.length === 1 ? 'y' : 'ies'} stored`;
    // a backend switch must not silently "lose" identities stored by the other one
    const other = deps.otherKeychain();
    if (other === null) return ok('keychain', reachable);
    const report = await lookIntoOtherBackend(other.keychain, other.store, stored);
    if (report.onlyThere.length === 0) return ok('keychain', reachable);
    return warn(
      'keychain',
      `${reachable}; the ${report.store} backend holds ${report.onlyThere.length} more (${report.onlyThere.join(', ')}) that ${keychain.name} cannot see`,
      `copy them (verified, the originals are kept): \`${copyCommand(report.store)}\``,
    );
  } catch (error) {
    return fail('keychain', `keychain not usable: ${describe(error)}`, isAppError(error) && error.hint ? error.hint : 'see docs/troubleshooting.md#e_keychain');
  }
}

/** Errors of the identity step: the layer's one message lists every place tried. */
const IDENTITY_CODES: ReadonlySet<string> = new Set(['E_NO_IDENTITY', 'E_IDENTITY_MISMATCH', 'E_KEYCHAIN']);
/** Errors of a file that is not (or no longer) a SOPS document. */
const PARSE_CODES: ReadonlySet<string> = new Set(['E_PARSE', 'E_NOT_SOPS']);
/** Errors of a bundle whose ciphertext or MAC does not hold: it was changed outside sops. */
const TAMPER_CODES: ReadonlySet<string> = new Set(['E_MAC_MISMATCH', 'E_DECRYPT']);

function bundleFailure(rel: string, error: unknown): Check {
  if (isAppError(error) && IDENTITY_CODES.has(error.code)) return fail('identity', error.message, error.hint ?? 'run `mcp-secrets identity import`');
  const code = isAppError(error) ? error.code : '';
  const fix = PARSE_CODES.has(code)
    ? 'fix the file (see the message), or restore it from git'
    : TAMPER_CODES.has(code) || !isAppError(error)
      ? 'the bundle was altered or damaged: restore it from git (`git checkout -- <bundle>`) and tell the security team'
      : ((error as AppError).hint ?? 'see docs/troubleshooting.md');
  return fail('bundle', `${rel}: ${describe(error)}`, fix);
}

async function checkIdentityAndBundle(input: DoctorInput, deps: DoctorDeps): Promise<Check[]> {
  if (!input.repo) return [fail('bundle', 'no repo: not inside a git work tree and no --repo', 'run doctor from the repo, or pass --repo DIR')];
  const plan = planFor(input.repo, input.source, input.home, input.engine);
  let bytes: Buffer;
  try {
    bytes = await deps.readBundle(plan);
  } catch (error) {
    return [fail('bundle', describe(error), 'check --repo/--source, or check out the branch with the bundle')];
  }
  let opened: OpenedBundle;
  try {
    opened = await deps.openBundle(plan, bytes);
  } catch (error) {
    return [bundleFailure(plan.sourceRel, error)];
  }
  const recipients = opened.metadata.ageRecipients;
  const opener = opened.lookup.identities.find((i) => recipients.includes(i.recipient));
  const checks: Check[] = [
    // the sops engine may open it with other keys: then no age identity is named
    opener ? ok('identity', `identity from ${opener.source} opens the bundle (${opener.recipient})`) : ok('identity', `the ${plan.engine} engine opens the bundle`),
    ok('bundle', `${plan.sourceRel} decrypts and its MAC verifies`),
  ];
  if (opened.pin?.verdict === 'changed') {
    checks.push(
      fail('data-key', `${plan.sourceRel} was encrypted with a data key this machine has not accepted (a bundle made anew, not edited with sops)`, `check who changed it (\`git log -p -- ${plan.sourceRel}\`); if it is the team's, accept it with \`mcp-secrets sync --accept-data-key\``),
    );
  }
  return checks;
}

async function checkModes(input: DoctorInput, deps: DoctorDeps): Promise<Check[]> {
  const home = input.home;
  const checks: Check[] = [];
  const h = await deps.fileInfo(home);
  if (!h) checks.push(warn('home', `${home} does not exist yet`, 'run `mcp-secrets sync` (or start the daemon)'));
  else if (h.uid !== deps.uid) checks.push(fail('home', `${home} is owned by uid ${h.uid}, not you`, `remove it or chown it to yourself`));
  else if (h.mode !== 0o700) checks.push(fail('home', `${home} has mode ${h.mode.toString(8)}, not 700`, `chmod 700 ${home}`));
  else checks.push(ok('home', `${home} is 700 and yours`));
  // every output the repo config lists, and every one this home still holds from earlier configs
  const configured = await deps.configuredOutputs(input.repo);
  const held = await deps.heldOutputs(home).catch(() => []);
  for (const name of [...new Set([...configured.map((o) => o.file), ...held])]) {
    const file = path.join(home, name);
    const m = await deps.fileInfo(file);
    if (!m) checks.push(warn(`output:${name}`, `${file} is missing`, 'run `mcp-secrets sync`'));
    else if (m.symlink) checks.push(fail(`output:${name}`, `${file} is a symlink`, 'remove it; the next sync writes a real file'));
    else if (m.mode !== 0o600) checks.push(fail(`output:${name}`, `${file} has mode ${m.mode.toString(8)}, not 600`, `chmod 600 ${file}`));
    else checks.push(ok(`output:${name}`, `${file} is 600`));
  }
  const socketDir = path.dirname(input.socket);
  const s = await deps.fileInfo(socketDir);
  if (s && (s.mode & 0o077) !== 0) checks.push(fail('socket-dir', `${socketDir} has mode ${s.mode.toString(8)}: other users can reach the socket`, `chmod 700 ${socketDir}`));
  else checks.push(ok('socket-dir', s ? `${socketDir} is private` : `${socketDir} will be created 700 by the daemon`));
  return checks;
}

async function checkDaemon(input: DoctorInput, deps: DoctorDeps): Promise<Check> {
  let status: StatusDocument;
  try {
    status = await deps.daemonStatus(input.socket);
  } catch {
    return warn('daemon', `no daemon answers on ${input.socket}`, 'mcp-secrets service install (or run `mcp-secrets daemon`)');
  }
  if (status.state === 'fresh') return ok('daemon', `daemon ${status.daemon.pid} running, outputs fresh (secrets ${status.secretsVersion ?? 'unversioned'})`);
  const error = status.lastSync?.error;
  return fail('daemon', `daemon running but ${status.state}${error ? ` (${error.code}: ${error.message})` : ''}`, 'see `mcp-secrets status` and docs/troubleshooting.md');
}

async function checkService(deps: DoctorDeps): Promise<Check> {
  let file: string;
  try {
    file = deps.serviceFile();
  } catch (error) {
    return warn('service', describe(error), 'run `mcp-secrets daemon` from your session start-up');
  }
  return (await deps.exists(file)) ? ok('service', `login service installed (${file})`) : warn('service', 'login service not installed', 'mcp-secrets service install');
}

const BINARIES: readonly (readonly [string, string])[] = [
  ['sops', 'needed to edit the bundle, and for bundles with only PGP/KMS keys'],
  ['age', 'optional: the reference age CLI'],
  ['gitleaks', 'optional: the security scan of the runbook'],
];

async function checkBinaries(deps: DoctorDeps): Promise<Check[]> {
  const out: Check[] = [];
  for (const [bin, why] of BINARIES) {
    const at = await deps.which(bin);
    out.push(at !== null ? ok(`bin:${bin}`, `${bin} found at ${at}`) : warn(`bin:${bin}`, `${bin} not found: ${why}`, `install ${bin}`));
  }
  return out;
}

const IGNORE_PROBES = ['.env', 'console-secrets.json', 'keys.txt', 'config/secrets.dec.yaml'];

async function checkGitignore(input: DoctorInput, deps: DoctorDeps): Promise<Check> {
  if (!input.repo) return warn('gitignore', 'no repo to check', 'run doctor from the repo');
  const notIgnored: string[] = [];
  for (const p of IGNORE_PROBES) if (!(await deps.isIgnored(input.repo, p))) notIgnored.push(p);
  return notIgnored.length === 0
    ? ok('gitignore', '.gitignore keeps outputs and key files out of the repo')
    : fail('gitignore', `.gitignore does not ignore ${notIgnored.join(', ')}`, `add to .gitignore: ${notIgnored.map((p) => (p.includes('.dec.') ? '*.dec.*' : p)).join(' ')}`);
}

/** Every check, in the order they are printed. Never throws for what it checks. */
export async function doctorChecks(input: DoctorInput, deps: DoctorDeps): Promise<Check[]> {
  return [
    checkNode(deps.nodeVersion),
    await checkKeychain(deps),
    ...(await checkIdentityAndBundle(input, deps)),
    ...(await checkModes(input, deps)),
    await checkDaemon(input, deps),
    await checkService(deps),
    ...(await checkBinaries(deps)),
    await checkGitignore(input, deps),
  ];
}

const MARK: Record<CheckLevel, string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' };
const INDENT = '      ';

/** Each line of a message escaped (paths, keychain errors, tool output), continuation lines indented. */
function printable(text: string): string {
  return text.split('\n').map(oneLine).join(`\n${INDENT}`);
}

/** Runs every check and prints them; exit 0 when none failed, 2 otherwise. */
export async function runDoctor(input: DoctorInput, deps: DoctorDeps): Promise<number> {
  const checks = await doctorChecks(input, deps);
  const failed = checks.some((c) => c.level === 'fail');
  if (input.json) deps.stdout(jsonDocument({ ok: !failed, checks }));
  else for (const c of checks) deps.stdout(`${MARK[c.level]}  ${printable(c.message)}${c.fix ? `\n${INDENT}fix: ${printable(c.fix)}` : ''}\n`);
  return failed ? EXIT.FAILED : EXIT.OK;
}

/** The flags resolved; the repo is looked for but need not exist (doctor then says so). */
export async function resolveDoctorInput(input: CommandInput, io: Pick<CliIo, 'env' | 'cwd'>): Promise<DoctorInput> {
  const options = resolveCommonOptions(input.values, io.env, io.cwd);
  const repo = await resolveRepo({ repoFlag: options.repoFlag, cwd: io.cwd }).catch(() => null);
  return { repo, source: options.source, home: options.home, socket: options.socket, engine: options.engine, json: options.json };
}

async function fileInfoOf(p: string): Promise<FileInfo | null> {
  try {
    const s = await lstat(p);
    return { mode: s.mode & 0o777, uid: s.uid, symlink: s.isSymbolicLink() };
  } catch {
    return null;
  }
}

/** The real collaborators: this process, the OS keychain, the file system, git, the daemon's socket. */
export function defaultDoctorDeps(io: CliIo): DoctorDeps {
  const env = io.env as Record<string, string>;
  // read once, never cached into the keychain: doctor looks, it does not change anything
  const identities = identityLookup({ env: io.env, cache: false, onNotice: () => {} });
  return {
    stdout: (text) => io.stdout(text),
    nodeVersion: process.versions.node,
    uid: process.getuid?.() ?? 0,
    keychain: () => openKeychain({ env: io.env }),
    otherKeychain: () => {
      const backend = keychainBackend(io.env);
      if (backend === 'none') return null;
      const store = otherKeychainStore(backend);
      return { store, keychain: openKeychainStore(store, io.env) };
    },
    readBundle: (plan) => readBundle(plan),
    openBundle: (plan, bytes) => openBundle(plan, { identities, env: io.env }, bytes),
    configuredOutputs: (repo) => configuredOutputs(repo),
    heldOutputs: (home) => readOutputsRecord(home),
    fileInfo: fileInfoOf,
    daemonStatus: async (socket) => {
      const { getStatus } = await import('../ipc/client.js');
      return getStatus({ socketPath: socket, timeoutMs: 2_000 });
    },
    serviceFile: () => serviceLocations(serviceManagerFor(process.platform), io.env.HOME ?? os.homedir(), io.env.XDG_CONFIG_HOME).file,
    exists: (file) => stat(file).then(
      () => true,
      () => false,
    ),
    which: async (bin) => {
      const r = await execa('sh', ['-c', `command -v ${bin}`], { reject: false, env });
      return r.exitCode === 0 ? r.stdout.trim() : null;
    },
    // the user's git config (core.excludesFile) counts too: git runs in the caller's environment
    isIgnored: async (repo, probe) => (await execa('git', ['-C', repo, 'check-ignore', '-q', '--no-index', probe], { reject: false, env, extendEnv: false })).exitCode === 0,
  };
}
