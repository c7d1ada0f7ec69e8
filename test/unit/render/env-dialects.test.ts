import test from 'ava';
import fc from 'fast-check';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../../src/errors.js';
import type { Entry } from '../../../src/render/entries.js';
import { bashFormOf, dotenvFormOf, envFormOf, renderEnv } from '../../../src/render/env.js';
import { readWithBash, readWithDotenv } from '../../helpers/env-readers.js';

const SOURCE = { path: 'config/secrets.enc.yaml', sha256: 'c'.repeat(64) };
const SPECIAL = ["'", '"', '`', '$', '{', '}', '\\', '#', '=', ' ', '\t', '\n', '\r', '!', '~', '*', 'n', 'r', 'a', 'Z', '0', '_', 'é', '🔑', '\u2028', '\0'];
const valueArb = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: fc.constantFrom(...SPECIAL), maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 24 }) },
);

function entries(values: readonly string[]): Entry[] {
  return values.map((value, i) => ({ name: `V${i}`, provider: 'ops', value, path: [`V${i}`] }));
}

async function scratch(t: import('ava').ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-env-dialect-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const QUOTED = `it's a "quoted" $HOME`;

test('a value compat refuses (both quotes and $) is carried by the bash and dotenv dialects', async (t) => {
  t.is(envFormOf(QUOTED), null);
  const dir = await scratch(t);
  const list = entries([QUOTED, 'line1\nline2', 'tab\there']);
  const expected = Object.fromEntries(list.map((e) => [e.name, e.value]));
  const bashFile = join(dir, 'b.env');
  await writeFile(bashFile, renderEnv(list, SOURCE, 'bash'));
  t.deepEqual(await readWithBash(bashFile, list.map((e) => e.name)), expected);
  const dotenvFile = join(dir, 'd.env');
  await writeFile(dotenvFile, renderEnv(list, SOURCE, 'dotenv'));
  t.deepEqual(await readWithDotenv(dotenvFile), expected);
  t.throws(() => renderEnv(list, SOURCE), { instanceOf: AppError, message: /every reader/ });
});

test('bash dialect: every value without NUL reads back exactly with bash', async (t) => {
  const dir = await scratch(t);
  let run = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(valueArb, { minLength: 10, maxLength: 40 }), async (values) => {
      const carried = values.filter((v) => bashFormOf(v) !== null);
      if (values.some((v) => bashFormOf(v) === null && !v.includes('\0'))) return false;
      const list = entries(carried);
      const file = join(dir, `b${run++}.env`);
      await writeFile(file, renderEnv(list, SOURCE, 'bash'));
      t.deepEqual(await readWithBash(file, list.map((e) => e.name)), Object.fromEntries(list.map((e) => [e.name, e.value])));
      return true;
    }),
    { numRuns: 20 },
  );
});

test('dotenv dialect: every value it writes reads back exactly with npm dotenv, the rest are refused', async (t) => {
  const dir = await scratch(t);
  let run = 0;
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(valueArb, { minLength: 10, maxLength: 40 }), async (values) => {
      const carried = values.filter((v) => dotenvFormOf(v) !== null);
      for (const v of values.filter((x) => dotenvFormOf(x) === null)) {
        refused++;
        t.throws(() => renderEnv(entries([v]), SOURCE, 'dotenv'), { message: /for dotenv/ });
      }
      const list = entries(carried);
      const file = join(dir, `d${run++}.env`);
      await writeFile(file, renderEnv(list, SOURCE, 'dotenv'));
      t.deepEqual(await readWithDotenv(file), Object.fromEntries(list.map((e) => [e.name, e.value])));
      return true;
    }),
    { numRuns: 40 },
  );
  t.log(`${refused} values refused`);
});

test('dotenv dialect takes names bash cannot assign; compat and bash refuse them', (t) => {
  const list: Entry[] = [{ name: '10', provider: 'ops', value: 'x', path: ['10'] }];
  t.notThrows(() => renderEnv(list, SOURCE, 'dotenv'));
  t.throws(() => renderEnv(list, SOURCE, 'bash'), { message: /shell variable/ });
  t.throws(() => renderEnv(list, SOURCE), { message: /shell variable/ });
});
