/**
 * `mcp-secrets service install|uninstall|status`: the login service (systemd --user, launchd).
 *
 * Exit codes: 0 done (status: running, and the daemon answered when it could be asked);
 * 2 the service manager is missing or refused (nothing installed; the manual command is printed);
 * 3 the service is not running or its daemon did not answer; 64 usage.
 */
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { AppError, EXIT } from '../errors.js';
import { resolveCommonOptions } from '../config/options.js';
import type { StatusDocument } from '../ipc/status.js';
import { keychainBackend } from '../identity/keychain/index.js';
import { refuseEphemeralCliLocation } from '../service/cli-location.js';
import { installService, serviceStatus, uninstallService, type DaemonCheck, type RunCommand, type ServiceManagerDeps } from '../service/manager.js';
import { nodeUpgradeWarning, resolveNodeBinary } from '../service/node-binary.js';
import { serviceLocations, serviceManagerFor } from '../service/platform.js';
import type { DaemonLaunchSpec } from '../service/render.js';
import { resolveRepo } from '../config/repo.js';
import { readServiceTemplate } from '../service/templates.js';
import { jsonDocument } from './report.js';
import type { CliIo, Command, CommandInput } from './types.js';

export interface ServiceCommandDeps {
  platform: NodeJS.Platform;
  uid: () => number;
  /** The node binary to run the daemon with (default process.execPath; resolved with realpath). */
  execPath: string;
  /** The CLI entry script (default this package's dist/src/main.js). */
  cliPath: string;
  /** Where the templates are (default: the package's service/ directory). */
  templateDir?: string;
  /** Runs systemctl/launchctl (default: execa with the CLI's environment, no shell). */
  makeRun: (env: Readonly<Record<string, string | undefined>>) => RunCommand;
  /** Refuses a CLI path the service must not point at (npx or npm cache, temp dir); default: the real check. */
  checkCliPath?: (cliPath: string, env: Readonly<Record<string, string | undefined>>) => void;
  /** Asks the daemon on `socket` for its status; the lead wires the IPC client here. Undefined: not checked. */
  waitForDaemon?: (opts: { timeoutMs: number; socket: string }) => Promise<StatusDocument | null>;
}

const SUBCOMMANDS = ['install', 'uninstall', 'status'] as const;
type Subcommand = (typeof SUBCOMMANDS)[number];

const FALLBACK_PATH = '/usr/local/bin:/usr/bin:/bin';

/** The default `run`: execa, argv only, the given environment, a timeout so a hung manager cannot hang us. */
export function execaRun(env: Readonly<Record<string, string | undefined>>): RunCommand {
  return async (command, args) => {
    const result = await execa(command, [...args], { env: { ...env }, extendEnv: false, reject: false, stdin: 'ignore', timeout: 30_000, encoding: 'utf8' });
    return {
      exitCode: result.exitCode,
      stdout: String(result.stdout ?? ''),
      stderr: String(result.stderr ?? ''),
      ...(result.code !== undefined && result.exitCode === undefined ? { spawnError: result.code } : {}),
    };
  };
}

/** PATH for the daemon: the installing shell's absolute entries, deduplicated. */
export function servicePath(envPath: string | undefined): string {
  const entries = (envPath ?? '').split(':').filter((p) => p.startsWith('/'));
  const unique = [...new Set(entries)];
  return unique.length > 0 ? unique.join(':') : FALLBACK_PATH;
}

function describeDaemon(check: DaemonCheck): string {
  if (!check.checked) return 'daemon: status not checked; run `mcp-secrets status`';
  const s = check.status;
  if (s === null) return 'daemon: did not answer';
  const parts = [`daemon: ${s.state}`];
  if (s.secretsVersion) parts.push(`secrets ${s.secretsVersion}`);
  parts.push(`${s.entries} entries`, `pid ${s.daemon.pid}`);
  return parts.join(' · ');
}

function logsHint(kind: 'systemd' | 'launchd', logDir: string | null): string {
  return kind === 'systemd' ? 'see its log: journalctl --user -u mcp-secrets.service -e' : `see its log: ${logDir ?? '~/Library/Logs/mcp-secrets'}/daemon.err.log`;
}

function yesNo(v: boolean | null): string {
  return v === null ? 'unknown' : v ? 'yes' : 'no';
}

