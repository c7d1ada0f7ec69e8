import test from 'ava';
import { access, chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { resolveRunInput, runRun, type RunCommandDeps } from '../../../src/cli/run-command.js';
import type { CommandInput } from '../../../src/cli/types.js';
import { runConsumer, type RunDeps, type RunInput } from '../../../src/consumers/run.js';
import type { Profile } from '../../../src/consumers/select.js';
import { AppError } from '../../../src/errors.js';
import type { Entry } from '../../../src/render/entries.js';
import { captureIo } from '../../helpers/cli-io.js';

const IO = { env: { HOME: '/home/u', PATH: '/usr/bin:/bin' }, cwd: '/work/repo', stdinIsTTY: false };

function words(values: CommandInput['values'], passThrough: string[] | null = ['mcp-server', '--stdio'], positionals: string[] = []): CommandInput {
  return { values, positionals, passThrough };
}

const entry = (name: string, value: string): Entry => ({ name, value, provider: 'ops', path: [name] });

test('usage errors are thrown while resolving, before anything is opened or started', (t) => {
  const cases: [CommandInput, RegExp][] = [
    [words({}, null), /`--` is required/],
    [words({}, [], []), /no command after `--`/],
    [words({}, ['node'], ['node']), /"node" comes before `--`/],
    [words({ json: true }), /--json does not apply/],
    [words({ socket: '/s.sock' }), /--socket applies only with --watch/],
    [words({ grace: '5' }), /--grace applies only with --watch/],
    [words({ watch: true, grace: '0' }), /--grace takes seconds/],
    [words({ watch: true, grace: '-1' }), /--grace takes seconds/],
    [words({ watch: true, grace: '3601' }), /--grace takes seconds/],
    [words({ engine: 'gpg' }), /--engine must be one of/],
  ];
  for (const [input, message] of cases) {
    const error = t.throws<AppError>(() => resolveRunInput(input, IO), undefined, message.source);
    t.is(error?.code, 'E_USAGE');
    t.regex(error?.message ?? '', message);
  }
});

test('words and flags resolve into the input: selectors split and repeated, --grace in ms', (t) => {
  const resolved = resolveRunInput(words({ only: ['A,B_*', 'C'], provider: ['gemini', 'openai'], profile: ['p1'], mask: true, watch: true, grace: '2.5', socket: 's.sock' }), IO);
  t.deepEqual(resolved, {
    command: 'mcp-server',
    args: ['--stdio'],
    selectors: { only: ['A', 'B_*', 'C'], providers: ['gemini', 'openai'], profiles: ['p1'] },
    mask: true,
    preserveEnv: false,
    watch: true,
    graceMs: 2500,
    repoFlag: null,
    source: 'config/secrets.enc.yaml',
    home: '/home/u/.mcp',
    engine: 'auto',
    socket: '/work/repo/s.sock',
    cwd: '/work/repo',
    terminal: false,
  });
});

interface World {
  deps: RunCommandDeps;
  consumer: { input: RunInput; deps: RunDeps }[];
  opened: { sourceAbs: string; home: string; wantsProfiles: boolean }[];
  lookups: { cache: boolean }[];
  subscribed: string[];
}

function world(over: Partial<RunCommandDeps> = {}, catalogue: { entries: Entry[]; profiles: Record<string, Profile> } = { entries: [entry('GEMINI_API_KEY', 'g-value'), entry('OPENAI_API_KEY', 'o-value')], profiles: {} }): World {
  const w: World = { consumer: [], opened: [], lookups: [], subscribed: [], deps: undefined as unknown as RunCommandDeps };
  w.deps = {
    io: captureIo({ env: IO.env }),
    resolveRepo: async ({ repoFlag }) => repoFlag ?? '/work/repo',
    identityLookup: (options) => {
      w.lookups.push({ cache: options.cache });
      return async () => ({ identities: [], attempts: [] });
    },
    openForConsumer: async (plan, _deps, wantsProfiles) => {
      w.opened.push({ sourceAbs: plan.sourceAbs, home: plan.home, wantsProfiles });
      return catalogue;
    },
    runConsumer: async (input, deps) => {
      w.consumer.push({ input, deps });
      await deps.openEntries();
      return 0;
    },
    subscribeToDaemon: async (socket) => {
      w.subscribed.push(socket);
      return { close: () => undefined };
    },
    ...over,
  };
  return w;
}

test('hands the consumer the command, selectors and an opener for this repo; never caches an identity', async (t) => {
  const w = world();
  const input = resolveRunInput(words({ profile: ['gem'], 'preserve-env': true, repo: '/other' }), IO);
  t.is(await runRun(input, w.deps), 0);
  t.deepEqual(w.lookups, [{ cache: false }]);
  t.like(w.consumer[0]?.input, { command: 'mcp-server', args: ['--stdio'], preserveEnv: true, mask: false, watch: false, cwd: '/work/repo' });
  t.deepEqual(w.opened, [{ sourceAbs: '/other/config/secrets.enc.yaml', home: '/home/u/.mcp', wantsProfiles: true }]);
  t.is(w.consumer[0]?.deps.subscribe, undefined, 'no daemon asked without --watch');
});

test('profiles are read only when a --profile is given', async (t) => {
  const w = world();
  await runRun(resolveRunInput(words({ only: ['GEMINI_*'] }), IO), w.deps);
  t.false(w.opened[0]?.wantsProfiles);
});

test('--watch subscribes to the daemon on --socket', async (t) => {
  const w = world();
  await runRun(resolveRunInput(words({ watch: true, socket: '/run/s.sock' }), IO), w.deps);
  await w.consumer[0]?.deps.subscribe?.(() => undefined, () => undefined);
  t.deepEqual(w.subscribed, ['/run/s.sock']);
});

/** A real executable that leaves a marker when it runs: proof that nothing was started. */
async function markerCommand(t: { teardown(fn: () => Promise<void>): void }): Promise<{ command: string; marker: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcp-run-unit-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const marker = path.join(dir, 'started');
  const command = path.join(dir, 'server.sh');
  await writeFile(command, `#!/bin/sh\ntouch '${marker}'\n`);
  await chmod(command, 0o700);
  return { command, marker };
}

const startedAt = async (marker: string): Promise<boolean> => access(marker).then(() => true, () => false);

test('an unknown profile, a selector matching nothing, or an unknown provider fail before the child starts', async (t) => {
  const { command, marker } = await markerCommand(t);
  const catalogue = { entries: [entry('GEMINI_API_KEY', 'g-value')], profiles: { gemini: { include: ['GEMINI_*'] } } };
  const cases: [CommandInput['values'], RegExp][] = [
    [{ profile: ['openai'] }, /unknown profile "openai"/],
    [{ only: ['ANTHROPIC_*'] }, /nothing in the bundle matches/],
    [{ only: ['OPENAI_API_KEY'] }, /nothing in the bundle matches/],
    [{ provider: ['nope'] }, /unknown provider "nope"/],
  ];
  for (const [values, message] of cases) {
    const w = world({ runConsumer }, catalogue);
    const error = await t.throwsAsync<AppError>(runRun(resolveRunInput(words(values, [command]), IO), w.deps));
    t.is(error?.code, 'E_USAGE', message.source);
    t.regex(error?.message ?? '', message);
    t.false(error?.message.includes('g-value'), 'no value in the message');
  }
  t.false(await startedAt(marker), 'the child never started');
});

test('a bundle that does not open fails before the child starts', async (t) => {
  const { command, marker } = await markerCommand(t);
  const w = world({
    runConsumer,
    openForConsumer: async () => {
      throw new AppError('E_UNTRUSTED', 'config/secrets.enc.yaml was encrypted with a data key this machine has not accepted');
    },
  });
  t.is((await t.throwsAsync<AppError>(runRun(resolveRunInput(words({}, [command]), IO), w.deps)))?.code, 'E_UNTRUSTED');
  t.false(await startedAt(marker));
});
