/**
 * `status` and `tray` are what a status bar runs every few seconds: they must not load the
 * daemon's dependencies. A resolve hook records every module the process loads.
 */
import test from 'ava';
import path from 'node:path';
import { execa } from 'execa';
import { CLI } from '../helpers/e2e.js';
import { tempDir } from '../helpers/temp.js';
import { moduleLog } from '../helpers/module-log.js';

const HEAVY = ['node_modules/commander', 'node_modules/winston', 'node_modules/chokidar', 'node_modules/execa', 'node_modules/keytar', 'node_modules/@napi-rs/keyring', 'node_modules/node-ipc', 'node_modules/yaml', 'node_modules/age-encryption', '/src/daemon/', '/src/sops/', '/src/watch/', '/src/identity/', '/src/ipc/server.js', '/src/log.js'];

for (const args of [['status'], ['status', '--json'], ['status', '--check'], ['tray', '--format', 'waybar']]) {
  test(`\`mcp-secrets ${args.join(' ')}\` loads no daemon dependency`, async (t) => {
    const dir = await tempDir(t);
    const modules = await moduleLog(dir);
    const r = await execa(process.execPath, ['--import', modules.hook, CLI, ...args, '--socket', path.join(dir, 'none.sock')], { reject: false });
    t.is(r.exitCode, 3, 'no daemon: exit 3');
    const loaded = await modules.loaded();
    t.true(loaded.some((u) => u.includes('/src/ipc/client.js')), 'the hook saw our modules');
    t.deepEqual(loaded.filter((u) => HEAVY.some((h) => u.includes(h))), []);
  });
}
