/**
 * `identity import` typed into a real terminal: a pseudo-terminal from tmux (private server
 * socket), the built CLI in its pane, keys sent with `send-keys`, the screen read back with
 * `capture-pane`. The key must never appear on screen, and the terminal must have echo back on
 * however the command ends (Enter, Ctrl-C typed, SIGINT from outside).
 */
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { ExecutionContext } from 'ava';
import { keyringTests, usePrivateKeyring } from '../helpers/keyring.js';
import { CLI, eventually, isolatedEnv } from '../helpers/e2e.js';
import { tempDir } from '../helpers/temp.js';
import { openKeychainStore } from '../../src/identity/keychain/index.js';

/** The default backend, as the CLI under test uses it. */
const defaultKeychain = () => openKeychainStore('napi-keyring', process.env);
import { newKey } from '../helpers/runbook.js';
import test from 'ava';

const keyringTest = await keyringTests();
// a private keyring whose bus this process and the children it starts share
const keyringSession = usePrivateKeyring(test);

interface Pane {
  /** Everything the pane showed, history included, wrapped lines joined. */
  screen(): Promise<string>;
  keys(...keys: string[]): Promise<void>;
  literal(text: string): Promise<void>;
  waitFor(pattern: RegExp, what: string): Promise<string>;
}

/**
 * Runs `script` in a new tmux pane on a private tmux server; the pane stays after the script ends
 * (remain-on-exit) so its last screen can be read. The server is killed at teardown.
 */
async function tmuxPane(t: ExecutionContext, dir: string, script: string, env: Record<string, string>): Promise<Pane> {
  const which = await execa('sh', ['-c', 'command -v tmux'], { reject: false });
  if (which.exitCode !== 0) t.fail('tmux is not installed (scripts/test.sh installs it)');
  const sock = path.join(dir, 'tmux.sock');
  const file = path.join(dir, 'pane.sh');
  await writeFile(file, `#!/bin/sh\n${script}\n`);
  await chmod(file, 0o700);
  const tmux = (args: string[]) => execa('tmux', ['-S', sock, '-f', '/dev/null', ...args], { env: { ...env, TERM: 'xterm-256color' }, extendEnv: false });
  t.teardown(() => tmux(['kill-server']).then(() => undefined, () => undefined));
  await tmux(['new-session', '-d', '-s', 'p', '-x', '220', '-y', '60', file]);
  await tmux(['set-option', '-t', 'p', 'remain-on-exit', 'on']);
  const pane: Pane = {
    screen: async () => (await tmux(['capture-pane', '-p', '-J', '-S', '-', '-t', 'p'])).stdout,
    keys: async (...keys) => void (await tmux(['send-keys', '-t', 'p', ...keys])),
    literal: async (text) => void (await tmux(['send-keys', '-t', 'p', '-l', text])),
    waitFor: (pattern, what) =>
      eventually(async () => {
        const s = await pane.screen();
        return pattern.test(s) ? s : undefined;
      }, 30_000, what),
  };
  return pane;
}

/** The pane's script: the import, then its exit code and the terminal's settings as the shell sees them. */
function importScript(dir: string): string {
  return [`cd '${dir}'`, `'${process.execPath}' '${CLI}' identity import`, 'echo "EXIT=$?"', 'stty -a | grep icanon', 'echo "PANE DONE"'].join('\n');
}

async function cleanKeychain(): Promise<void> {
  for (const r of await defaultKeychain().listRecipients()) await defaultKeychain().delete(r);
}

function echoIsOn(screen: string): boolean {
  const flags = screen.split('\n').find((l) => /\bicanon\b/.test(l) && /\bisig\b/.test(l)) ?? '';
  return /(^|\s)echo(\s|$)/.test(flags) && /(^|\s)icanon(\s|$)/.test(flags);
}

function paneEnv(dir: string): Record<string, string> {
  return isolatedEnv(dir, { ...keyringSession()!.env }, { keychain: true });
}

keyringTest('a key pasted into `identity import` in a terminal is stored and never shown; Backspace and Ctrl-U edit the line', async (t) => {
  await cleanKeychain();
  const dir = await tempDir(t);
  const key = await newKey();
  const pane = await tmuxPane(t, dir, importScript(dir), paneEnv(dir));
  await pane.waitFor(/paste the age identity/, 'the prompt');
  await pane.literal('garbage typed first');
  await pane.keys('C-u');
  await pane.literal(`${key.line}X`);
  await pane.keys('BSpace', 'Enter');
  await pane.waitFor(/1 line read/, 'the line to be read');
  await pane.keys('Enter');
  const screen = await pane.waitFor(/PANE DONE/, 'the import to end');
  t.regex(screen, /EXIT=0/, screen);
  t.true(screen.includes(`stored ${key.recipient}`), screen);
  const body = key.line.slice('AGE-SECRET-KEY-1'.length);
  for (let i = 0; i + 8 <= body.length; i += 4) t.false(screen.includes(body.slice(i, i + 8)), 'no part of the key is on screen');
  t.false(screen.includes('garbage'), 'nothing typed is echoed');
  t.true(echoIsOn(screen), `echo restored:\n${screen}`);
  t.is(await defaultKeychain().get(key.recipient), key.line, 'Ctrl-U dropped the garbage, Backspace the X');
});

keyringTest('Ctrl-C during `identity import` in a terminal stores nothing, ends like an interrupt (130) and leaves echo on', async (t) => {
  await cleanKeychain();
  const dir = await tempDir(t);
  const key = await newKey();
  const pane = await tmuxPane(t, dir, importScript(dir), paneEnv(dir));
  await pane.waitFor(/paste the age identity/, 'the prompt');
  await pane.literal(key.line);
  await pane.keys('C-c');
  const screen = await pane.waitFor(/PANE DONE/, 'the import to end');
  t.regex(screen, /EXIT=130/, screen);
  t.false(screen.includes(key.line.slice(20, 40)), 'the key is not on screen');
  t.true(echoIsOn(screen), `echo restored:\n${screen}`);
  t.deepEqual(await defaultKeychain().listRecipients(), []);
});

keyringTest('SIGINT and SIGTERM sent from outside during `identity import` in a terminal leave echo on', async (t) => {
  for (const signal of ['INT', 'TERM'] as const) {
    await cleanKeychain();
    const dir = await tempDir(t);
    const pidFile = path.join(dir, 'pid');
    // the CLI's own pid, written by the shell that execs it
    const script = [`cd '${dir}'`, `sh -c 'echo $$ > "${pidFile}"; exec "${process.execPath}" "${CLI}" identity import'`, 'echo "EXIT=$?"', 'stty -a | grep icanon', 'echo "PANE DONE"'].join('\n');
    const pane = await tmuxPane(t, dir, script, paneEnv(dir));
    await pane.waitFor(/paste the age identity/, 'the prompt');
    await pane.literal('AGE-SECRET-KEY-1PARTIAL');
    const pid = (await execa('cat', [pidFile])).stdout.trim();
    await execa('kill', [`-${signal}`, pid]);
    const screen = await pane.waitFor(/PANE DONE/, 'the import to end');
    t.regex(screen, signal === 'INT' ? /EXIT=130/ : /EXIT=143/, screen);
    t.false(screen.includes('PARTIAL'), 'typed text is not on screen');
    t.true(echoIsOn(screen), `echo restored after SIG${signal}:\n${screen}`);
  }
});
