/** README's command table and the parser's table (src/cli/spec.ts) name the same commands. */
import test from 'ava';
import { readFile } from 'node:fs/promises';
import { COMMAND_SPECS } from '../../../src/cli/spec.js';

const README = new URL('../../../../README.md', import.meta.url);

test("README's command table has a row for every command, and no row for a command that does not exist", async (t) => {
  const text = await readFile(README, 'utf8');
  const section = text.slice(text.indexOf('## Commands'), text.indexOf('## Runbook commands'));
  const rows = [...section.matchAll(/^\| `([a-z-]+)[ `]/gm)].map((m) => m[1]!);
  t.deepEqual([...rows].sort(), Object.keys(COMMAND_SPECS).sort());
});
