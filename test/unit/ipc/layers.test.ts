/**
 * The IPC modules' layering, read from the sources (type imports included): the status/tray
 * client stays cheap and separate from the server's parts, and what a request is answered with
 * (dispatch.ts) needs no socket, file system or logger.
 */
import test from 'ava';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../../../../src/', import.meta.url));

/** The relative imports of one source file, as source paths (`x.js` → `x.ts`); package imports as their names. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(?\s*)['"]([^'"]+)['"]/g)].map((m) => m[1]!);
  return specifiers.map((s) => (s.startsWith('.') ? path.resolve(path.dirname(file), s).replace(/\.js$/, '.ts') : s));
}

/** Every module a source file reaches, itself included. */
function reach(entry: string): Set<string> {
  const seen = new Set<string>();
  const todo = [path.join(SRC, entry)];
  while (todo.length > 0) {
    const file = todo.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (path.isAbsolute(file)) todo.push(...importsOf(file));
  }
  return seen;
}

const rel = (files: Set<string>): string[] => [...files].map((f) => (path.isAbsolute(f) ? path.relative(SRC, f) : f)).sort();

test('the status/tray client reaches no daemon module and no part of the server', (t) => {
  const reached = rel(reach('ipc/client.ts'));
  t.true(reached.includes('ipc/framing.ts'), `the walk follows imports: ${reached.join(', ')}`);
  const server = ['ipc/server.ts', 'ipc/socket-claim.ts', 'ipc/connection.ts', 'ipc/dispatch.ts'];
  t.deepEqual(
    reached.filter((f) => f.startsWith('daemon/') || server.includes(f) || f === 'node-ipc'),
    [],
  );
});

test('dispatch reaches no socket, file system, logger or daemon module', (t) => {
  const reached = rel(reach('ipc/dispatch.ts'));
  t.deepEqual(
    reached.filter((f) => f.startsWith('node:') || f === 'node-ipc' || f === 'log.ts' || f.startsWith('daemon/')),
    [],
    reached.join(', '),
  );
});
