import test from 'ava';
import { appendFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { provenance } from '../../../src/git/index.js';
import { commitFiles, git, initRepo, isolateGitConfig, writeFileIn } from '../../helpers/git.js';
import { tempDir } from '../../helpers/temp.js';

test.before(() => isolateGitConfig());

const BUNDLE = 'config/secrets.enc.yaml';

test('names the commit that last touched the bundle, not HEAD, when later commits touch other files', async (t) => {
  const repo = await initRepo(await tempDir(t), { [BUNDLE]: 'v: 1\n' });
  const touched = await commitFiles(repo, { [BUNDLE]: 'v: 2\n' });
  const head = await commitFiles(repo, { 'README.md': 'later\n' });
  t.not(touched, head);
  t.deepEqual(await provenance(repo, BUNDLE), { commit: touched, dirty: false });
  t.deepEqual(await provenance(repo, path.join(repo, BUNDLE)), { commit: touched, dirty: false });
});

test('reports dirty after an edit, a deletion and for an untracked bundle', async (t) => {
  const repo = await initRepo(await tempDir(t), { [BUNDLE]: 'v: 1\n' });
  const head = await git(repo, ['rev-parse', 'HEAD']);
  await appendFile(path.join(repo, BUNDLE), 'w: 2\n');
  t.deepEqual(await provenance(repo, BUNDLE), { commit: head, dirty: true });
  await git(repo, ['rm', '-q', '--cached', BUNDLE]);
  await git(repo, ['commit', '-q', '-m', 'untrack']);
  const untracked = await provenance(repo, BUNDLE);
  t.true(untracked.dirty);
  await writeFileIn(repo, 'config/new.enc.yaml', 'x: 1\n');
  t.deepEqual(await provenance(repo, 'config/new.enc.yaml'), { commit: null, dirty: true });
});

test('treats a path with glob characters literally', async (t) => {
  const repo = await initRepo(await tempDir(t), { 'config/a.yaml': 'a\n', 'config/b.yaml': 'b\n' });
  await writeFile(path.join(repo, 'config/b.yaml'), 'changed\n');
  t.deepEqual(await provenance(repo, 'config/*.yaml'), { commit: null, dirty: false });
});

test('returns nulls outside git', async (t) => {
  const outside = await tempDir(t);
  await writeFileIn(outside, BUNDLE, 'v: 1\n');
  t.deepEqual(await provenance(outside, BUNDLE), { commit: null, dirty: null });
});

test('does not take the index lock, so a watcher is not woken by our own status call', async (t) => {
  const repo = await initRepo(await tempDir(t), { [BUNDLE]: 'v: 1\n' });
  // A changed mtime makes a plain `git status` want to refresh (and lock and rewrite) the index.
  await writeFile(path.join(repo, BUNDLE), 'v: 1\n');
  const { stat } = await import('node:fs/promises');
  const before = await stat(path.join(repo, '.git', 'index'));
  await provenance(repo, BUNDLE);
  const after = await stat(path.join(repo, '.git', 'index'));
  t.is(after.ino, before.ino);
  t.is(after.mtimeMs, before.mtimeMs);
});

test('with the bytes that were read, names a commit only when HEAD holds exactly those bytes', async (t) => {
  const repo = await initRepo(await tempDir(t), { [BUNDLE]: 'v: 1\n' });
  const first = await git(repo, ['rev-parse', 'HEAD']);
  const second = await commitFiles(repo, { [BUNDLE]: 'v: 2\n' });
  t.deepEqual(await provenance(repo, BUNDLE, Buffer.from('v: 2\n')), { commit: second, dirty: false });
  // bytes read before a checkout moved HEAD: they are not HEAD's, so no commit is lent to them
  t.deepEqual(await provenance(repo, BUNDLE, Buffer.from('v: 1\n')), { commit: null, dirty: true });
  await git(repo, ['checkout', '-q', first]);
  t.deepEqual(await provenance(repo, BUNDLE, Buffer.from('v: 1\n')), { commit: first, dirty: false });
  t.deepEqual(await provenance(repo, BUNDLE, Buffer.from('v: 2\n')), { commit: null, dirty: true });
  t.deepEqual(await provenance(repo, 'config/untracked.yaml', Buffer.from('x\n')), { commit: null, dirty: true });
});

test('with bytes, outside git the provenance is unknown', async (t) => {
  const outside = await tempDir(t);
  await writeFileIn(outside, BUNDLE, 'v: 1\n');
  t.deepEqual(await provenance(outside, BUNDLE, Buffer.from('v: 1\n')), { commit: null, dirty: null });
});
