import test from 'ava';
import { AppError } from '../../../src/errors.js';
import { ephemeralCliLocation, npmCacheDir, refuseEphemeralCliLocation } from '../../../src/service/cli-location.js';

const context = { env: { HOME: '/home/ann' }, tmpdir: '/tmp', platform: 'linux' as const };

test('refuses a CLI inside an npx cache, wherever that cache is', (t) => {
  t.regex(ephemeralCliLocation('/home/ann/.npm/_npx/1a2b3c/node_modules/mcp-secrets/dist/src/main.js', context) ?? '', /npx cache/);
  t.regex(ephemeralCliLocation('/srv/cache/_npx/9f/node_modules/mcp-secrets/dist/src/main.js', context) ?? '', /npx cache/);
});

test('refuses a CLI inside the npm cache, the default one or $npm_config_cache', (t) => {
  t.regex(ephemeralCliLocation('/home/ann/.npm/_cacache/tmp/x/dist/src/main.js', context) ?? '', /npm cache \(\/home\/ann\/\.npm\)/);
  const custom = { ...context, env: { HOME: '/home/ann', npm_config_cache: '/var/cache/npm' } };
  t.is(npmCacheDir(custom), '/var/cache/npm');
  t.regex(ephemeralCliLocation('/var/cache/npm/x/main.js', custom) ?? '', /npm cache/);
});

test('refuses a CLI inside the system temp dir', (t) => {
  t.regex(ephemeralCliLocation('/tmp/mcp-secrets-1.0/package/dist/src/main.js', context) ?? '', /system temp dir \(\/tmp\)/);
});

test('accepts a clone, a global install under a prefix, and a path that only looks like the temp dir', (t) => {
  t.is(ephemeralCliLocation('/home/ann/src/mcp-secrets/dist/src/main.js', context), null);
  t.is(ephemeralCliLocation('/home/ann/.local/lib/node_modules/mcp-secrets/dist/src/main.js', context), null);
  t.is(ephemeralCliLocation('/usr/lib/node_modules/mcp-secrets/dist/src/main.js', context), null);
  t.is(ephemeralCliLocation('/tmpfoo/mcp-secrets/dist/src/main.js', context), null);
  t.is(ephemeralCliLocation('/home/ann/.npmrc-tools/mcp-secrets/main.js', context), null);
});

test('the refusal is E_USAGE naming the path and how to install for good', (t) => {
  const error = t.throws(() => refuseEphemeralCliLocation('/home/ann/.npm/_npx/1a/node_modules/mcp-secrets/dist/src/main.js', context)) as AppError;
  t.is(error.code, 'E_USAGE');
  t.regex(error.message, /refusing to point the login service at \/home\/ann\/\.npm\/_npx\//);
  t.regex(error.hint ?? '', /npm install -g \.\/mcp-secrets-<version>\.tgz/);
  t.notRegex(error.hint ?? '', /npm install -g mcp-secrets(\s|$)/);
});
