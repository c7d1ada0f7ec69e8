/**
 * Which service manager this OS has, and where its per-user service file lives.
 * Linux: systemd --user. macOS: a launchd LaunchAgent. Anything else: not supported yet
 * (service/README.md has the Windows plan).
 */
import path from 'node:path';
import { AppError } from '../errors.js';
import { LAUNCHD_LABEL, SYSTEMD_UNIT_NAME } from './render.js';

export type ServiceManagerKind = 'systemd' | 'launchd';

export function serviceManagerFor(platform: NodeJS.Platform): ServiceManagerKind {
  if (platform === 'linux') return 'systemd';
  if (platform === 'darwin') return 'launchd';
  throw new AppError('E_USAGE', `mcp-secrets service is not supported on ${platform} yet`, {
    hint:
      platform === 'win32'
        ? 'run `mcp-secrets daemon` at logon yourself (e.g. a Task Scheduler task "At log on"); service/README.md describes the planned Windows support'
        : 'run `mcp-secrets daemon` from your session start-up instead',
  });
}

export interface ServiceLocations {
  kind: ServiceManagerKind;
  /** The service file install writes. */
  file: string;
  /** launchd only: where StandardOutPath/StandardErrorPath point. */
  logDir: string | null;
}

/**
 * Per-user locations. systemd reads `$XDG_CONFIG_HOME/systemd/user` (default `~/.config`);
 * launchd reads `~/Library/LaunchAgents`, and our logs go under `~/Library/Logs/mcp-secrets`.
 */
export function serviceLocations(kind: ServiceManagerKind, userHome: string, xdgConfigHome?: string): ServiceLocations {
  if (kind === 'systemd') {
    const config = xdgConfigHome && path.isAbsolute(xdgConfigHome) ? xdgConfigHome : path.join(userHome, '.config');
    return { kind, file: path.join(config, 'systemd', 'user', SYSTEMD_UNIT_NAME), logDir: null };
  }
  return {
    kind,
    file: path.join(userHome, 'Library', 'LaunchAgents', `${LAUNCHD_LABEL}.plist`),
    logDir: path.join(userHome, 'Library', 'Logs', 'mcp-secrets'),
  };
}
