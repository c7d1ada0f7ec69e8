/**
 * `sync` of an X25519 bundle with the native engine must start light: no execa (git runs through
 * node:child_process), no age-encryption (the X25519 stanza opens on node:crypto), no yaml 2
 * Document API (the CST parser of yaml3 reads the bundle), nothing of the daemon's.
 */
import test from 'ava';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { encrypt } from '../../src/sops/index.js';
import { CLI, isolatedEnv } from '../helpers/e2e.js';
import { git, initRepo } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';
import { moduleLog } from '../helpers/module-log.js';

const HEAVY = ['node_modules/execa/', 'node_modules/age-encryption/', 'node_modules/@noble/', 'node_modules/yaml/', 'node_modules/winston/', 'node_modules/ajv/', 'node_modules/chokidar/', 'node_modules/node-ipc/', '/src/daemon/', '/src/log.js'];

test('`mcp-secrets sync` of an X25519 bundle loads no execa, age-encryption, yaml 2, winston or daemon code', async (t) => {
  const dir = await tempDir(t);
  const repo = await initRepo(path.join(dir, 'repo'));
  const identity = await generateX25519Identity();
  await mkdir(path.join(repo, 'config'));
  await writeFile(path.join(repo, 'config', 'secrets.enc.yaml'), await encrypt({ MCP_SECRETS_VERSION: 'v1', API_KEY: 'not-a-real-secret' }, { format: 'yaml', recipients: [await identityToRecipient(identity)] }));
  await git(repo, ['add', '.']);
  await git(repo, ['commit', '-qm', 'bundle']);

  const modules = await moduleLog(dir);
  const env = isolatedEnv(dir, { SOPS_AGE_KEY: identity });
  const r = await execa(process.execPath, ['--import', modules.hook, CLI, 'sync', '--repo', repo, '--engine', 'native', '--no-cache-identity'], { env, extendEnv: false, reject: false, timeout: 60_000 });
  t.is(r.exitCode, 0, r.stderr);
  const loaded = await modules.loaded();
  t.true(loaded.some((u) => u.includes('/src/sops/age-x25519.js')), 'the hook saw our modules');
  t.deepEqual(loaded.filter((u) => HEAVY.some((h) => u.includes(h))), []);
  // 327 before this work, 55 after: a generous ceiling that still catches a heavy import coming back
  const files = new Set(loaded.filter((u) => !u.startsWith('node:')));
  t.true(files.size < 120, `sync loaded ${files.size} modules`);
});
