/**
 * The recipient watch: a running daemon raises RECIPIENTS_CHANGED (while staying fresh) when a
 * commit re-encrypts the bundle to an unknown recipient, or when a pull changes `.sops.yaml`'s
 * age recipients; `mcp-secrets status --ack` clears it.
 */
import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { daemonFixture, sampleBundle } from '../helpers/daemon.js';
import { runCli } from '../helpers/e2e.js';
import { GIT_ENV, git } from '../helpers/git.js';
import { newKey } from '../helpers/runbook.js';

const changed = (recipient: string, subject: RegExp) => (s: { state: string; notices: { code: string; message: string }[] }) =>
  s.state === 'fresh' && s.notices.some((n) => n.code === 'RECIPIENTS_CHANGED' && subject.test(n.message) && n.message.includes(`added ${recipient}`));

test('a commit that adds an unknown recipient to the bundle raises RECIPIENTS_CHANGED naming it; status --ack clears it', async (t) => {
  const d = await daemonFixture(t);
  await d.commitBundle(sampleBundle('2026.03.1'), 'bundle');
  await d.start();
  const first = await d.waitFor((s) => s.state === 'fresh', 'fresh');
  t.deepEqual(first.notices, []);

  const x = await newKey();
  // `sops updatekeys` + `sops edit`: the data key stays, so only the recipients tell the change
  await writeFile(d.bundle, await d.lineage.seal(sampleBundle('2026.03.2'), [d.recipient, x.recipient]));
  await git(d.repo, ['commit', '-qam', 'innocent-looking change']);
  const s = await d.waitFor(changed(x.recipient, /^the bundle's age recipients changed/), 'a bundle RECIPIENTS_CHANGED notice');
  t.is(s.secretsVersion, '2026.03.2', 'still syncs');

  const human = await runCli(['status', '--socket', d.socket], { env: d.env });
  t.regex(human.stdout, new RegExp(`notice {4}RECIPIENTS_CHANGED since .*added ${x.recipient}`));
  const acked = await runCli(['status', '--ack', '--json', '--socket', d.socket], { env: d.env });
  t.is(acked.code, 0, acked.stderr);
  t.deepEqual((JSON.parse(acked.stdout) as { notices: unknown[] }).notices, []);
  t.deepEqual((await d.status()).notices, []);
});

test('a pull that changes .sops.yaml recipients raises RECIPIENTS_CHANGED, with the bundle untouched', async (t) => {
  const d = await daemonFixture(t);
  await d.commitBundle(sampleBundle('2026.03.1'), 'bundle');
  const upstream = path.join(d.dir, 'upstream.git');
  const env = { ...process.env, ...GIT_ENV };
  await execa('git', ['clone', '-q', '--bare', d.repo, upstream], { env });
  await git(d.repo, ['remote', 'add', 'origin', upstream]);
  await git(d.repo, ['fetch', '-q', 'origin']);
  await git(d.repo, ['branch', '-q', '--set-upstream-to=origin/main', 'main']);
  await d.start();
  await d.waitFor((s) => s.state === 'fresh', 'fresh');

  const other = path.join(d.dir, 'other');
  await execa('git', ['clone', '-q', upstream, other], { env });
  const y = await newKey();
  const config = path.join(other, '.sops.yaml');
  await writeFile(config, (await readFile(config, 'utf8')).replace(`age: ${d.recipient}`, `age: ${d.recipient},${y.recipient}`));
  await git(other, ['commit', '-qam', 'add a recipient to .sops.yaml']);
  await git(other, ['push', '-q', 'origin', 'main']);
  const sha = (await d.status()).source.sha256;
  await git(d.repo, ['pull', '-q', '--ff-only']);

  const s = await d.waitFor(changed(y.recipient, /^\.sops\.yaml's age recipients changed/), 'a .sops.yaml RECIPIENTS_CHANGED notice');
  t.is(s.source.sha256, sha, 'the bundle did not change');
  t.is(s.notices.length, 1);
  // 0 fresh, or 1 while the sync that .sops.yaml's change started is still running: either way acknowledged
  t.true([0, 1].includes((await runCli(['status', '--ack', '--socket', d.socket], { env: d.env })).code));
  t.deepEqual((await d.status()).notices, []);

  // an edit in the work tree alone (no commit, HEAD still) is seen too
  const mine = path.join(d.repo, '.sops.yaml');
  await writeFile(mine, (await readFile(mine, 'utf8')).replace(`,${y.recipient}`, ''));
  const removed = await d.waitFor((st) => st.notices.some((n) => n.message.includes(`removed ${y.recipient}`)), 'a notice for the local edit');
  t.is(removed.state, 'fresh');
});
