/**
 * A private D-Bus session with a real Secret Service (gnome-keyring) for keychain tests.
 *
 * Each session has its own bus, its own XDG_DATA_HOME (where the keyring file lives) and
 * XDG_RUNTIME_DIR, all in a temp dir; HOME is left alone. Child processes join it through the
 * returned `env`. Modes:
 * - `unlocked`: gnome-keyring started with a password on stdin, so the login collection exists
 *   and is unlocked (an EMPTY password would need a GUI prompt);
 * - `no-login`: gnome-keyring started without --unlock: there is no login collection;
 * - `no-secret-service`: a bus whose configuration has no service directories, so nothing can
 *   be activated as org.freedesktop.secrets.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { access, chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { execa } from 'execa';
import test, { type ExecutionContext } from 'ava';

export type KeyringMode = 'unlocked' | 'no-login' | 'no-secret-service';

export interface KeyringSession {
  /** Variables a child needs to use this session's bus. */
  readonly env: Readonly<Record<string, string>>;
  /** The temp dir holding the keyring's data and runtime dirs (for leak scans). */
  readonly dir: string;
  /** Locks the login collection, as a screen locker would. */
  lock(): Promise<void>;
  /** Ends the bus (gnome-keyring exits with it) and removes the temp dir. */
  stop(): Promise<void>;
}

const TOOLS = ['dbus-run-session', 'dbus-send', 'gnome-keyring-daemon'];

async function onPath(tool: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter)) {
    try {
      await access(path.join(dir, tool));
      return true;
    } catch {
      // try the next directory
    }
  }
  return false;
}

/** Why a real keyring cannot be used here with the default backend (@napi-rs/keyring), or null when it can. */
export async function keyringUnavailable(): Promise<string | null> {
  for (const tool of TOOLS) if (!(await onPath(tool))) return `${tool} is not installed (bash scripts/test.sh installs it)`;
  try {
    const napi = (await import('@napi-rs/keyring')) as { AsyncEntry?: unknown };
    if (typeof napi.AsyncEntry !== 'function') return '@napi-rs/keyring has no AsyncEntry';
  } catch (error) {
    return `@napi-rs/keyring cannot be loaded (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`;
  }
  return null;
}

/** A variable, so that tsc never looks for keytar (an optional peer dependency) or its types. */
const KEYTAR_MODULE: string = 'keytar';

/** Why keytar cannot be loaded here, or null when it can. */
export async function keytarUnavailable(): Promise<string | null> {
  try {
    const keytar = (await import(KEYTAR_MODULE)) as { default?: { getPassword?: unknown }; getPassword?: unknown };
    if (typeof (keytar.default ?? keytar).getPassword !== 'function') return 'keytar has no getPassword';
  } catch (error) {
    return `keytar cannot be loaded (${error instanceof Error ? error.message.split('\n')[0] : String(error)})`;
  }
  return null;
}

type Register = (title: string, fn: (t: ExecutionContext) => Promise<void>) => void;

function failing(why: string): Register {
  return (title) =>
    test(title, (t) => {
      t.fail(why);
    });
}

/**
 * Registers tests that need a real keyring (default backend): as serial tests when one is
 * available, otherwise as FAILING tests, everywhere: a keychain test that cannot run proves nothing.
 */
export async function keyringTests(): Promise<Register> {
  const missing = await keyringUnavailable();
  if (missing === null) return (title, fn) => test.serial(title, fn);
  return failing(`needs a real keyring, but ${missing}`);
}

/**
 * Registers tests of the keytar backend against the real keyring. keytar is an optional peer
 * dependency: where it is not installed these are skipped with a visible note, unless
 * MCP_SECRETS_REQUIRE_KEYTAR=1 (set by scripts/test.sh, which installs it) turns a missing keytar
 * into failures. A missing keyring is a failure either way.
 */
