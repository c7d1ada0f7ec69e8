/**
 * The layering of src/ (STYLE.md "Layout", issue 12), read from the import statements of the
 * source itself: commands and the daemon reach the engine and the publisher only through the
 * use-case layer, the engine stays pure, only `main` loads the CLI, and the status/tray client
 * loads no daemon code. Every static, re-export, side-effect and dynamic import counts, type-only
 * ones too (a type import is still a dependency on that module's owner).
 */
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** dist/test/unit/architecture/ → the repository root. */
const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const SRC = path.join(ROOT, 'src');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** `src/`-relative path with forward slashes, e.g. `cli/doctor.ts`. */
const rel = (file: string): string => path.relative(SRC, file).split(path.sep).join('/');

/** Each file's imports of other src files (`src/`-relative); package imports are left out. */
function importGraph(): Map<string, string[]> {
  const graph = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const info = ts.preProcessFile(readFileSync(file, 'utf8'), true, true);
    const targets = info.importedFiles
      .map((f) => f.fileName)
      .filter((spec) => spec.startsWith('.'))
      .map((spec) => rel(path.resolve(path.dirname(file), spec.replace(/\.js$/, '.ts'))));
    graph.set(rel(file), targets);
  }
  return graph;
}

const graph = importGraph();
const within = (file: string, ...dirs: string[]): boolean => dirs.some((d) => file.startsWith(`${d}/`));

function violations(pick: (from: string) => boolean, forbidden: (from: string, to: string) => boolean): string[] {
  const out: string[] = [];
  for (const [from, targets] of graph) if (pick(from)) for (const to of targets) if (forbidden(from, to)) out.push(`${from} → ${to}`);
  return out;
}

function transitive(start: string): Set<string> {
  const seen = new Set<string>();
  const queue = [start];
  while (queue.length > 0) {
    const file = queue.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    queue.push(...(graph.get(file) ?? []));
  }
  return seen;
}

test('the scan sees static, re-exported and dynamic imports (it cannot pass by finding nothing)', (t) => {
  t.true(graph.size > 50, `only ${graph.size} files under src/`);
  t.true(graph.get('main.ts')?.includes('cli/run.ts'), 'the dynamic import of the CLI in main.ts');
  t.true(graph.get('bundle/open.ts')?.includes('sops/index.ts'), 'the use-case layer opens bundles with the engine');
  t.true(graph.get('sops/index.ts')?.includes('sops/engine.ts'), 'a re-export');
});

test('no command, daemon or consumer module imports the engine, the engine runners or the publisher: only the use-case layer does', (t) => {
  const bad = violations(
    (from) => within(from, 'cli', 'daemon', 'consumers'),
    (_from, to) => within(to, 'sops', 'engine', 'publish'),
  );
  t.deepEqual(bad, [], 'go through src/bundle/ (or src/rotate/ for rotation)');
});

test('the engine (src/sops) imports nothing outside itself but the error module', (t) => {
  const bad = violations(
    (from) => within(from, 'sops'),
    (_from, to) => !within(to, 'sops') && to !== 'errors.ts',
  );
  t.deepEqual(bad, []);
});

test('nothing but main.ts imports the CLI', (t) => {
  const bad = violations(
    (from) => !within(from, 'cli') && from !== 'main.ts',
    (_from, to) => within(to, 'cli'),
  );
  t.deepEqual(bad, []);
});

for (const start of ['ipc/client.ts', 'cli/status.ts', 'cli/tray.ts']) {
  test(`${start} loads no daemon module, however indirectly`, (t) => {
    t.true(graph.has(start), `${start} exists`);
    t.deepEqual([...transitive(start)].filter((f) => within(f, 'daemon')), []);
  });
}
