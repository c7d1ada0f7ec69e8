import test from 'ava';
import type { Entry } from '../../../src/render/entries.js';
import { renderJson } from '../../../src/render/json.js';

const entry = (name: string, value: string): Entry => ({ name, provider: 'ops', value, path: [name] });

test('writes a flat name → value object in bundle order, two-space indented, newline at the end', (t) => {
  const text = new TextDecoder().decode(renderJson([entry('B', '2'), entry('A', 'line\n"quoted"')]));
  t.is(text, '{\n  "B": "2",\n  "A": "line\\n\\"quoted\\""\n}\n');
  t.deepEqual(Object.keys(JSON.parse(text) as object), ['B', 'A']);
});

test('an entry named __proto__ is written as data', (t) => {
  const parsed = JSON.parse(new TextDecoder().decode(renderJson([entry('__proto__', 'x')]))) as Record<string, unknown>;
  t.true(Object.hasOwn(parsed, '__proto__'));
});

test('equal entries give byte-equal output', (t) => {
  t.deepEqual(renderJson([entry('A', '1')]), renderJson([entry('A', '1')]));
});
