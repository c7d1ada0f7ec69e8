import test from 'ava';
import { mkdir, writeFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { currentBranchRef, findRepoRoot, gitLayout, isOperationInProgress, operationState, refFilePath } from '../../../src/git/index.js';
import { git, initRepo, tryGit, isolateGitConfig } from '../../helpers/git.js';
import { tempDir } from '../../helpers/temp.js';

test.before(() => isolateGitConfig());

test('finds the top level from a subdirectory and null outside git', async (t) => {
  const repo = await initRepo(await tempDir(t), { 'config/a.txt': 'a\n' });
  const outside = await tempDir(t);
  t.is(await findRepoRoot(path.join(repo, 'config')), repo);
  t.is(await findRepoRoot(outside), null);
  t.is(await findRepoRoot(path.join(outside, 'does-not-exist')), null);
});

test('describes a plain repo with the git dir and common dir both at .git', async (t) => {
  const repo = await initRepo(await tempDir(t), { 'README.md': 'readme\n' });
  t.deepEqual(await gitLayout(path.join(repo)), { workTree: repo, gitDir: path.join(repo, '.git'), commonDir: path.join(repo, '.git') });
});

test('describes a linked worktree with its own git dir and the main repo as common dir', async (t) => {
  const repo = await initRepo(await tempDir(t), { 'README.md': 'readme\n' });
  const parent = await tempDir(t);
  const linked = path.join(parent, 'linked');
  await git(repo, ['worktree', 'add', '-q', '-b', 'feature', linked]);
  const layout = await gitLayout(linked);
  t.deepEqual(layout, { workTree: linked, gitDir: path.join(repo, '.git', 'worktrees', 'linked'), commonDir: path.join(repo, '.git') });
  t.is(await currentBranchRef(layout!), 'refs/heads/feature');
  t.is(await currentBranchRef((await gitLayout(repo))!), 'refs/heads/main');
});

test('follows a .git file to a separate git dir', async (t) => {
  const parent = await tempDir(t);
  const work = path.join(parent, 'work');
  const store = path.join(parent, 'store.git');
  await git(parent, ['init', '-q', '-b', 'main', `--separate-git-dir=${store}`, work]);
  t.deepEqual(await gitLayout(work), { workTree: work, gitDir: store, commonDir: store });
});

test('returns null for a layout outside git', async (t) => {
  const outside = await tempDir(t);
  t.is(await gitLayout(outside), null);
});

test('reads the branch ref from HEAD and null when HEAD is detached', async (t) => {
  const repo = await initRepo(await tempDir(t), { 'README.md': 'readme\n' });
  const layout = (await gitLayout(repo))!;
  t.is(await currentBranchRef(layout), 'refs/heads/main');
  t.is(refFilePath(layout, 'refs/heads/main'), path.join(repo, '.git', 'refs', 'heads', 'main'));
  await git(repo, ['checkout', '-q', '--detach']);
  t.is(await currentBranchRef(layout), null);
});

test('counts only index.lock as an operation in progress, not a merge stopped on a conflict', async (t) => {
  const repo = await initRepo(await tempDir(t), { 'f.txt': 'base\n' });
  const layout = (await gitLayout(repo))!;
  await git(repo, ['checkout', '-q', '-b', 'other']);
  await writeFile(path.join(repo, 'f.txt'), 'other\n');
  await git(repo, ['commit', '-q', '-am', 'other']);
  await git(repo, ['checkout', '-q', 'main']);
  await writeFile(path.join(repo, 'f.txt'), 'main\n');
  await git(repo, ['commit', '-q', '-am', 'main']);
  await tryGit(repo, ['merge', 'other']);
  t.false(await isOperationInProgress(layout));
  t.deepEqual(await operationState(layout), { writing: false, pending: 'merge' });
  await mkdir(layout.gitDir, { recursive: true });
  await writeFile(path.join(layout.gitDir, 'index.lock'), '');
  t.true(await isOperationInProgress(layout));
  t.deepEqual(await operationState(layout), { writing: true, pending: 'merge' });
  await rm(path.join(layout.gitDir, 'index.lock'));
});
