import test from 'ava';
import fc from 'fast-check';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AppError } from '../../../src/errors.js';
import type { Entry } from '../../../src/render/entries.js';
import { envFormOf, renderEnv } from '../../../src/render/env.js';
import { readWithBash, readWithDotenv, readWithPythonBothWays } from '../../helpers/env-readers.js';

const SOURCE = { path: 'config/secrets.enc.yaml', sha256: 'c'.repeat(64) };

/** Characters every reader treats specially somewhere, plus ordinary and wide ones. */
const SPECIAL = [
  "'", '"', '`', '$', '{', '}', '\\', '#', '=', ' ', '\t', '\n', '\r', '!', '~', '*', '?', '[', ']', ';', '&', '|',
  '<', '>', '(', ')', 'n', 'r', 't', 'a', 'Z', '0', '_', '-', '/', ':', 'é', '中', '🔑', '\u2028', '\u00a0', '\v', '\0',
];
const valueArb = fc.oneof(
  { weight: 4, arbitrary: fc.string({ unit: fc.constantFrom(...SPECIAL), maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 24 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 12 }) },
);

function entries(values: readonly string[]): Entry[] {
  return values.map((value, i) => ({ name: `V${i}`, provider: 'ops', value, path: [`V${i}`] }));
}

test('every value it writes reads back identically with dotenv, bash and python-dotenv; the rest are refused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-env-prop-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  let run = 0;
  let written = 0;
  let refused = 0;
  await fc.assert(
    fc.asyncProperty(fc.array(valueArb, { minLength: 20, maxLength: 80 }), async (values) => {
      const carried = values.filter((v) => envFormOf(v) !== null);
      for (const value of values.filter((v) => envFormOf(v) === null)) {
        refused++;
        const error = t.throws(() => renderEnv(entries([value]), SOURCE), { instanceOf: AppError });
        if (error?.code !== 'E_UNREPRESENTABLE') return false;
      }
      written += carried.length;
      const list = entries(carried);
      const file = join(dir, `run-${run++}.env`);
      await writeFile(file, renderEnv(list, SOURCE), { mode: 0o600 });
      const expected = Object.fromEntries(list.map((e) => [e.name, e.value]));
      t.deepEqual(await readWithDotenv(file), expected, 'dotenv');
      t.deepEqual(await readWithBash(file, list.map((e) => e.name)), expected, 'bash');
      const python = await readWithPythonBothWays(file);
      t.deepEqual(python.plain, expected, 'python-dotenv');
      // With interpolation on (load_dotenv's default) only `${…}` is touched: everything else reads back too.
      const plain = list.filter((e) => !e.value.includes('${'));
      const interpolated = python.interpolated;
      t.deepEqual(
        plain.map((e) => interpolated[e.name]),
        plain.map((e) => e.value),
        'python-dotenv with interpolation',
      );
      return true;
    }),
    { numRuns: 25 },
  );
  t.log(`${written} values written and read back, ${refused} refused`);
  t.true(written > refused);
});
