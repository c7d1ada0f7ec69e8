/**
 * The age identity kept in a REAL keychain (gnome-keyring in a private D-Bus session) never
 * leaves it except into the daemon's memory: after import, show, forget, import again and a daemon
 * run whose identity came from the keychain, the secret key is in no file, log line, IPC reply,
 * argv or the daemon's environment.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { daemonFixture, sampleBundle } from '../../helpers/daemon.js';
import { runCli, type CliResult } from '../../helpers/e2e.js';
import { git } from '../../helpers/git.js';
import { fixtureFlags } from '../../helpers/cli-flags.js';
import { keyringTests, startKeyringSession } from '../../helpers/keyring.js';
import { subscribe, sync, waitFresh } from '../../../src/ipc/client.js';
import type { StatusDocument } from '../../../src/ipc/status.js';

const keyringTest = await keyringTests();

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries.filter((e) => e.isFile()).map((e) => path.join(e.parentPath, e.name));
}

keyringTest('an identity from the keychain reaches no file, log, IPC reply, argv or daemon environment', async (t) => {
  const session = await startKeyringSession('unlocked');
  t.teardown(() => session.stop());
  const d = await daemonFixture(t, { identityInEnv: false, keychain: true });
  const tmp = path.join(d.dir, 'tmp');
  await mkdir(tmp, { mode: 0o700 });
  Object.assign(d.env, session.env, { TMPDIR: tmp });
  await d.commitBundle(sampleBundle('v1'), 'v1');

  const cli = (args: string[], input = ''): Promise<CliResult> => runCli([...args, ...fixtureFlags(args, { repo: d.repo, home: d.home, socket: d.socket })], { env: d.env, cwd: d.repo, input });
  const outputs: CliResult[] = [];
  for (const [args, input] of [
    [['identity', 'import'], `# public key: ${d.recipient}\n${d.identity}\n`],
    [['identity', 'show']],
    [['identity', 'show', '--json']],
    [['identity', 'forget', '--all']],
    [['identity', 'import'], d.identity],
  ] as [string[], string?][]) {
    const r = await cli(args, input);
    t.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    outputs.push(r);
  }

  await d.start();
  const replies: StatusDocument[] = [];
  const sub = subscribe((s) => replies.push(s), { socketPath: d.socket });
  t.teardown(() => sub.close());
  const fresh = await waitFresh({ socketPath: d.socket, timeoutMs: 20_000 });
  t.is(fresh.identity.source, 'keychain');
  replies.push(fresh, await sync({ socketPath: d.socket, timeoutMs: 20_000 }), await d.status());
  const status = await cli(['status', '--json']);
  const tray = await cli(['tray', '--format', 'json']);
  t.is(status.code, 0, status.stderr);
  t.is(tray.code, 0, tray.stderr);
  outputs.push(status, tray);

  const ps = await execa('ps', ['-eo', 'args']);
  const environ = await readFile(`/proc/${d.child!.pid}/environ`, 'utf8');
  t.false(environ.includes('SOPS_AGE_KEY'), 'the daemon environment has no SOPS_AGE_KEY at all');
  await d.stop();
  t.true(replies.length >= 4, 'pushes and replies were seen');

  const log = await readFile(path.join(d.home, 'logs', 'daemon.log'), 'utf8');
  t.true(log.includes('"message":"synced"'), 'the log does have lines');
  const history = await git(d.repo, ['log', '-p', '--all']);
  // every file under the fixture's dir: the repo (with .git), home and outputs, HOME, TMPDIR, the socket dir
  const files = await filesUnder(d.dir);
  t.true(files.includes(path.join(d.home, '.env')));
  const haystacks: [string, string][] = [
    ['daemon log', log],
    ['daemon stderr', d.stderr.join('')],
    ['IPC replies and pushes', JSON.stringify(replies)],
    ['CLI output', outputs.map((o) => `${o.stdout}\n${o.stderr}`).join('\n')],
    ['ps argv', ps.stdout],
    ['daemon environment', environ],
    ['git history', history],
    ...(await Promise.all(files.map(async (f): Promise<[string, string]> => [f, await readFile(f, 'latin1')]))),
  ];
  const body = d.identity.slice('AGE-SECRET-KEY-1'.length);
  const needles = [d.identity, d.identity.toLowerCase(), body.slice(0, 24), body.slice(-24)];
  for (const [where, text] of haystacks) {
    const hay = text.toUpperCase();
    t.false(needles.some((n) => hay.includes(n.toUpperCase())), `the secret key leaked into ${where}`);
  }
});
