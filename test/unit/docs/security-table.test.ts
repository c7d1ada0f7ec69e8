import test from 'ava';
import { access, readFile } from 'node:fs/promises';
import path from 'node:path';
import { repoRoot } from '../../helpers/fixtures.js';

/** The rows of docs/security.md's "What we tested" table: attack, result, count, proof. */
async function rows(): Promise<string[][]> {
  const doc = await readFile(path.join(repoRoot(), 'docs', 'security.md'), 'utf8');
  const section = doc.split('## What we tested')[1]?.split('\n## ')[0] ?? '';
  return section
    .split('\n')
    .filter((line) => line.startsWith('| ') && !line.startsWith('| attack') && !line.startsWith('| ---'))
    .map((line) => line.replace(/\\\|/g, '¦').split('|').slice(1, -1).map((cell) => cell.trim()));
}

test('the security table has rows, each with an attack, a result, a count and a proof', async (t) => {
  const table = await rows();
  t.true(table.length >= 20, `only ${table.length} rows`);
  for (const row of table) {
    t.is(row.length, 4, row.join(' | '));
    t.true(row.every((cell) => cell.length > 0), row.join(' | '));
    t.regex(row[2]!, /\d/, `count of "${row[0]}"`);
  }
});

test('every test file the security table names as proof exists', async (t) => {
  for (const row of await rows()) {
    const proof = /`(test\/[^`]+\.test\.ts)`/.exec(row[3] ?? '')?.[1];
    t.truthy(proof, `no test file named for "${row[0]}"`);
    await t.notThrowsAsync(access(path.join(repoRoot(), proof!)), `${proof} (for "${row[0]}") does not exist`);
  }
});
