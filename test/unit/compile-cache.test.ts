import test from 'ava';
import { chmod, mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { compileCacheDir, enableCompileCache, ensurePrivateDir } from '../../src/compile-cache.js';
import { tempDir } from '../helpers/temp.js';

test('the compile cache lives under the user cache dir, never a temp dir', (t) => {
  t.is(compileCacheDir({ HOME: '/home/u' }, 'linux'), '/home/u/.cache/mcp-secrets/compile-cache');
  t.is(compileCacheDir({ HOME: '/home/u', XDG_CACHE_HOME: '/home/u/xc' }, 'linux'), '/home/u/xc/mcp-secrets/compile-cache');
  t.is(compileCacheDir({ HOME: '/Users/u' }, 'darwin'), '/Users/u/Library/Caches/mcp-secrets/compile-cache');
  // a relative XDG_CACHE_HOME is invalid by the spec and ignored
  t.is(compileCacheDir({ HOME: '/home/u', XDG_CACHE_HOME: 'rel' }, 'linux'), '/home/u/.cache/mcp-secrets/compile-cache');
});

test('creates the cache directory 0700', async (t) => {
  const dir = path.join(await tempDir(t), 'cache', 'mcp-secrets', 'compile-cache');
  t.true(ensurePrivateDir(dir));
  t.is((await stat(dir)).mode & 0o777, 0o700);
});

test('refuses an existing cache directory others can read, and leaves its mode alone', async (t) => {
  const dir = path.join(await tempDir(t), 'shared');
  await mkdir(dir);
  await chmod(dir, 0o755);
  t.false(ensurePrivateDir(dir));
  t.is((await stat(dir)).mode & 0o777, 0o755);
});

test('is a no-op on a Node without module.enableCompileCache, and enabled on one with it', async (t) => {
  const home = await tempDir(t);
  const result = enableCompileCache({ HOME: home, XDG_CACHE_HOME: path.join(home, 'c') });
  const supported = Number(process.versions.node.split('.')[0]) >= 22;
  t.is(result, supported ? 'enabled' : 'unsupported');
});
