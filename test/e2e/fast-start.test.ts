/**
 * `status` and `tray` are what a status bar runs every few seconds: they must not load the
 * daemon's dependencies. A resolve hook records every module the process loads.
 */
import test from 'ava';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { CLI } from '../helpers/e2e.js';
import { tempDir } from '../helpers/temp.js';

const HEAVY = ['node_modules/commander', 'node_modules/winston', 'node_modules/chokidar', 'node_modules/execa', 'node_modules/keytar', 'node_modules/@napi-rs/keyring', 'node_modules/node-ipc', 'node_modules/yaml', 'node_modules/age-encryption', '/src/daemon/', '/src/sops/', '/src/watch/', '/src/identity/', '/src/ipc/server.js', '/src/log.js'];

for (const args of [['status'], ['status', '--json'], ['status', '--check'], ['tray', '--format', 'waybar']]) {
  test(`\`mcp-secrets ${args.join(' ')}\` loads no daemon dependency`, async (t) => {
    const dir = await tempDir(t);
    const log = path.join(dir, 'loaded.txt');
    const hook = path.join(dir, 'hook.mjs');
    const hooks = `import { appendFileSync } from 'node:fs';\nexport async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(${JSON.stringify(log)}, r.url + '\\n'); return r; }\n`;
    // ESM resolutions through the loader hook; CommonJS loads (winston, keytar are CJS) through Module._load
    const cjs =
      `import { appendFileSync } from 'node:fs';\nimport Module from 'node:module';\nconst load = Module._load;\n` +
      `Module._load = function (request, parent, isMain) { try { appendFileSync(${JSON.stringify(log)}, 'cjs:' + Module._resolveFilename(request, parent, isMain) + '\\n'); } catch {} return load.apply(this, arguments); };\n`;
    await writeFile(hook, `import { register } from 'node:module';\nregister('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hooks)}));\n${cjs}`);
    const r = await execa(process.execPath, ['--import', hook, CLI, ...args, '--socket', path.join(dir, 'none.sock')], { reject: false });
    t.is(r.exitCode, 3, 'no daemon: exit 3');
    const loaded = (await readFile(log, 'utf8')).split('\n').filter(Boolean);
    t.true(loaded.some((u) => u.includes('/src/ipc/client.js')), 'the hook saw our modules');
    t.deepEqual(loaded.filter((u) => HEAVY.some((h) => u.includes(h))), []);
  });
}
