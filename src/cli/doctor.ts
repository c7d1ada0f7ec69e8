/**
 * `mcp-secrets doctor`: checks this machine one line at a time, each problem with its fix.
 * Exit 0 when nothing failed (warnings allowed), 2 otherwise. `--json` prints the checks.
 */
import { lstat, stat } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { EXIT, isAppError } from '../errors.js';
import { oneLine } from '../escape.js';
import { resolveCommonOptions, type CommonOptions } from '../config/options.js';
import { resolveRepo } from '../config/repo.js';
import { keychainBackend, openKeychain, openKeychainStore } from '../identity/keychain/index.js';
import { copyCommand, lookIntoOtherBackend, otherKeychainStore } from '../identity/keychain/other-backend.js';
import { identityLookup } from '../identity/lookup.js';
import { formatFromPath, inspect, decrypt } from '../sops/index.js';
import { planFor, readBundle, type IdentityLookup } from '../sync/pipeline.js';
import { readOutputsRecord } from '../bundle/outputs.js';
import { readRepoConfigText } from '../bundle/consumer-entries.js';
import { DEFAULT_OUTPUTS, loadRepoConfig } from '../config/repo-config.js';
import { serviceLocations, serviceManagerFor } from '../service/platform.js';
import os from 'node:os';
import type { Command, CliIo, CommandInput } from './types.js';

const command: Command = { run: runDoctor };
export default command;

export type CheckLevel = 'ok' | 'warn' | 'fail';
export interface Check {
  id: string;
  level: CheckLevel;
  message: string;
  fix?: string;
}

interface Context {
  options: CommonOptions;
  io: CliIo;
  repo: string | null;
  lookup: IdentityLookup | null;
}

const ok = (id: string, message: string): Check => ({ id, level: 'ok', message });
const warn = (id: string, message: string, fix: string): Check => ({ id, level: 'warn', message, fix });
const fail = (id: string, message: string, fix: string): Check => ({ id, level: 'fail', message, fix });

function describe(error: unknown): string {
  return isAppError(error) ? `${error.code}: ${error.message}` : String(error);
}

async function checkNode(): Promise<Check> {
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major > 20 || (major === 20 && minor >= 19)
    ? ok('node', `Node ${process.versions.node}`)
    : fail('node', `Node ${process.versions.node} is older than 20.19`, 'install Node 22 or 24 LTS');
}

async function checkKeychain(ctx: Context): Promise<Check> {
  const keychain = openKeychain({ env: ctx.io.env });
  if (!keychain) return warn('keychain', 'the keychain is turned off (MCP_SECRETS_KEYCHAIN=none)', 'unset MCP_SECRETS_KEYCHAIN to keep the identity in the OS keychain');
  try {
    const stored = await keychain.listRecipients();
    const reachable = `${keychain.name} reachable, ${stored.length} identit${stored.length === 1 ? 'y' : 'ies'} stored`;
    // a backend switch must not silently "lose" identities stored by the other one
    const backend = keychainBackend(ctx.io.env);
    if (backend === 'none') return ok('keychain', reachable);
    const store = otherKeychainStore(backend);
    const other = await lookIntoOtherBackend(openKeychainStore(store, ctx.io.env), store, stored);
    if (other.onlyThere.length === 0) return ok('keychain', reachable);
    return warn(
      'keychain',
      `${reachable}; the ${store} backend holds ${other.onlyThere.length} more (${other.onlyThere.join(', ')}) that ${keychain.name} cannot see`,
      `copy them (verified, the originals are kept): \`${copyCommand(store)}\``,
    );
  } catch (error) {
    return fail('keychain', `keychain not usable: ${describe(error)}`, isAppError(error) && error.hint ? error.hint : 'see docs/troubleshooting.md#e_keychain');
  }
}

async function bundleBytes(ctx: Context): Promise<{ bytes: Buffer; rel: string; abs: string } | Check> {
  if (!ctx.repo) return fail('bundle', 'no repo: not inside a git work tree and no --repo', 'run doctor from the repo, or pass --repo DIR');
  const plan = planFor(ctx.repo, ctx.options.source, ctx.options.home, ctx.options.engine);
  try {
    return { bytes: await readBundle(plan), rel: plan.sourceRel, abs: plan.sourceAbs };
  } catch (error) {
    return fail('bundle', describe(error), 'check --repo/--source, or check out the branch with the bundle');
  }
}

