import test from 'ava';
import path from 'node:path';
import { resolveRepo } from '../../../src/config/repo.js';
import { AppError } from '../../../src/errors.js';
import { initRepo, isolateGitConfig, writeFileIn } from '../../helpers/git.js';
import { tempDir } from '../../helpers/temp.js';

test.before(() => isolateGitConfig());

test('fails with E_NO_REPO and a hint to pass --repo outside a git work tree', async (t) => {
  const outside = await tempDir(t);
  const error = await t.throwsAsync(resolveRepo({ repoFlag: null, cwd: outside }), { instanceOf: AppError });
  t.is(error?.code, 'E_NO_REPO');
  t.true(error?.message.includes(outside));
  t.true(error?.hint?.includes('--repo'));
});

test('fails with E_NO_REPO when --repo does not exist', async (t) => {
  const error = await t.throwsAsync(resolveRepo({ repoFlag: '/nonexistent/repo\u001b[2J', cwd: '/' }), { instanceOf: AppError });
  t.is(error?.code, 'E_NO_REPO');
  t.false(error?.message.includes('\u001b'));
});

test('uses --repo as given and otherwise the top level of the cwd', async (t) => {
  const repo = await initRepo(await tempDir(t), { 'config/x': 'x\n' });
  t.is(await resolveRepo({ repoFlag: null, cwd: path.join(repo, 'config') }), repo);
  t.is(await resolveRepo({ repoFlag: path.join(repo, 'config'), cwd: '/' }), path.join(repo, 'config'));
});

test('fails with E_NO_REPO when --repo is neither a git work tree nor holds the bundle (not E_SOURCE_MISSING later)', async (t) => {
  const plain = await tempDir(t);
  const error = await t.throwsAsync(resolveRepo({ repoFlag: plain, cwd: '/', source: 'config/secrets.enc.yaml' }), { instanceOf: AppError });
  t.is(error?.code, 'E_NO_REPO');
  t.true(error?.message.includes('not a git work tree'));
  t.true(error?.message.includes(plain));
  // a bundle copied out of git still syncs from a plain directory
  await writeFileIn(plain, 'config/secrets.enc.yaml', 'x: 1\n');
  t.is(await resolveRepo({ repoFlag: plain, cwd: '/', source: 'config/secrets.enc.yaml' }), plain);
});
