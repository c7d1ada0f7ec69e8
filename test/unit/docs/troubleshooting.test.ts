import test from 'ava';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ERROR_CODES } from '../../../src/errors.js';

/** dist/test/unit/docs/ → the repository root. */
const ROOT = new URL('../../../../', import.meta.url);

function headings(file: string): string[] {
  const text = readFileSync(fileURLToPath(new URL(file, ROOT)), 'utf8');
  return [...text.matchAll(/^## (E_[A-Z_]+)\s*$/gm)].map((m) => m[1] as string);
}

test('the troubleshooting page has one entry per error code, in the contract order', (t) => {
  t.deepEqual(headings('docs/troubleshooting.md'), [...ERROR_CODES]);
});

test('every troubleshooting entry says what it means, its causes and the fix', (t) => {
  const text = readFileSync(fileURLToPath(new URL('docs/troubleshooting.md', ROOT)), 'utf8');
  const entries = text.split(/^## (?=E_)/m).slice(1);
  t.is(entries.length, ERROR_CODES.length);
  for (const entry of entries) {
    const code = entry.split('\n', 1)[0];
    for (const part of ['**Means:**', '**Typical causes:**', '**Fix:**']) t.true(entry.includes(part), `${code}: ${part}`);
  }
});