async function runService(sub: Subcommand, input: CommandInput, io: CliIo, deps: ServiceCommandDeps): Promise<number> {
  const options = resolveCommonOptions(input.values, io.env, io.cwd);
  const dryRun = input.values['dry-run'] === true;
  const kind = serviceManagerFor(deps.platform);
  const userHome = io.env.HOME && io.env.HOME.startsWith('/') ? io.env.HOME : os.homedir();
  const locations = serviceLocations(kind, userHome, io.env.XDG_CONFIG_HOME);
  const managerDeps: ServiceManagerDeps = {
    locations,
    uid: deps.uid(),
    run: deps.makeRun(io.env),
    readTemplate: () => readServiceTemplate(kind, deps.templateDir),
    ...(deps.waitForDaemon && input.values['no-wait'] !== true ? { waitForDaemon: (o: { timeoutMs: number }) => deps.waitForDaemon!({ ...o, socket: options.socket }) } : {}),
  };
  const print = (value: unknown) => io.stdout(jsonDocument(value));

  if (sub === 'install') {
    (deps.checkCliPath ?? ((cliPath, env) => refuseEphemeralCliLocation(cliPath, { env })))(deps.cliPath, io.env);
    const keychain = keychainBackend(io.env);
    const repo = await resolveRepo({ repoFlag: options.repoFlag, cwd: io.cwd });
    const node = await resolveNodeBinary(deps.execPath, userHome);
    const warning = nodeUpgradeWarning(node);
    if (warning) io.stderr(`mcp-secrets service: note: ${warning}\n`);
    const spec: DaemonLaunchSpec = { nodePath: node.path, cliPath: deps.cliPath, repo, home: options.home, socket: options.socket, pathEnv: servicePath(io.env.PATH), keychain };
    const outcome = await installService(spec, managerDeps, { dryRun });
    if (options.json) print(outcome);
    switch (outcome.kind) {
      case 'dry-run':
        if (!options.json) io.stdout(`# dry run: would write ${outcome.file} (mode 0644):\n${outcome.content}\n# then run:\n${outcome.commands.map((c) => `${c}\n`).join('')}`);
        return EXIT.OK;
      case 'installed': {
        if (!options.json) {
          io.stdout(`${outcome.changed ? 'wrote' : 'unchanged'} ${outcome.file}\n${outcome.commands.map((c) => `ran: ${c}\n`).join('')}${describeDaemon(outcome.daemon)}\n`);
          if (outcome.daemon.checked && outcome.daemon.status === null) io.stderr(`mcp-secrets service: the daemon did not answer; ${logsHint(kind, locations.logDir)}\n`);
        }
        return outcome.daemon.checked && outcome.daemon.status === null ? EXIT.UNREACHABLE : EXIT.OK;
      }
      case 'no-service-manager':
        if (!options.json) {
          io.stderr(
            `mcp-secrets service: ${outcome.detail}; nothing was installed.\n` +
              `Run the daemon yourself instead, in a terminal or from your session start-up:\n  ${outcome.manualCommand}\n` +
              `or in the background:\n  nohup ${outcome.manualCommand} >/dev/null 2>&1 &\n`,
          );
        }
        return EXIT.FAILED;
      case 'failed':
        if (!options.json) io.stderr(`mcp-secrets service: ${outcome.command} failed: ${outcome.detail}\n`);
        return EXIT.FAILED;
    }
  }

  if (sub === 'uninstall') {
    const outcome = await uninstallService(managerDeps, { dryRun });
    if (options.json) print(outcome);
    else if (outcome.kind === 'dry-run') io.stdout(`# dry run: would run:\n${outcome.commands.map((c) => `${c}\n`).join('')}`);
    else if (outcome.kind === 'not-installed') io.stdout(`not installed: ${outcome.file}\n`);
    else if (outcome.kind === 'uninstalled') io.stdout(`${outcome.commands.map((c) => `ran: ${c}\n`).join('')}${outcome.note ? `${outcome.note}\n` : ''}removed ${outcome.file}\n`);
    else io.stderr(`mcp-secrets service: ${outcome.command} failed: ${outcome.detail}\n`);
    return outcome.kind === 'failed' ? EXIT.FAILED : EXIT.OK;
  }

  const report = await serviceStatus(managerDeps);
  const healthy = report.installed && report.running === true && (!report.daemon.checked || report.daemon.status !== null);
  if (options.json) print(report);
  else {
    io.stdout(
      [
        `service: ${report.manager} ${report.file}`,
        `installed: ${yesNo(report.installed)}`,
        ...(report.managerUnavailable ? [`manager: ${report.managerUnavailable}`] : [`enabled: ${yesNo(report.enabled)}`, `running: ${yesNo(report.running)}${report.managerState ? ` (${report.managerState})` : ''}`]),
        describeDaemon(report.daemon),
        '',
      ].join('\n'),
    );
    if (report.installed && report.running === false) io.stderr(`mcp-secrets service: not running; ${logsHint(kind, locations.logDir)}\n`);
    if (!report.installed) io.stderr('mcp-secrets service: not installed; run `mcp-secrets service install`\n');
  }
  return healthy ? EXIT.OK : EXIT.UNREACHABLE;
}

/** Builds the command with its collaborators; the default export uses the real ones. */
export function createServiceCommand(overrides: Partial<ServiceCommandDeps> = {}): Command {
  return {
    run: async (input, io) => {
      const sub = input.positionals[0];
      if (sub === undefined || !(SUBCOMMANDS as readonly string[]).includes(sub)) {
        throw new AppError('E_USAGE', `mcp-secrets service: expected install, uninstall or status${sub === undefined ? '' : `, not "${sub.slice(0, 40)}"`}`, {
          hint: 'e.g. mcp-secrets service install --dry-run',
        });
      }
      const deps: ServiceCommandDeps = {
        platform: process.platform,
        uid: () => process.getuid?.() ?? 0,
        execPath: process.execPath,
        cliPath: fileURLToPath(new URL('../main.js', import.meta.url)),
        makeRun: execaRun,
        ...overrides,
      };
      return runService(sub as Subcommand, input, io, deps);
    },
  };
}

/**
 * States a just-started daemon passes through before its first sync has an outcome (`stale`: a
 * sync is due or queued, e.g. a change seen right after start).
 */
const SETTLING = new Set(['starting', 'syncing', 'stale']);

/**
 * Polls the daemon's socket until its first sync has an outcome (fresh, locked, error …), so that
 * install reports that outcome rather than "syncing". At the timeout: the last status it answered
 * with, or null when it never answered.
 */
async function waitForDaemon(opts: { timeoutMs: number; socket: string }): Promise<StatusDocument | null> {
  const { getStatus } = await import('../ipc/client.js');
  const deadline = Date.now() + opts.timeoutMs;
  let last: StatusDocument | null = null;
  while (Date.now() < deadline) {
    try {
      last = await getStatus({ socketPath: opts.socket, timeoutMs: 1_000 });
      if (!SETTLING.has(last.state)) return last;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return last;
}

export default createServiceCommand({ waitForDaemon });
