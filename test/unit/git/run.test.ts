import test from 'ava';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runGit, spawnGit } from '../../../src/git/run.js';
import { AppError } from '../../../src/errors.js';

// ava runs each file in its own worker: changing process.env here touches no other test file

test.serial('git children never see SOPS_AGE_KEY or a hook GIT_DIR, and get no optional locks', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcps-gitrun-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const log = path.join(dir, 'env.txt');
  const fake = path.join(dir, 'git');
  await writeFile(fake, `#!/bin/sh\nenv > ${JSON.stringify(log)}\nprintf 'out\\n'\n`);
  await chmod(fake, 0o700);
  const saved = { PATH: process.env.PATH, SOPS_AGE_KEY: process.env.SOPS_AGE_KEY, GIT_DIR: process.env.GIT_DIR };
  process.env.PATH = `${dir}${path.delimiter}${saved.PATH ?? ''}`;
  process.env.SOPS_AGE_KEY = 'AGE-SECRET-KEY-1NOTAREALKEY';
  process.env.GIT_DIR = '/elsewhere';
  try {
    const r = await runGit(dir, ['status']);
    t.deepEqual(r, { ok: true, stdout: 'out\n' });
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
  const env = await readFile(log, 'utf8');
  t.false(env.includes('SOPS_AGE_KEY'));
  t.false(env.includes('NOTAREALKEY'));
  t.false(/^GIT_DIR=/m.test(env));
  t.true(/^GIT_OPTIONAL_LOCKS=0$/m.test(env));
  t.true(/^GIT_LITERAL_PATHSPECS=1$/m.test(env));
});

test.serial('a failing git command is an answer, and a missing git is E_NO_REPO', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcps-gitrun-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const r = await runGit(dir, ['rev-parse', '--show-toplevel']);
  t.false(r.ok);
  const saved = process.env.PATH;
  process.env.PATH = dir;
  try {
    const e = await t.throwsAsync(runGit(dir, ['status']));
    t.true(e instanceof AppError);
    t.is((e as AppError).code, 'E_NO_REPO');
  } finally {
    process.env.PATH = saved;
  }
});

test.serial('spawnGit gives the caller its variables on top of the environment, and both streams with the exit code', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcps-gitrun-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const fake = path.join(dir, 'git');
  await writeFile(fake, `#!/bin/sh\nprintf '%s|%s\\n' "$GIT_AUTHOR_NAME" "\${SOPS_AGE_KEY-unset}"\nprintf 'complaint\\n' >&2\nexit 3\n`);
  await chmod(fake, 0o700);
  const saved = { PATH: process.env.PATH, SOPS_AGE_KEY: process.env.SOPS_AGE_KEY };
  process.env.PATH = `${dir}${path.delimiter}${saved.PATH ?? ''}`;
  process.env.SOPS_AGE_KEY = 'AGE-SECRET-KEY-1NOTAREALKEY';
  try {
    t.deepEqual(await spawnGit(dir, ['commit'], { GIT_AUTHOR_NAME: 'Demo', SOPS_AGE_KEY: undefined }), { code: 3, stdout: 'Demo|unset\n', stderr: 'complaint\n' });
  } finally {
    for (const [k, v] of Object.entries(saved)) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
});
