import test from 'ava';
import { realpathSync } from 'node:fs';
import { chmod, link, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { bundleGitState } from '../../../src/git/index.js';
import { watchSource, type SourceWatcher, type WatchSourceOptions } from '../../../src/watch/index.js';
import { commitFiles, fileBytes, git, initRepo, tryGit, isolateGitConfig } from '../../helpers/git.js';
import { tempDir } from '../../helpers/temp.js';
import { quietPeriod, WatchRecorder } from '../../helpers/watch-recorder.js';

test.before(() => isolateGitConfig());

const BUNDLE = 'config/secrets.enc.yaml';

interface Fixture {
  repo: string;
  home: string;
  bundle: string;
  outputs: [string, string];
  sopsConfig: string;
  recorder: WatchRecorder;
  watcher: SourceWatcher;
}

async function start(t: { teardown(fn: () => Promise<void> | void): void }, options: Partial<WatchSourceOptions> = {}, files: Record<string, string> = {}): Promise<Fixture> {
  const repo = await initRepo(await tempDir(t), { [BUNDLE]: 'token: one\n', '.sops.yaml': 'creation_rules: []\n', ...files });
  const home = await tempDir(t, 'mcp-home-');
  const recorder = new WatchRecorder();
  const outputs: [string, string] = [path.join(home, '.env'), path.join(home, 'console-secrets.json')];
  await writeFile(outputs[0], 'A=1\n');
  await writeFile(outputs[1], '{}\n');
  const watcher = await watchSource({
    workTree: repo,
    sourcePath: path.join(repo, BUNDLE),
    outputPaths: outputs,
    extraPaths: [path.join(repo, '.sops.yaml')],
    onChange: recorder.onChange,
    logger: recorder.logger,
    ...options,
  });
  // registered after the dirs' teardown, so it runs before they are removed
  t.teardown(() => watcher.close());
  await watcher.ready;
  return { repo, home, bundle: path.join(repo, BUNDLE), outputs, sopsConfig: path.join(repo, '.sops.yaml'), recorder, watcher };
}

test('reports an edited bundle as source, and its commit as a branch ref move', async (t) => {
  const f = await start(t);
  let mark = f.recorder.mark();
  await writeFile(f.bundle, 'token: two\n');
  await f.recorder.waitForReasons(mark, ['source']);
  mark = f.recorder.mark();
  await git(f.repo, ['commit', '-q', '-am', 'two']);
  await f.recorder.waitForReasons(mark, ['branch-ref', 'index']);
  t.pass();
});

test('reports a checkout of a branch with a different bundle as source and head', async (t) => {
  const f = await start(t);
  await git(f.repo, ['checkout', '-q', '-b', 'other']);
  await commitFiles(f.repo, { [BUNDLE]: 'token: other\n' });
  await git(f.repo, ['checkout', '-q', 'main']);
  await f.recorder.waitForReasons(0, ['source']);
  const mark = f.recorder.mark();
  await git(f.repo, ['checkout', '-q', 'other']);
  await f.recorder.waitForReasons(mark, ['source', 'head']);
  t.pass();
});

test('follows the bundle through a checkout of a branch without it and back', async (t) => {
  const f = await start(t);
  await git(f.repo, ['checkout', '-q', '-b', 'bare']);
  await git(f.repo, ['rm', '-q', '-r', 'config']);
  await git(f.repo, ['commit', '-q', '-m', 'no bundle']);
  await f.recorder.waitForReasons(0, ['source', 'head']);
  let mark = f.recorder.mark();
  await git(f.repo, ['checkout', '-q', 'main']);
  await f.recorder.waitForReasons(mark, ['source', 'head']);
  // The watch survived the directory vanishing: a plain edit is still seen.
  mark = f.recorder.mark();
  await writeFile(f.bundle, 'token: edited\n');
  await f.recorder.waitForReasons(mark, ['source']);
  t.pass();
});

test('reports a file replaced by rename, twice, as source', async (t) => {
  const f = await start(t);
  for (const value of ['two', 'three']) {
    const mark = f.recorder.mark();
    const temp = path.join(f.repo, 'config', `.tmp-${value}`);
    await writeFile(temp, `token: ${value}\n`);
    await rename(temp, f.bundle);
    await f.recorder.waitForReasons(mark, ['source']);
  }
  t.pass();
});

test('reports git reset --hard and git stash / stash pop as source', async (t) => {
  const f = await start(t);
  await commitFiles(f.repo, { [BUNDLE]: 'token: two\n' });
  let mark = f.recorder.mark();
  await git(f.repo, ['reset', '-q', '--hard', 'HEAD~1']);
  await f.recorder.waitForReasons(mark, ['source', 'branch-ref']);
  await writeFile(f.bundle, 'token: local\n');
  mark = f.recorder.mark();
  await git(f.repo, ['stash', '-q']);
  await f.recorder.waitForReasons(mark, ['source']);
  mark = f.recorder.mark();
  await git(f.repo, ['stash', 'pop', '-q']);
  await f.recorder.waitForReasons(mark, ['source']);
  t.pass();
});

test('reports a git pull that brings a new bundle as source and branch ref', async (t) => {
  const f = await start(t);
  const upstream = await tempDir(t, 'mcp-upstream-');
  const clone = path.join(upstream, 'clone');
  await git(upstream, ['clone', '-q', f.repo, clone]);
  await commitFiles(clone, { [BUNDLE]: 'token: pulled\n' });
  await git(f.repo, ['remote', 'add', 'team', clone]);
  const mark = f.recorder.mark();
  await git(f.repo, ['pull', '-q', '--ff-only', 'team', 'main']);
  await f.recorder.waitForReasons(mark, ['source', 'branch-ref']);
  t.pass();
});

test('reports a conflicting merge, and the git add that resolves it', async (t) => {
  const f = await start(t);
  await git(f.repo, ['checkout', '-q', '-b', 'theirs']);
  await commitFiles(f.repo, { [BUNDLE]: 'token: theirs\n' });
  await git(f.repo, ['checkout', '-q', 'main']);
  await commitFiles(f.repo, { [BUNDLE]: 'token: ours\n' });
  let mark = f.recorder.mark();
  const merge = await tryGit(f.repo, ['merge', 'theirs']);
  t.not(merge.exitCode, 0);
  await f.recorder.waitForReasons(mark, ['source', 'index']);
  t.true((await bundleGitState(f.repo, BUNDLE, await fileBytes(f.repo, BUNDLE))).conflict.conflicted);
  await writeFile(f.bundle, 'token: resolved\n');
  await f.recorder.waitForReasons(mark, ['source']);
  mark = f.recorder.mark();
  await git(f.repo, ['add', BUNDLE]);
  await f.recorder.waitForReasons(mark, ['index']);
  t.false((await bundleGitState(f.repo, BUNDLE, await fileBytes(f.repo, BUNDLE))).conflict.conflicted);
});

test('reports an output deleted, written and recreated by someone else', async (t) => {
  const f = await start(t);
  let mark = f.recorder.mark();
  await rm(f.outputs[0]);
  await f.recorder.waitForReasons(mark, ['output']);
  mark = f.recorder.mark();
  await writeFile(f.outputs[1], '{"tampered":true}\n');
  await f.recorder.waitForReasons(mark, ['output']);
  mark = f.recorder.mark();
  await writeFile(f.outputs[0], 'A=2\n');
  await f.recorder.waitUntil(() => f.recorder.events.slice(mark).some((e) => e.reasons.includes('output') && e.paths.includes(f.outputs[0])), 'the recreated output');
  t.pass();
});

test('keeps watching the outputs when the home directory is removed and recreated', async (t) => {
  const f = await start(t);
  let mark = f.recorder.mark();
  await rm(f.home, { recursive: true });
  await f.recorder.waitForReasons(mark, ['output']);
  const rewatched = (n: number) => () => f.recorder.logs.filter((l) => l.message.includes('watching again: ready')).length >= n;
  await f.recorder.waitUntil(rewatched(1), 'a watch from the nearest existing directory');
  mark = f.recorder.mark();
  await mkdir(f.home);
  await writeFile(f.outputs[0], 'A=3\n');
  await f.recorder.waitForReasons(mark, ['output']);
  // Once home exists again the watch moves back down to it; changes after that carry their path.
  await f.recorder.waitUntil(rewatched(2), 'the watch back on the home directory');
  mark = f.recorder.mark();
  await writeFile(f.outputs[1], '{"again":true}\n');
  await f.recorder.waitUntil(() => f.recorder.events.slice(mark).some((e) => e.paths.includes(f.outputs[1])), 'the changed output');
  t.pass();
});

test('watches each output as a file, not home: a publish in home is one change per output, and a deleted output is watched through home until it is back', async (t) => {
  const f = await start(t);
  const outputRoots = () => f.recorder.logs.filter((l) => l.message === 'watching the outputs').map((l) => l.meta?.roots);
  t.deepEqual(outputRoots().at(-1), f.outputs.map((o) => realpathSync(o)));
  // what the publisher does in home: temp, chmod, write, backup link, rename over, backup removed
  let mark = f.recorder.mark();
  const temp = path.join(f.home, '.mcp-secrets-tmp-1');
  await writeFile(temp, 'A=2\n', { mode: 0o600 });
  await chmod(temp, 0o600);
  await link(f.outputs[0], path.join(f.home, '.mcp-secrets-bak'));
  await rename(temp, f.outputs[0]);
  await rm(path.join(f.home, '.mcp-secrets-bak'));
  await f.recorder.waitForReasons(mark, ['output']);
  await quietPeriod(300);
  t.true(f.recorder.events.slice(mark).every((e) => [...e.reasons].every((r) => r === 'output')));
  t.is(outputRoots().length, 1, 'a rename over an output is followed without starting over');
  // someone deletes an output: seen, watched through home, and back to the file once it is there
  mark = f.recorder.mark();
  await rm(f.outputs[1]);
  await f.recorder.waitForReasons(mark, ['output']);
  await f.recorder.waitUntil(() => outputRoots().some((roots) => Array.isArray(roots) && roots.includes(realpathSync(f.home))), 'home watched while the output is missing');
  await writeFile(f.outputs[1], '{}\n');
  await f.recorder.waitUntil(() => JSON.stringify(outputRoots().at(-1)) === JSON.stringify(f.outputs.map((o) => realpathSync(o))), 'the outputs watched as files again');
  mark = f.recorder.mark();
  await writeFile(f.outputs[1], '{"again":true}\n');
  await f.recorder.waitUntil(() => f.recorder.events.slice(mark).some((e) => e.paths.includes(f.outputs[1])), 'a change of the recreated output');
});

test('a second write of the bundle within 50 ms is reported too (chokidar drops it from its change events)', async (t) => {
  const f = await start(t);
  let mark = f.recorder.mark();
  await writeFile(f.bundle, 'token: first\n');
  await f.recorder.waitForReasons(mark, ['source']);
  // at once after chokidar reported the first write: inside its 50 ms change throttle
  mark = f.recorder.mark();
  const second = performance.now();
  await writeFile(f.bundle, 'token: second\n');
  await f.recorder.waitUntil(() => f.recorder.events.slice(mark).some((e) => e.at > second && e.reasons.includes('source')), 'a call for the second write', 2000);
  t.pass();
});

test('reports a changed .sops.yaml as sops-config', async (t) => {
  const f = await start(t);
  const mark = f.recorder.mark();
  await writeFile(f.sopsConfig, 'creation_rules: [{age: age1x}]\n');
  const reasons = await f.recorder.waitForReasons(mark, ['sops-config']);
  t.false(reasons.has('source'));
});

test('holds a change while index.lock exists and delivers it once the lock goes', async (t) => {
  const f = await start(t, { settleMs: 30 });
  const lock = path.join(f.repo, '.git', 'index.lock');
  const mark = f.recorder.mark();
  await writeFile(lock, '');
  await writeFile(f.bundle, 'token: during-lock\n');
  await f.recorder.waitForLog('waiting for index.lock');
  t.is(f.recorder.events.length, mark, 'nothing is delivered while git holds the lock');
  await rm(lock);
  const reasons = await f.recorder.waitForReasons(mark, ['source']);
  t.true(reasons.has('index'));
});

test('delivers anyway, with a warning, when index.lock outlives the cap', async (t) => {
  const f = await start(t, { settleMs: 20, lockCapMs: 200 });
  await writeFile(path.join(f.repo, '.git', 'index.lock'), '');
  const mark = f.recorder.mark();
  await writeFile(f.bundle, 'token: stale-lock\n');
  await f.recorder.waitForReasons(mark, ['source']);
  t.true(f.recorder.logs.some((l) => l.level === 'warn' && l.message.includes('index.lock')));
});

test('stays silent while idle, even while provenance and conflict state are read', async (t) => {
  const f = await start(t);
  const mark = f.recorder.mark();
  for (let i = 0; i < 5; i++) {
    await bundleGitState(f.repo, BUNDLE, await fileBytes(f.repo, BUNDLE));
  }
  await quietPeriod(400);
  t.deepEqual(f.recorder.events.slice(mark), []);
});

test('coalesces 200 rapid checkouts into few calls, the last after the last change', async (t) => {
  const f = await start(t);
  await git(f.repo, ['checkout', '-q', '-b', 'other']);
  await commitFiles(f.repo, { [BUNDLE]: 'token: other\n' });
  await f.recorder.waitForReasons(0, ['source', 'branch-ref']);
  const mark = f.recorder.mark();
  // One shell running git back to back: as rapid as a script or an IDE can make it.
  await execa('sh', ['-c', 'i=0; while [ $i -lt 99 ]; do git checkout -q main && git checkout -q other || exit 1; i=$((i+1)); done; git checkout -q main'], { cwd: f.repo });
  // the 200th checkout on its own: its events come after this instant, whereas the end of a shell
  // loop can be seen after the watcher already reported its last checkout (a race in the test)
  const lastChange = performance.now();
  await git(f.repo, ['checkout', '-q', 'other']);
  await f.recorder.waitUntil(() => f.recorder.events.slice(mark).some((e) => e.at > lastChange && e.reasons.includes('head')), 'a call for the last checkout');
  const calls = f.recorder.events.length - mark;
  t.log(`${calls} onChange calls for 200 checkouts`);
  t.true(calls >= 1 && calls <= 50, `${calls} calls`);
});

test('watches a linked worktree: HEAD in its own git dir, the branch ref in the shared one', async (t) => {
  const repo = await initRepo(await tempDir(t), { [BUNDLE]: 'token: one\n' });
  const parent = await tempDir(t);
  const linked = path.join(parent, 'linked');
  await git(repo, ['worktree', 'add', '-q', '-b', 'feature', linked]);
  const recorder = new WatchRecorder();
  const watcher = await watchSource({ workTree: linked, sourcePath: path.join(linked, BUNDLE), outputPaths: [path.join(parent, 'out.env')], onChange: recorder.onChange });
  t.teardown(() => watcher.close());
  await watcher.ready;
  let mark = recorder.mark();
  await commitFiles(linked, { [BUNDLE]: 'token: feature\n' });
  await recorder.waitForReasons(mark, ['source', 'branch-ref']);
  mark = recorder.mark();
  await git(linked, ['checkout', '-q', '--detach', 'main']);
  await recorder.waitForReasons(mark, ['source', 'head']);
  // The main work tree moving its own branch is not this worktree's business.
  mark = recorder.mark();
  await commitFiles(repo, { 'README.md': 'main moves\n' });
  await quietPeriod(300);
  t.deepEqual(recorder.events.slice(mark), []);
});
