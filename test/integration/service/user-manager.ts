/**
 * A real systemd user manager for tests, on a machine whose PID 1 is not systemd (containers):
 * `systemd --user` refuses to start unless /run/systemd/system exists, so it runs in a private
 * mount namespace (`unshare -m`, needs root) with its own tmpfs on /run, and with a temp HOME and
 * XDG_RUNTIME_DIR. systemctl --user outside that namespace talks to it through
 * $XDG_RUNTIME_DIR/systemd/private. Nothing on the host changes.
 */
import { access, chmod, mkdir, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';

export interface UserManager {
  home: string;
  runtimeDir: string;
  env: Record<string, string>;
  stop(): Promise<void>;
}

const SYSTEMD = '/lib/systemd/systemd';

async function poll(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

/** Starts a manager, or returns why it cannot (missing tool, no privilege). */
export async function startUserManager(): Promise<UserManager | string> {
  if (process.getuid?.() !== 0) return 'a private mount namespace needs root (unshare -m)';
  if (!(await access(SYSTEMD).then(() => true, () => false))) return `${SYSTEMD} is missing`;
  const root = await mkdtemp(path.join(os.tmpdir(), 'mcp-usermgr-'));
  const home = path.join(root, 'home');
  const runtimeDir = path.join(root, 'run');
  await mkdir(home);
  await mkdir(runtimeDir);
  await chmod(runtimeDir, 0o700);
  const env = { HOME: home, XDG_RUNTIME_DIR: runtimeDir, PATH: process.env.PATH ?? '/usr/bin:/bin' };
  const child: ResultPromise = execa('unshare', ['-m', 'sh', '-c', `mount -t tmpfs tmpfs /run && mkdir -p /run/systemd/system && exec ${SYSTEMD} --user`], {
    env,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    forceKillAfterDelay: 5_000,
  });
  const stop = async () => {
    child.kill('SIGTERM');
    await child;
    await rm(root, { recursive: true, force: true });
  };
  const up = await poll(async () => {
    if (child.exitCode !== null) return true;
    const r = await execa('systemctl', ['--user', 'show-environment'], { env, extendEnv: false, reject: false });
    return r.exitCode === 0;
  }, 10_000);
  if (!up || child.exitCode !== null) {
    const result = await (child.exitCode !== null ? child : (child.kill('SIGTERM'), child));
    await rm(root, { recursive: true, force: true });
    return `systemd --user did not start: ${String(result.stderr ?? '').split('\n')[0] ?? ''}`.trim();
  }
  return { home, runtimeDir, env, stop };
}

export { poll };
