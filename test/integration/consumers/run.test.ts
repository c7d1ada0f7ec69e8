import test from 'ava';
import { EventEmitter } from 'node:events';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../../../src/errors.js';
import type { Entry } from '../../../src/render/entries.js';
import { runConsumer, type RunInput } from '../../../src/consumers/run.js';
import { tempDir } from '../../helpers/temp.js';

const ENTRIES: Entry[] = [
  { name: 'GEMINI_API_KEY', provider: 'gemini', value: 'gm-secret-value', path: ['gemini', 'api_key'] },
  { name: 'OPENAI_API_KEY', provider: 'openai', value: 'sk-openai-value', path: ['openai', 'api_key'] },
  { name: 'DATABASE_URL', provider: 'ops', value: 'postgres://db', path: ['DATABASE_URL'] },
];

/** A child that writes its environment as JSON to a file the test reads. */
function dumpEnvInput(file: string, extra: Partial<RunInput> = {}): RunInput {
  return {
    command: process.execPath,
    args: ['-e', `require('fs').writeFileSync(${JSON.stringify(file)}, JSON.stringify(process.env))`],
    selectors: {},
    mask: false,
    preserveEnv: false,
    cwd: path.dirname(file),
    env: { PATH: process.env.PATH, SOPS_AGE_KEY: 'AGE-SECRET-KEY-1FAKE', SOPS_AGE_KEY_CMD: 'pass age', KEEP_ME: 'yes' },
    terminal: false,
    ...extra,
  };
}

const deps = (opened = { entries: ENTRIES, profiles: { gemini: { include: ['GEMINI_*'] } } }) => ({
  openEntries: async () => opened,
  stderr: () => {},
  signals: new EventEmitter(),
});

test('the child gets exactly the selected entries, the parent environment less SOPS_AGE_*, and run returns its code', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'env.json');
  t.is(await runConsumer(dumpEnvInput(file, { selectors: { profiles: ['gemini'] } }), deps()), 0);
  const env = JSON.parse(await readFile(file, 'utf8')) as Record<string, string>;
  t.is(env.GEMINI_API_KEY, 'gm-secret-value');
  t.is(env.KEEP_ME, 'yes');
  t.false('OPENAI_API_KEY' in env);
  t.false('DATABASE_URL' in env);
  t.deepEqual(Object.keys(env).filter((k) => k.startsWith('SOPS_AGE_')), []);
});

test('a missing command gives 127 before the bundle is opened', async (t) => {
  let opened = 0;
  const messages: string[] = [];
  const code = await runConsumer(dumpEnvInput('/nonexistent/x', { command: 'no-such-command-mcp' }), {
    ...deps(),
    openEntries: async () => {
      opened++;
      return { entries: ENTRIES, profiles: {} };
    },
    stderr: (s) => messages.push(s),
  });
  t.is(code, 127);
  t.is(opened, 0);
  t.regex(messages.join(''), /no-such-command-mcp: command not found/);
});

test('fails closed: a bundle that does not open, or a selector that matches nothing, never starts the child', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'env.json');
  await t.throwsAsync(
    runConsumer(dumpEnvInput(file), {
      ...deps(),
      openEntries: async () => {
        throw new AppError('E_MAC_MISMATCH', 'MAC mismatch: config/secrets.enc.yaml');
      },
    }),
    { instanceOf: AppError, message: /MAC mismatch/ },
  );
  await t.throwsAsync(runConsumer(dumpEnvInput(file, { selectors: { only: ['ANTHROPIC_*'] } }), deps()), { message: /--only ANTHROPIC_\*/ });
  await t.throwsAsync(runConsumer(dumpEnvInput(file, { selectors: { profiles: ['nope'] } }), deps()), { message: /unknown profile/ });
  await t.throwsAsync(readFile(file), { code: 'ENOENT' }, 'the child never ran');
});