async function checkIdentityAndBundle(ctx: Context): Promise<Check[]> {
  const bundle = await bundleBytes(ctx);
  if ('level' in bundle) return [bundle];
  const format = formatFromPath(bundle.abs);
  let recipients: string[];
  try {
    recipients = inspect(bundle.bytes, { format, path: bundle.rel }).ageRecipients;
  } catch (error) {
    return [fail('bundle', `${bundle.rel}: ${describe(error)}`, 'fix the file (see the message), or restore it from git')];
  }
  const lookup = ctx.lookup!;
  const matching = lookup.identities.filter((i) => recipients.includes(i.recipient));
  const checks: Check[] = [];
  if (lookup.identities.length === 0) {
    checks.push(fail('identity', `no age identity found (${lookup.attempts.map((a) => `${a.source}: ${a.outcome}`).join('; ')})`, "op read 'op://MCP/SOPS Age key/private' | mcp-secrets identity import"));
  } else if (matching.length === 0) {
    checks.push(fail('identity', `your identities (${lookup.identities.map((i) => i.recipient).join(', ')}) do not match the bundle's recipients (${recipients.join(', ')})`, 'the key was rotated: import the new one with `mcp-secrets identity import`'));
  } else {
    checks.push(ok('identity', `identity from ${matching[0]!.source} opens the bundle (${matching[0]!.recipient})`));
  }
  if (matching.length > 0) {
    try {
      await decrypt(bundle.bytes, { format, identities: matching.map((i) => i.line), path: bundle.rel });
      checks.push(ok('bundle', `${bundle.rel} decrypts and its MAC verifies`));
    } catch (error) {
      checks.push(fail('bundle', `${bundle.rel}: ${describe(error)}`, 'the bundle was altered or damaged: restore it from git (`git checkout -- <bundle>`) and tell the security team'));
    }
  }
  return checks;
}

async function modeOf(p: string): Promise<{ mode: number; uid: number; symlink: boolean } | null> {
  try {
    const s = await lstat(p);
    return { mode: s.mode & 0o777, uid: s.uid, symlink: s.isSymbolicLink() };
  } catch {
    return null;
  }
}

async function checkModes(ctx: Context): Promise<Check[]> {
  const home = ctx.options.home;
  const uid = process.getuid?.() ?? 0;
  const checks: Check[] = [];
  const h = await modeOf(home);
  if (!h) checks.push(warn('home', `${home} does not exist yet`, 'run `mcp-secrets sync` (or start the daemon)'));
  else if (h.uid !== uid) checks.push(fail('home', `${home} is owned by uid ${h.uid}, not you`, `remove it or chown it to yourself`));
  else if (h.mode !== 0o700) checks.push(fail('home', `${home} has mode ${h.mode.toString(8)}, not 700`, `chmod 700 ${home}`));
  else checks.push(ok('home', `${home} is 700 and yours`));
  // every output the repo config lists, and every one this home still holds from earlier configs
  const configured = ctx.repo ? await loadRepoConfig(ctx.repo, readRepoConfigText).then((c) => c.outputs, () => DEFAULT_OUTPUTS) : DEFAULT_OUTPUTS;
  const held = await readOutputsRecord(home).catch(() => []);
  for (const name of [...new Set([...configured.map((o) => o.file), ...held])]) {
    const file = path.join(home, name);
    const m = await modeOf(file);
    if (!m) checks.push(warn(`output:${name}`, `${file} is missing`, 'run `mcp-secrets sync`'));
    else if (m.symlink) checks.push(fail(`output:${name}`, `${file} is a symlink`, 'remove it; the next sync writes a real file'));
    else if (m.mode !== 0o600) checks.push(fail(`output:${name}`, `${file} has mode ${m.mode.toString(8)}, not 600`, `chmod 600 ${file}`));
    else checks.push(ok(`output:${name}`, `${file} is 600`));
  }
  const socketDir = path.dirname(ctx.options.socket);
  const s = await modeOf(socketDir);
  if (s && (s.mode & 0o077) !== 0) checks.push(fail('socket-dir', `${socketDir} has mode ${s.mode.toString(8)}: other users can reach the socket`, `chmod 700 ${socketDir}`));
  else checks.push(ok('socket-dir', s ? `${socketDir} is private` : `${socketDir} will be created 700 by the daemon`));
  return checks;
}