export async function keytarTests(): Promise<Register> {
  const missing = (await keyringUnavailable()) ?? (await keytarUnavailable());
  if (missing === null) return (title, fn) => test.serial(title, fn);
  const keytarMissing = (await keyringUnavailable()) === null;
  if (keytarMissing && process.env.MCP_SECRETS_REQUIRE_KEYTAR !== '1') {
    console.warn(`note: keytar backend tests skipped: ${missing} (keytar is optional; scripts/test.sh installs it and sets MCP_SECRETS_REQUIRE_KEYTAR=1)`);
    return (title, fn) => test.skip(title, fn);
  }
  return failing(`needs keytar and a real keyring, but ${missing}${keytarMissing ? ' (MCP_SECRETS_REQUIRE_KEYTAR=1: this must not be skipped)' : ''}`);
}

const NO_SERVICES_CONFIG = (socketDir: string) => `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir=${socketDir}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`;

const SCRIPT = `
set -e
case "$MCP_KR_MODE" in
  unlocked) printf %s "$MCP_KR_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets >/dev/null ;;
  no-login) gnome-keyring-daemon --start --components=secrets >/dev/null ;;
esac
if [ "$MCP_KR_MODE" != no-secret-service ]; then
  for i in $(seq 100); do
    dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \\
      org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true" && break
    sleep 0.05
  done
fi
echo "READY $DBUS_SESSION_BUS_ADDRESS"
exec cat >/dev/null
`;

/** Starts a private session in the given mode; resolves once the Secret Service answers. */
export async function startKeyringSession(mode: KeyringMode = 'unlocked'): Promise<KeyringSession> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcp-secrets-keyring-'));
  await chmod(dir, 0o700);
  const data = path.join(dir, 'data');
  const run = path.join(dir, 'run');
  await mkdir(data, { mode: 0o700 });
  await mkdir(run, { mode: 0o700 });
  const args: string[] = [];
  if (mode === 'no-secret-service') {
    const config = path.join(dir, 'bus.conf');
    await writeFile(config, NO_SERVICES_CONFIG(run));
    args.push(`--config-file=${config}`);
  }
  const child: ChildProcessWithoutNullStreams = spawn('dbus-run-session', [...args, '--', 'bash', '-c', SCRIPT], {
    env: { ...process.env, XDG_DATA_HOME: data, XDG_RUNTIME_DIR: run, MCP_KR_MODE: mode, MCP_KR_PASSWORD: 'test-keyring-password' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  child.stderr.resume(); // gnome-keyring and dbus chatter; not needed
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('keyring session did not start within 15 s')), 15_000);
    child.once('exit', (code) => reject(new Error(`dbus-run-session exited early (${code})`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      if (!line.startsWith('READY ')) return;
      clearTimeout(timer);
      resolve(line.slice('READY '.length));
    });
  });
  const env = { DBUS_SESSION_BUS_ADDRESS: address, XDG_RUNTIME_DIR: run };
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    env,
    dir,
    async lock() {
      await execa(
        'dbus-send',
        ['--session', '--print-reply', '--dest=org.freedesktop.secrets', '/org/freedesktop/secrets', 'org.freedesktop.Secret.Service.Lock', 'array:objpath:/org/freedesktop/secrets/collection/login'],
        { env: { ...process.env, ...env } },
      );
    },
    async stop() {
      child.stdin.end();
      const timer = setTimeout(() => child.kill('SIGTERM'), 5000);
      await exited;
      clearTimeout(timer);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/**
 * A private unlocked keyring for one test file: started before its tests, stopped after, and
 * its bus put in this process's environment (so the file's own keychain reads, and the children
 * it starts with the ambient bus, use it). Returns the session once started (null when the
 * keyring is unavailable: `keyringTests()` then fails the tests).
 */
export function usePrivateKeyring(register: { before(fn: () => Promise<void>): void; after: { always(fn: () => Promise<void>): void } }): () => KeyringSession | null {
  let session: KeyringSession | null = null;
  register.before(async () => {
    if ((await keyringUnavailable()) !== null) return;
    session = await startKeyringSession('unlocked');
    process.env.DBUS_SESSION_BUS_ADDRESS = session.env.DBUS_SESSION_BUS_ADDRESS;
  });
  register.after.always(async () => {
    await session?.stop();
  });
  return () => session;
}
