import test from 'ava';
import { appendFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleGitState } from '../../../src/git/index.js';
import { commitFiles, fileBytes, git, initRepo, isolateGitConfig, tryGit, writeFileIn } from '../../helpers/git.js';
import { tempDir } from '../../helpers/temp.js';

test.before(() => isolateGitConfig());

const BUNDLE = 'config/secrets.enc.yaml';

async function provenance(repo: string, rel: string, bytes?: Uint8Array): Promise<unknown> {
  return (await bundleGitState(repo, rel, bytes ?? (await fileBytes(repo, rel)))).provenance;
}

test('names the commit that last touched the bundle, not HEAD, when later commits touch other files', async (t) => {
  const repo = await initRepo(await tempDir(t), { [BUNDLE]: 'v: 1\n' });
  const touched = await commitFiles(repo, { [BUNDLE]: 'v: 2\n' });
  const head = await commitFiles(repo, { 'README.md': 'later\n' });
  t.not(touched, head);
  t.deepEqual(await provenance(repo, BUNDLE), { commit: touched, dirty: false });
  t.deepEqual(await provenance(repo, path.join(repo, BUNDLE)), { commit: touched, dirty: false });
});

test('names the root commit when only it touched the bundle, whatever log.showRoot says', async (t) => {
  const repo = await initRepo(await tempDir(t), { [BUNDLE]: 'v: 1\n' });
  const root = await git(repo, ['rev-parse', 'HEAD']);
  await commitFiles(repo, { 'README.md': 'later\n' });
  // settings a user may have that change what `git log` prints
  for (const [key, value] of [['log.showRoot', 'false'], ['color.ui', 'always'], ['core.abbrev', '7'], ['diff.renames', 'copies'], ['log.decorate', 'full'], ['format.pretty', 'oneline']]) {
    await git(repo, ['config', key!, value!]);
  }
  t.deepEqual(await provenance(repo, BUNDLE), { commit: root, dirty: false });
});

test('names a merge that changed the bundle, and the side commit a merge only brought in', async (t) => {
  const repo = await initRepo(await tempDir(t), { [BUNDLE]: 'a: 1\nb: 1\n' });
  await git(repo, ['checkout', '-q', '-b', 'side']);
  const side = await commitFiles(repo, { [BUNDLE]: 'a: 2\nb: 1\n' });
  await git(repo, ['checkout', '-q', 'main']);
  await commitFiles(repo, { 'README.md': 'main\n' });
  await git(repo, ['merge', '-q', '--no-edit', 'side']);
  // the merge left the side's bytes: the side commit is the one that touched them
  t.deepEqual(await provenance(repo, BUNDLE), { commit: side, dirty: false });

  await git(repo, ['checkout', '-q', '-b', 'other', 'main~1']);
  await commitFiles(repo, { [BUNDLE]: 'a: 1\nb: 2\n' });
  await git(repo, ['checkout', '-q', 'main']);
  // both sides changed the file: the resolved merge holds bytes no parent had
  t.not((await tryGit(repo, ['merge', '-q', '--no-edit', 'other'])).exitCode, 0);
  const merge = await commitFiles(repo, { [BUNDLE]: 'a: 2\nb: 2\n' }, 'merged');
  t.is((await git(repo, ['rev-parse', 'HEAD^2'])).length, 40);
  t.deepEqual(await provenance(repo, BUNDLE), { commit: merge, dirty: false });
});

test('reports dirty after an edit, a deletion, for an untracked bundle and before the first commit', async (t) => {
  const repo = await initRepo(await tempDir(t), { [BUNDLE]: 'v: 1\n' });
  await appendFile(path.join(repo, BUNDLE), 'w: 2\n');
  t.deepEqual(await provenance(repo, BUNDLE), { commit: null, dirty: true });
  await git(repo, ['rm', '-q', '--cached', BUNDLE]);
  await git(repo, ['commit', '-q', '-m', 'untrack']);
  // HEAD deleted the path: bytes still on disk are nobody's commit
  t.deepEqual(await provenance(repo, BUNDLE), { commit: null, dirty: true });
  await writeFileIn(repo, 'config/new.enc.yaml', 'x: 1\n');
  t.deepEqual(await provenance(repo, 'config/new.enc.yaml'), { commit: null, dirty: true });

  const empty = await initRepo(await tempDir(t));
  await writeFileIn(empty, BUNDLE, 'v: 1\n');
  t.deepEqual(await provenance(empty, BUNDLE), { commit: null, dirty: true });
});

test('treats a path with glob characters literally', async (t) => {
  const repo = await initRepo(await tempDir(t), { 'config/a.yaml': 'a\n', 'config/b.yaml': 'b\n' });
  await writeFile(path.join(repo, 'config/b.yaml'), 'changed\n');
  t.deepEqual(await provenance(repo, 'config/*.yaml', Buffer.from('b\n')), { commit: null, dirty: true });
  t.deepEqual(await provenance(repo, 'config/*.yaml', new Uint8Array()), { commit: null, dirty: true });
});

test('is unknown outside a work tree: no repo, a bare repo, inside .git, a path outside the repo', async (t) => {
  const outside = await tempDir(t);
  await writeFileIn(outside, BUNDLE, 'v: 1\n');
  t.deepEqual(await provenance(outside, BUNDLE), { commit: null, dirty: null });
  t.deepEqual(await provenance(outside, BUNDLE, Buffer.from('v: 1\n')), { commit: null, dirty: null });

  const repo = await initRepo(await tempDir(t), { [BUNDLE]: 'v: 1\n' });
  const bare = path.join(await tempDir(t), 'bare.git');
  await git(path.dirname(bare), ['clone', '-q', '--bare', repo, bare]);
  t.deepEqual(await provenance(bare, BUNDLE, Buffer.from('v: 1\n')), { commit: null, dirty: null });
  t.deepEqual(await provenance(path.join(repo, '.git'), BUNDLE, Buffer.from('v: 1\n')), { commit: null, dirty: null });
  t.deepEqual(await provenance(path.join(repo, 'config'), `../${BUNDLE}`, Buffer.from('v: 1\n')), { commit: null, dirty: null });
});

test('does not take the index lock, so a watcher is not woken by our own git calls', async (t) => {
  const repo = await initRepo(await tempDir(t), { [BUNDLE]: 'v: 1\n' });
  // A changed mtime makes a plain `git status` want to refresh (and lock and rewrite) the index.
  await writeFile(path.join(repo, BUNDLE), 'v: 1\n');
  const { stat } = await import('node:fs/promises');
  const before = await stat(path.join(repo, '.git', 'index'));
  await bundleGitState(repo, BUNDLE, await fileBytes(repo, BUNDLE));
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

test('works in a sha256 repository', async (t) => {
  const dir = await tempDir(t);
  const init = await tryGit(dir, ['init', '-q', '-b', 'main', '--object-format=sha256']);
  t.is(init.exitCode, 0, init.stderr);
  const commit = await commitFiles(dir, { [BUNDLE]: 'v: 1\n' });
  t.is(commit.length, 64);
  t.deepEqual(await provenance(dir, BUNDLE, Buffer.from('v: 1\n')), { commit, dirty: false });
  await rm(path.join(dir, BUNDLE));
  t.deepEqual(await provenance(dir, BUNDLE, Buffer.from('v: 2\n')), { commit: null, dirty: true });
});
