/**
 * Stand-ins for systemctl and launchctl: real executables on PATH that append their argv to a
 * log and answer like the real tools. FAKE_SERVICE_MODE=nobus makes systemctl fail the way it
 * does without a user manager; FAKE_SERVICE_MODE=start makes `enable --now` start the unit's
 * ExecStart= in the background (FAKE_SYSTEMD_WORDS: the compiled systemd-words.js reader; the
 * child's pid goes to `<log>.pid`). launchctl keeps "loaded" state in a file next to the log.
 */
import { chmod, mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const SYSTEMCTL = `#!/usr/bin/env node
'use strict';
const fs = require('fs');
const args = process.argv.slice(2);
fs.appendFileSync(process.env.FAKE_SERVICE_LOG, JSON.stringify(['systemctl', ...args]) + '\\n');
if (process.env.FAKE_SERVICE_MODE === 'nobus') { process.stderr.write('Failed to connect to bus: No medium found\\n'); process.exit(1); }
if (args[0] !== '--user') { process.stderr.write('fake systemctl: only --user is expected\\n'); process.exit(4); }
if (args[1] === 'is-enabled') { process.stdout.write('enabled\\n'); process.exit(0); }
if (args[1] === 'is-active') { process.stdout.write('active\\n'); process.exit(0); }
if (args[1] === 'enable' && args.includes('--now') && process.env.FAKE_SERVICE_MODE === 'start') {
  // like the user manager: run the unit's ExecStart= (read back with systemd's quoting rules, no
  // shell) with its Environment= plus the manager's HOME, runtime dir and session bus
  const path = require('path');
  const { spawn } = require('child_process');
  const configHome = process.env.XDG_CONFIG_HOME || path.join(process.env.HOME, '.config');
  const unit = fs.readFileSync(path.join(configHome, 'systemd', 'user', 'mcp-secrets.service'), 'utf8');
  const value = (key) => unit.split('\\n').find((l) => l.startsWith(key + '=')).slice(key.length + 1);
  import(process.env.FAKE_SYSTEMD_WORDS).then(({ parseSystemdWords }) => {
    const argv = parseSystemdWords(value('ExecStart'), 'exec');
    const env = {};
    for (const word of parseSystemdWords(value('Environment'), 'environment')) env[word.slice(0, word.indexOf('='))] = word.slice(word.indexOf('=') + 1);
    for (const name of ['HOME', 'XDG_RUNTIME_DIR', 'DBUS_SESSION_BUS_ADDRESS']) if (process.env[name] !== undefined) env[name] = process.env[name];
    const child = spawn(argv[0], argv.slice(1), { env, detached: true, stdio: 'ignore' });
    fs.writeFileSync(process.env.FAKE_SERVICE_LOG + '.pid', String(child.pid));
    child.unref();
    process.exit(0);
  });
} else {
  process.exit(0);
}
`;

const LAUNCHCTL = `#!/usr/bin/env node
'use strict';
const fs = require('fs');
const args = process.argv.slice(2);
const state = process.env.FAKE_SERVICE_LOG + '.loaded';
fs.appendFileSync(process.env.FAKE_SERVICE_LOG, JSON.stringify(['launchctl', ...args]) + '\\n');
switch (args[0]) {
  case 'print':
    if (fs.existsSync(state)) { process.stdout.write('gui/501/dev.mcp-secrets.daemon = {\\n\\tstate = running\\n\\tpid = 4242\\n}\\n'); process.exit(0); }
    process.stderr.write('Could not find service "dev.mcp-secrets.daemon" in domain for port\\n'); process.exit(113);
  case 'print-disabled': process.stdout.write('disabled services = {\\n\\t"com.other" => disabled\\n}\\n'); process.exit(0);
  case 'bootstrap': if (!fs.existsSync(args[2])) process.exit(5); fs.writeFileSync(state, ''); process.exit(0);
  case 'bootout': fs.rmSync(state, { force: true }); process.exit(0);
  default: process.exit(64);
}
`;

export interface FakeTools {
  dir: string;
  log: string;
  calls(): Promise<string[][]>;
}

export async function makeFakeServiceTools(): Promise<FakeTools> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcp-fake-svc-'));
  const bin = path.join(dir, 'bin');
  await mkdir(bin);
  for (const [name, text] of [['systemctl', SYSTEMCTL], ['launchctl', LAUNCHCTL]] as const) {
    await writeFile(path.join(bin, name), text);
    await chmod(path.join(bin, name), 0o755);
  }
  const log = path.join(dir, 'calls.log');
  return {
    dir,
    log,
    calls: async () =>
      (await readFile(log, 'utf8').catch(() => ''))
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as string[]),
  };
}
