import test from 'ava';
import { readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { bundleGitState } from '../../../src/git/index.js';
import { commitFiles, fileBytes, git, initRepo, tryGit, isolateGitConfig, writeFileIn } from '../../helpers/git.js';
import { tempDir, type Teardown } from '../../helpers/temp.js';

test.before(() => isolateGitConfig());

const BUNDLE = 'config/secrets.enc.yaml';

async function conflictState(repo: string, rel: string, bytes?: Uint8Array): Promise<unknown> {
  return (await bundleGitState(repo, rel, bytes ?? (await fileBytes(repo, rel)))).conflict;
}

async function conflictedRepo(t: Teardown): Promise<string> {
  const repo = await initRepo(await tempDir(t), { [BUNDLE]: 'token: base\n' });
  await git(repo, ['checkout', '-q', '-b', 'theirs']);
  await commitFiles(repo, { [BUNDLE]: 'token: theirs\n' });
  await git(repo, ['checkout', '-q', 'main']);
  await commitFiles(repo, { [BUNDLE]: 'token: ours\n' });
  const merge = await tryGit(repo, ['merge', 'theirs']);
  if (merge.exitCode === 0) throw new Error('expected a conflict');
  return repo;
}

test('reports an unmerged bundle after a conflicting git merge, and markers once it is added unresolved', async (t) => {
  const repo = await conflictedRepo(t);
  t.deepEqual(await conflictState(repo, BUNDLE), { conflicted: true, reason: 'unmerged' });
  const content = await readFile(path.join(repo, BUNDLE));
  await git(repo, ['add', BUNDLE]);
  t.deepEqual(await conflictState(repo, BUNDLE), { conflicted: true, reason: 'markers' });
  t.deepEqual(await conflictState(repo, BUNDLE, content), { conflicted: true, reason: 'markers' });
});

test('reports a clean, a missing and a resolved bundle as not conflicted', async (t) => {
  const repo = await conflictedRepo(t);
  await writeFile(path.join(repo, BUNDLE), 'token: resolved\n');
  await git(repo, ['add', BUNDLE]);
  t.deepEqual(await conflictState(repo, BUNDLE), { conflicted: false, reason: null });
  t.deepEqual(await conflictState(repo, 'config/missing.yaml'), { conflicted: false, reason: null });
});

test('finds markers outside git', async (t) => {
  const outside = await tempDir(t);
  await writeFileIn(outside, BUNDLE, '<<<<<<< HEAD\na: 1\n=======\na: 2\n>>>>>>> other\n');
  t.deepEqual(await conflictState(outside, BUNDLE), { conflicted: true, reason: 'markers' });
});

test('an unmerged bundle stays unmerged when its markers are edited away or the file is deleted, until it is added', async (t) => {
  const repo = await conflictedRepo(t);
  await writeFile(path.join(repo, BUNDLE), 'token: resolved\n');
  t.deepEqual(await conflictState(repo, BUNDLE), { conflicted: true, reason: 'unmerged' });
  await rm(path.join(repo, BUNDLE));
  t.deepEqual(await conflictState(repo, BUNDLE), { conflicted: true, reason: 'unmerged' });
  t.deepEqual(await conflictState(repo, BUNDLE, Buffer.from('token: resolved\n')), { conflicted: true, reason: 'unmerged' });
});

test('a tracked bundle deleted from the work tree (no merge) is not a conflict', async (t) => {
  const repo = await initRepo(await tempDir(t), { [BUNDLE]: 'token: base\n' });
  await rm(path.join(repo, BUNDLE));
  t.deepEqual(await conflictState(repo, BUNDLE), { conflicted: false, reason: null });
  t.deepEqual(await conflictState(repo, BUNDLE, Buffer.from('token: base\n')), { conflicted: false, reason: null });
});