async function checkDaemon(ctx: Context): Promise<Check> {
  try {
    const { getStatus } = await import('../ipc/client.js');
    const status = await getStatus({ socketPath: ctx.options.socket, timeoutMs: 2_000 });
    if (status.state === 'fresh') return ok('daemon', `daemon ${status.daemon.pid} running, outputs fresh (secrets ${status.secretsVersion ?? 'unversioned'})`);
    const error = status.lastSync?.error;
    return fail('daemon', `daemon running but ${status.state}${error ? ` (${error.code}: ${error.message})` : ''}`, 'see `mcp-secrets status` and docs/troubleshooting.md');
  } catch {
    return warn('daemon', `no daemon answers on ${ctx.options.socket}`, 'mcp-secrets service install (or run `mcp-secrets daemon`)');
  }
}

async function checkService(ctx: Context): Promise<Check> {
  let file: string;
  try {
    file = serviceLocations(serviceManagerFor(process.platform), ctx.io.env.HOME ?? os.homedir(), ctx.io.env.XDG_CONFIG_HOME).file;
  } catch (error) {
    return warn('service', describe(error), 'run `mcp-secrets daemon` from your session start-up');
  }
  try {
    await stat(file);
    return ok('service', `login service installed (${file})`);
  } catch {
    return warn('service', 'login service not installed', 'mcp-secrets service install');
  }
}

async function checkBinaries(ctx: Context): Promise<Check[]> {
  const out: Check[] = [];
  for (const [bin, why] of [
    ['sops', 'needed to edit the bundle, and for bundles with only PGP/KMS keys'],
    ['age', 'optional: the reference age CLI'],
    ['gitleaks', 'optional: the security scan of the runbook'],
  ] as const) {
    const r = await execa('sh', ['-c', `command -v ${bin}`], { reject: false, env: ctx.io.env as Record<string, string> });
    out.push(r.exitCode === 0 ? ok(`bin:${bin}`, `${bin} found at ${r.stdout.trim()}`) : warn(`bin:${bin}`, `${bin} not found: ${why}`, `install ${bin}`));
  }
  return out;
}

async function checkGitignore(ctx: Context): Promise<Check> {
  if (!ctx.repo) return warn('gitignore', 'no repo to check', 'run doctor from the repo');
  const probes = ['.env', 'console-secrets.json', 'keys.txt', 'config/secrets.dec.yaml'];
  const notIgnored: string[] = [];
  for (const p of probes) {
    // the user's git config (core.excludesFile) counts too: run git in the caller's environment
    const r = await execa('git', ['-C', ctx.repo, 'check-ignore', '-q', '--no-index', p], { reject: false, env: ctx.io.env as Record<string, string>, extendEnv: false });
    if (r.exitCode !== 0) notIgnored.push(p);
  }
  return notIgnored.length === 0
    ? ok('gitignore', '.gitignore keeps outputs and key files out of the repo')
    : fail('gitignore', `.gitignore does not ignore ${notIgnored.join(', ')}`, `add to .gitignore: ${notIgnored.map((p) => (p.includes('.dec.') ? '*.dec.*' : p)).join(' ')}`);
}

export async function doctorChecks(input: CommandInput, io: CliIo): Promise<Check[]> {
  const options = resolveCommonOptions(input.values, io.env, io.cwd);
  let repo: string | null = null;
  try {
    repo = await resolveRepo({ repoFlag: options.repoFlag, cwd: io.cwd });
  } catch {
    repo = null;
  }
  const lookup = await identityLookup({ env: io.env, cache: false, onNotice: () => {} })();
  const ctx: Context = { options, io, repo, lookup };
  return [
    await checkNode(),
    await checkKeychain(ctx),
    ...(await checkIdentityAndBundle(ctx)),
    ...(await checkModes(ctx)),
    await checkDaemon(ctx),
    await checkService(ctx),
    ...(await checkBinaries(ctx)),
    await checkGitignore(ctx),
  ];
}

const MARK: Record<CheckLevel, string> = { ok: 'ok  ', warn: 'warn', fail: 'FAIL' };

export async function runDoctor(input: CommandInput, io: CliIo): Promise<number> {
  const checks = await doctorChecks(input, io);
  const failed = checks.some((c) => c.level === 'fail');
  if (input.values.json === true) io.stdout(JSON.stringify({ ok: !failed, checks }, null, 2) + '\n');
  // messages quote paths, keychain errors and tool output: escaped, one line each
  else for (const c of checks) io.stdout(`${MARK[c.level]}  ${oneLine(c.message)}${c.fix ? `\n      fix: ${oneLine(c.fix)}` : ''}\n`);
  return failed ? EXIT.FAILED : EXIT.OK;
}
