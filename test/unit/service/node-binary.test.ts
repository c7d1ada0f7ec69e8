import test from 'ava';
import { nodeUpgradeWarning, resolveNodeBinary, versionManagerOf } from '../../../src/service/node-binary.js';
import { serviceLocations, serviceManagerFor } from '../../../src/service/platform.js';
import { AppError } from '../../../src/errors.js';

const HOME = '/home/dev';

test('recognises version-managed Node installs whose path moves on upgrade', (t) => {
  t.is(versionManagerOf('/home/dev/.nvm/versions/node/v20.19.0/bin/node', HOME), 'nvm');
  t.is(versionManagerOf('/home/dev/.volta/tools/image/node/20.19.0/bin/node', HOME), 'volta');
  t.is(versionManagerOf('/home/dev/.asdf/installs/nodejs/20.19.0/bin/node', HOME), 'asdf');
  t.is(versionManagerOf('/home/dev/.local/share/fnm/node-versions/v20.19.0/installation/bin/node', HOME), 'fnm');
  t.is(versionManagerOf('/home/dev/.local/share/mise/installs/node/20/bin/node', HOME), 'mise');
  t.is(versionManagerOf('/opt/homebrew/Cellar/node@20/20.19.0/bin/node', HOME), 'homebrew');
  t.is(versionManagerOf('/usr/bin/node', HOME), null);
  t.is(versionManagerOf('/usr/local/bin/node', HOME), null);
});

test('resolves a shim symlink to the real binary and warns to reinstall after upgrading', async (t) => {
  const links: Record<string, string> = { '/home/dev/.local/state/fnm_multishells/123/bin/node': '/home/dev/.nvm/versions/node/v20.19.0/bin/node' };
  const node = await resolveNodeBinary('/home/dev/.local/state/fnm_multishells/123/bin/node', HOME, async (p) => links[p] ?? p);
  t.deepEqual(node, { path: '/home/dev/.nvm/versions/node/v20.19.0/bin/node', manager: 'nvm' });
  t.regex(nodeUpgradeWarning(node) ?? '', /service install` again/);
  t.is(nodeUpgradeWarning({ path: '/usr/bin/node', manager: null }), null);
});

test('systemd on Linux, launchd on macOS, and a clear refusal elsewhere', (t) => {
  t.is(serviceManagerFor('linux'), 'systemd');
  t.is(serviceManagerFor('darwin'), 'launchd');
  const error = t.throws(() => serviceManagerFor('win32'), { instanceOf: AppError });
  t.regex(error?.message ?? '', /not supported on win32 yet/);
  t.regex(error?.hint ?? '', /Task Scheduler/);
});

test('puts the unit under XDG_CONFIG_HOME when set and the plist under LaunchAgents', (t) => {
  t.is(serviceLocations('systemd', HOME).file, '/home/dev/.config/systemd/user/mcp-secrets.service');
  t.is(serviceLocations('systemd', HOME, '/x/cfg').file, '/x/cfg/systemd/user/mcp-secrets.service');
  t.is(serviceLocations('systemd', HOME, 'relative').file, '/home/dev/.config/systemd/user/mcp-secrets.service');
  t.deepEqual(serviceLocations('launchd', '/Users/dev'), {
    kind: 'launchd',
    file: '/Users/dev/Library/LaunchAgents/dev.mcp-secrets.daemon.plist',
    logDir: '/Users/dev/Library/Logs/mcp-secrets',
  });
});
