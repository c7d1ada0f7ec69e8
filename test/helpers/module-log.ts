/**
 * Records every module a CLI process loads: ESM resolutions through a loader hook, CommonJS loads
 * (winston, keytar, commander are CJS) through Module._load. For the start-up tests that keep
 * heavy dependencies off a command's path.
 */
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface ModuleLog {
  /** Pass as `node --import <hook>` before the CLI. */
  readonly hook: string;
  /** Every module URL (or `cjs:` path) loaded so far. */
  loaded(): Promise<string[]>;
}

/** Writes the hook into `dir` (a private temp dir of the test). */
export async function moduleLog(dir: string): Promise<ModuleLog> {
  const log = path.join(dir, 'loaded.txt');
  const hook = path.join(dir, 'hook.mjs');
  const hooks = `import { appendFileSync } from 'node:fs';\nexport async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(${JSON.stringify(log)}, r.url + '\\n'); return r; }\n`;
  const cjs =
    `import { appendFileSync } from 'node:fs';\nimport Module from 'node:module';\nconst load = Module._load;\n` +
    `Module._load = function (request, parent, isMain) { try { appendFileSync(${JSON.stringify(log)}, 'cjs:' + Module._resolveFilename(request, parent, isMain) + '\\n'); } catch {} return load.apply(this, arguments); };\n`;
  await writeFile(hook, `import { register } from 'node:module';\nregister('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));\n${cjs}`);
  return { hook, loaded: async () => (await readFile(log, 'utf8')).split('\n').filter(Boolean) };
}
