/**
 * Installs, removes and inspects the login service through the OS service manager
 * (`systemctl --user …`, `launchctl …`). Every command goes through the `run` seam; a dry run
 * prints the file and the commands and does nothing else.
 *
 * Outcomes are returned as data, not thrown: "no user service manager here" and "systemctl
 * failed" are expected situations the CLI explains, with the manual command to run instead.
 */
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { StatusDocument } from '../ipc/status.js';
import { READ_LIMITS, readBoundedText } from '../fsx/read-bounded.js';
import type { ServiceLocations } from './platform.js';
import { LAUNCHD_LABEL, SYSTEMD_UNIT_NAME, daemonArgv, renderLaunchdPlist, renderSystemdUnit, shellQuote, type DaemonLaunchSpec } from './render.js';

export interface RunResult {
  /** undefined when the program could not be started (see `spawnError`). */
  exitCode: number | undefined;
  stdout: string;
  stderr: string;
  /** e.g. `ENOENT` when the program is missing. */
  spawnError?: string;
}

/** Runs a program with arguments (no shell) and never throws for a non-zero exit. */
export type RunCommand = (command: string, args: readonly string[]) => Promise<RunResult>;

export interface ServiceManagerDeps {
  locations: ServiceLocations;
  uid: number;
  run: RunCommand;
  /** The template text for this kind of service manager. */
  readTemplate: () => Promise<string>;
  /**
   * Asks the daemon for its status, waiting up to timeoutMs for it to answer. Undefined: this
   * build cannot ask (the status is reported as not checked). Returns null when no answer came.
   */
  waitForDaemon?: (opts: { timeoutMs: number }) => Promise<StatusDocument | null>;
}

export type DaemonCheck = { checked: false } | { checked: true; status: StatusDocument | null };

export type InstallOutcome =
  | { kind: 'dry-run'; file: string; content: string; commands: string[] }
  | { kind: 'installed'; file: string; changed: boolean; commands: string[]; daemon: DaemonCheck }
  | { kind: 'no-service-manager'; file: string; detail: string; manualCommand: string }
  | { kind: 'failed'; file: string; command: string; detail: string };

export type UninstallOutcome =
  | { kind: 'dry-run'; file: string; commands: string[] }
  | { kind: 'uninstalled'; file: string; commands: string[]; note: string | null }
  | { kind: 'not-installed'; file: string }
  | { kind: 'failed'; file: string; command: string; detail: string };

export interface ServiceStatusReport {
  manager: 'systemd' | 'launchd';
  file: string;
  installed: boolean;
  /** null when the service manager could not be asked. */
  enabled: boolean | null;
  running: boolean | null;
  /** The manager's own words: `active`, `failed`, `running`, … */
  managerState: string | null;
  /** Why the manager could not be asked, when it could not. */
  managerUnavailable: string | null;
  daemon: DaemonCheck;
}

const INSTALL_WAIT_MS = 10_000;
const STATUS_WAIT_MS = 1_500;

/** systemctl's ways of saying there is no user manager to talk to. */
const NO_USER_MANAGER =
  /Failed to connect to (the )?bus|No medium found|System has not been booted with systemd|Failed to connect to user scope bus|DBUS_SESSION_BUS_ADDRESS|XDG_RUNTIME_DIR.*not (set|defined)/i;

function commandLine(command: string, args: readonly string[]): string {
  return [command, ...args].map(shellQuote).join(' ');
}

function firstLine(text: string): string {
  return (text.split('\n').find((l) => l.trim().length > 0) ?? '').trim().slice(0, 200);
}

function unavailableReason(result: RunResult, program: string): string | null {
  if (result.spawnError === 'ENOENT') return `${program} is not installed`;
  if (result.exitCode !== 0 && NO_USER_MANAGER.test(result.stderr)) return `${program} said: ${firstLine(result.stderr)}`;
  return null;
}

/** The command a person can run instead of a service, shell-quoted. */
export function manualDaemonCommand(spec: DaemonLaunchSpec): string {
  return daemonArgv(spec).map(shellQuote).join(' ');
}

