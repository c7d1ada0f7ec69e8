import test from 'ava';
import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { AppError } from '../../../src/errors.js';
import { loadUserConfig, parseUserConfig, userConfigPath } from '../../../src/config/user-config.js';

async function configHome(t: { teardown(fn: () => Promise<void>): void }): Promise<{ env: Record<string, string>; file: string }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcp-ucfg-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const env = { HOME: path.join(dir, 'home'), XDG_CONFIG_HOME: path.join(dir, 'xdg') };
  await mkdir(path.join(dir, 'xdg', 'mcp-secrets'), { recursive: true });
  return { env, file: path.join(dir, 'xdg', 'mcp-secrets', 'config.yaml') };
}

test('lives under XDG_CONFIG_HOME, else ~/.config, never in a repo', (t) => {
  t.is(userConfigPath({ XDG_CONFIG_HOME: '/x/cfg', HOME: '/h' }), '/x/cfg/mcp-secrets/config.yaml');
  t.is(userConfigPath({ HOME: '/h' }), '/h/.config/mcp-secrets/config.yaml');
  t.is(userConfigPath({ XDG_CONFIG_HOME: 'relative', HOME: '/h' }), '/h/.config/mcp-secrets/config.yaml');
});

test('an absent config means no allowed names', async (t) => {
  const { env } = await configHome(t);
  const config = await loadUserConfig(env);
  t.false(config.found);
  t.deepEqual(config.allowNames, []);
});

test('reads allowNames from the user config file', async (t) => {
  const { env, file } = await configHome(t);
  await writeFile(file, 'version: 1\nallowNames: [NODE_OPTIONS, PYTHONPATH]\n', { mode: 0o600 });
  const config = await loadUserConfig(env);
  t.true(config.found);
  t.deepEqual(config.allowNames, ['NODE_OPTIONS', 'PYTHONPATH']);
  t.true(Object.isFrozen(config));
});

test('refuses unknown settings, bad names and bad YAML with the file and the key named', async (t) => {
  const cases: [string, RegExp][] = [
    ['allowName: [NODE_OPTIONS]\n', /unknown setting "allowName"/],
    ['allowNames: [node_options]\n', /allowNames\.0: an entry name is upper-case/],
    ['allowNames: NODE_OPTIONS\n', /allowNames: must be array/],
    ['version: 2\n', /version: must be 1/],
    ['allowNames: [A, A]\n', /allowNames/],
    ['allowNames: [A\n', /YAML error/],
    ['a: 1\na: 2\n', /YAML error/],
    ['- just\n- a list\n', /the top level/],
  ];
  for (const [text, pattern] of cases) {
    const error = await t.throwsAsync(parseUserConfig(text, '/cfg/config.yaml'), { instanceOf: AppError }, text);
    t.is(error?.code, 'E_PARSE', text);
    t.true(error?.message.startsWith('/cfg/config.yaml: '), error?.message);
    t.regex(error?.message ?? '', pattern);
  }
});

test('refuses a config another user could change, a symlink and a FIFO, without hanging', async (t) => {
  const { env, file } = await configHome(t);
  await writeFile(file, 'allowNames: [NODE_OPTIONS]\n');
  await chmod(file, 0o666);
  t.is((await t.throwsAsync(loadUserConfig(env), { instanceOf: AppError }))?.code, 'E_INSECURE_PATH');
  await rm(file);
  const real = `${file}.real`;
  await writeFile(real, 'allowNames: [NODE_OPTIONS]\n', { mode: 0o600 });
  await symlink(real, file);
  t.is((await t.throwsAsync(loadUserConfig(env), { instanceOf: AppError }))?.code, 'E_INSECURE_PATH');
  await rm(file);
  const { execa } = await import('execa');
  await execa('mkfifo', [file]);
  t.is((await t.throwsAsync(loadUserConfig(env), { instanceOf: AppError }))?.code, 'E_PARSE');
});