async function readIfExists(file: string): Promise<string | null> {
  try {
    return await readBoundedText(file, { limit: READ_LIMITS.serviceFile, followSymlinks: true, what: 'the service file' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
}

/** Writes the service file through a temp file and a rename; 0644 (it holds no secret). */
async function writeServiceFile(file: string, content: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    await writeFile(temp, content, { mode: 0o644, flag: 'wx' });
    await chmod(temp, 0o644);
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

async function render(spec: DaemonLaunchSpec, deps: ServiceManagerDeps): Promise<string> {
  const template = await deps.readTemplate();
  const { locations } = deps;
  if (locations.kind === 'systemd') return renderSystemdUnit(template, spec);
  const logDir = locations.logDir ?? '';
  return renderLaunchdPlist(template, spec, { stdoutPath: path.join(logDir, 'daemon.out.log'), stderrPath: path.join(logDir, 'daemon.err.log') });
}

async function checkDaemon(deps: ServiceManagerDeps, timeoutMs: number): Promise<DaemonCheck> {
  if (deps.waitForDaemon === undefined) return { checked: false };
  return { checked: true, status: await deps.waitForDaemon({ timeoutMs }) };
}

/**
 * Renders the service file for this OS, writes it when it differs, and has the service manager
 * enable and (re)start it; then waits for the daemon to answer. Safe to run again: an identical
 * file is not rewritten.
 */
export async function installService(spec: DaemonLaunchSpec, deps: ServiceManagerDeps, opts: { dryRun: boolean }): Promise<InstallOutcome> {
  const { file } = deps.locations;
  const content = await render(spec, deps);
  const target = `gui/${deps.uid}`;
  if (opts.dryRun) {
    const commands =
      deps.locations.kind === 'systemd'
        ? [commandLine('systemctl', ['--user', 'daemon-reload']), commandLine('systemctl', ['--user', 'enable', '--now', SYSTEMD_UNIT_NAME])]
        : [`${commandLine('launchctl', ['bootout', `${target}/${LAUNCHD_LABEL}`])}   # only when already loaded`, commandLine('launchctl', ['bootstrap', target, file])];
    return { kind: 'dry-run', file, content, commands };
  }

  const previous = await readIfExists(file);
  const changed = previous !== content;
  return deps.locations.kind === 'systemd'
    ? installSystemd(spec, deps, content, previous, changed)
    : installLaunchd(spec, deps, content, previous, changed);
}

async function installSystemd(spec: DaemonLaunchSpec, deps: ServiceManagerDeps, content: string, previous: string | null, changed: boolean): Promise<InstallOutcome> {
  const { file } = deps.locations;
  if (changed) await writeServiceFile(file, content);
  const ran: string[] = [];
  // A unit that changed while running must be restarted to take effect; enable --now alone would not.
  const steps: string[][] = [['--user', 'daemon-reload'], ['--user', 'enable', '--now', SYSTEMD_UNIT_NAME]];
  if (changed && previous !== null) steps.push(['--user', 'restart', SYSTEMD_UNIT_NAME]);
  for (const args of steps) {
    const result = await deps.run('systemctl', args);
    const unavailable = unavailableReason(result, 'systemctl');
    if (unavailable !== null) {
      // Leave the machine as it was: a unit we just created, nobody can use.
      if (previous === null) await rm(file, { force: true });
      return { kind: 'no-service-manager', file, detail: `systemd --user is not available (${unavailable})`, manualCommand: manualDaemonCommand(spec) };
    }
    if (result.exitCode !== 0) return { kind: 'failed', file, command: commandLine('systemctl', args), detail: firstLine(result.stderr) || `exit ${result.exitCode}` };
    ran.push(commandLine('systemctl', args));
  }
  return { kind: 'installed', file, changed, commands: ran, daemon: await checkDaemon(deps, INSTALL_WAIT_MS) };
}

async function launchdLoaded(deps: ServiceManagerDeps): Promise<RunResult> {
  return deps.run('launchctl', ['print', `gui/${deps.uid}/${LAUNCHD_LABEL}`]);
}

async function installLaunchd(spec: DaemonLaunchSpec, deps: ServiceManagerDeps, content: string, previous: string | null, changed: boolean): Promise<InstallOutcome> {
  const { file, logDir } = deps.locations;
  const target = `gui/${deps.uid}`;
  const probe = await launchdLoaded(deps);
  if (probe.spawnError === 'ENOENT') {
    return { kind: 'no-service-manager', file, detail: 'launchctl is not available', manualCommand: manualDaemonCommand(spec) };
  }
  const loaded = probe.exitCode === 0;
  if (logDir !== null) await mkdir(logDir, { recursive: true, mode: 0o700 });
  if (changed) await writeServiceFile(file, content);
  const ran: string[] = [];
  if (changed || !loaded) {
    const steps: string[][] = [];
    if (loaded) steps.push(['bootout', `${target}/${LAUNCHD_LABEL}`]);
    steps.push(['bootstrap', target, file]);
    for (const args of steps) {
      const result = await deps.run('launchctl', args);
      if (result.exitCode !== 0) {
        if (previous === null) await rm(file, { force: true });
        return { kind: 'failed', file, command: commandLine('launchctl', args), detail: firstLine(result.stderr) || `exit ${String(result.exitCode)}` };
      }
      ran.push(commandLine('launchctl', args));
    }
  }
  return { kind: 'installed', file, changed, commands: ran, daemon: await checkDaemon(deps, INSTALL_WAIT_MS) };
}

/** Stops and disables the service and removes its file. Running it when nothing is installed is fine. */
export async function uninstallService(deps: ServiceManagerDeps, opts: { dryRun: boolean }): Promise<UninstallOutcome> {
  const { file, kind } = deps.locations;
  const target = `gui/${deps.uid}`;
  if (opts.dryRun) {
    const commands =
      kind === 'systemd'
        ? [commandLine('systemctl', ['--user', 'disable', '--now', SYSTEMD_UNIT_NAME]), commandLine('rm', [file]), commandLine('systemctl', ['--user', 'daemon-reload'])]
        : [`${commandLine('launchctl', ['bootout', `${target}/${LAUNCHD_LABEL}`])}   # only when loaded`, commandLine('rm', [file])];
    return { kind: 'dry-run', file, commands };
  }
  if ((await readIfExists(file)) === null) return { kind: 'not-installed', file };

  const ran: string[] = [];
  if (kind === 'systemd') {
    const disable = ['--user', 'disable', '--now', SYSTEMD_UNIT_NAME];
    const result = await deps.run('systemctl', disable);
    const unavailable = unavailableReason(result, 'systemctl');
    if (unavailable === null && result.exitCode !== 0) {
      return { kind: 'failed', file, command: commandLine('systemctl', disable), detail: firstLine(result.stderr) || `exit ${result.exitCode}` };
    }
    await rm(file, { force: true });
    if (unavailable !== null) {
      return { kind: 'uninstalled', file, commands: [commandLine('rm', [file])], note: `systemd --user is not available (${unavailable}), so nothing was running; the unit file is removed` };
    }
    ran.push(commandLine('systemctl', disable), commandLine('rm', [file]));
    const reload = ['--user', 'daemon-reload'];
    const reloaded = await deps.run('systemctl', reload);
    if (reloaded.exitCode !== 0) return { kind: 'failed', file, command: commandLine('systemctl', reload), detail: firstLine(reloaded.stderr) };
    ran.push(commandLine('systemctl', reload));
    return { kind: 'uninstalled', file, commands: ran, note: null };
  }

  const probe = await launchdLoaded(deps);
  if (probe.exitCode === 0) {
    const bootout = ['bootout', `${target}/${LAUNCHD_LABEL}`];
    const result = await deps.run('launchctl', bootout);
    if (result.exitCode !== 0) return { kind: 'failed', file, command: commandLine('launchctl', bootout), detail: firstLine(result.stderr) };
    ran.push(commandLine('launchctl', bootout));
  }
  await rm(file, { force: true });
  ran.push(commandLine('rm', [file]));
  return { kind: 'uninstalled', file, commands: ran, note: deps.locations.logDir ? `logs are kept in ${deps.locations.logDir}` : null };
}

/** Installed, enabled, running (from the service manager) and the daemon's own state. */
export async function serviceStatus(deps: ServiceManagerDeps): Promise<ServiceStatusReport> {
  const { file, kind } = deps.locations;
  const installed = (await readIfExists(file)) !== null;
  const report: ServiceStatusReport = { manager: kind, file, installed, enabled: null, running: null, managerState: null, managerUnavailable: null, daemon: { checked: false } };
  if (kind === 'systemd') {
    const enabled = await deps.run('systemctl', ['--user', 'is-enabled', SYSTEMD_UNIT_NAME]);
    const unavailable = unavailableReason(enabled, 'systemctl');
    if (unavailable !== null) report.managerUnavailable = `systemd --user is not available (${unavailable})`;
    else {
      const active = await deps.run('systemctl', ['--user', 'is-active', SYSTEMD_UNIT_NAME]);
      report.enabled = enabled.stdout.trim() === 'enabled';
      report.managerState = active.stdout.trim() || null;
      report.running = report.managerState === 'active';
    }
  } else {
    const probe = await launchdLoaded(deps);
    if (probe.spawnError === 'ENOENT') report.managerUnavailable = 'launchctl is not available';
    else {
      const disabled = await deps.run('launchctl', ['print-disabled', `gui/${deps.uid}`]);
      const label = LAUNCHD_LABEL.replace(/\./g, '\\.');
      report.enabled = installed && !new RegExp(`"${label}"\\s*=>\\s*(true|disabled)`).test(disabled.stdout);
      const state = probe.exitCode === 0 ? /^\s*state = (\S+)/m.exec(probe.stdout)?.[1] ?? 'loaded' : 'not loaded';
      report.managerState = state;
      report.running = state === 'running';
    }
  }
  report.daemon = await checkDaemon(deps, STATUS_WAIT_MS);
  return report;
}
