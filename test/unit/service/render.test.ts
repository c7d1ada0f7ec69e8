import test from 'ava';
import fc from 'fast-check';
import plist from 'plist';
import { AppError } from '../../../src/errors.js';
import {
  daemonArgv,
  escapeXml,
  fillTemplate,
  quoteSystemdWord,
  renderLaunchdPlist,
  renderSystemdUnit,
  shellQuote,
  systemdExecStart,
  type DaemonLaunchSpec,
} from '../../../src/service/render.js';
import { readServiceTemplate } from '../../../src/service/templates.js';
import { parseSystemdWords } from './systemd-words.js';

const ODD = `/tmp/my repo/"quoted" 'single' $HOME \${X} %h back\\slash ; tab\there new\nline é 😀`;

function spec(overrides: Partial<DaemonLaunchSpec> = {}): DaemonLaunchSpec {
  return { nodePath: '/usr/bin/node', cliPath: '/opt/mcp secrets/dist/src/main.js', repo: ODD, home: '/home/u/.mcp', socket: null, pathEnv: '/usr/bin:/bin', keychain: 'napi-keyring', ...overrides };
}

function line(text: string, key: string): string {
  const found = text.split('\n').find((l) => l.startsWith(`${key}=`));
  if (found === undefined) throw new Error(`no ${key}= line`);
  return found.slice(key.length + 1);
}

test('an ExecStart with spaces, quotes, $, %, backslashes and newlines reads back as the same argv', async (t) => {
  const unit = renderSystemdUnit(await readServiceTemplate('systemd'), spec({ socket: '/run/user/1000/mcp secrets/daemon.sock' }));
  t.deepEqual(parseSystemdWords(line(unit, 'ExecStart'), 'exec'), daemonArgv(spec({ socket: '/run/user/1000/mcp secrets/daemon.sock' })));
  t.is(unit.split('\n').filter((l) => l.startsWith('ExecStart=')).length, 1, 'a newline in a path never starts a new line');
});

test('any argv without NUL survives systemd quoting', (t) => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: 'binary' }).filter((s) => !s.includes('\0')), { minLength: 0, maxLength: 6 }), (rest) => {
      const argv = ['/usr/bin/node', ...rest];
      const rendered = systemdExecStart(argv);
      return !rendered.includes('\n') && JSON.stringify(parseSystemdWords(rendered, 'exec')) === JSON.stringify(argv);
    }),
    { numRuns: 300 },
  );
  t.pass();
});

test('a lone semicolon is quoted so systemd does not read it as a command separator', (t) => {
  t.is(systemdExecStart(['/usr/bin/node', ';']), '"/usr/bin/node" ";"');
});

test('Environment= keeps $ as it is and doubles %', (t) => {
  const word = quoteSystemdWord('PATH=/a $b/%c:/d e', 'environment');
  t.is(word, '"PATH=/a $b/%%c:/d e"');
  t.deepEqual(parseSystemdWords(word, 'environment'), ['PATH=/a $b/%c:/d e']);
});

test('refuses a NUL or a relative program instead of writing a broken unit', (t) => {
  t.is(t.throws(() => quoteSystemdWord('a\0b', 'exec'), { instanceOf: AppError })?.code, 'E_USAGE');
  t.regex(t.throws(() => systemdExecStart(['node', 'x']))?.message ?? '', /absolute/);
});

test('the plist carries the label, argv, environment, run-at-load, keep-alive and log paths', async (t) => {
  const s = spec({ pathEnv: '/opt/homebrew/bin:/usr/bin:/bin&<x>', keychain: 'keytar' });
  const xml = renderLaunchdPlist(await readServiceTemplate('launchd'), s, {
    stdoutPath: '/Users/u/Library/Logs/mcp-secrets/daemon.out.log',
    stderrPath: '/Users/u/Library/Logs/mcp-secrets/daemon.err.log',
  });
  const parsed = plist.parse(xml) as Record<string, unknown>;
  t.is(parsed.Label, 'dev.mcp-secrets.daemon');
  t.deepEqual(parsed.ProgramArguments, daemonArgv(s));
  t.deepEqual(parsed.EnvironmentVariables, { PATH: '/opt/homebrew/bin:/usr/bin:/bin&<x>', MCP_SECRETS_KEYCHAIN: 'keytar' });
  t.is(parsed.RunAtLoad, true);
  t.deepEqual(parsed.KeepAlive, { SuccessfulExit: false });
  t.is(parsed.Umask, 0o077);
  t.is(parsed.StandardOutPath, '/Users/u/Library/Logs/mcp-secrets/daemon.out.log');
  t.is(parsed.StandardErrorPath, '/Users/u/Library/Logs/mcp-secrets/daemon.err.log');
});

test('XML escaping keeps markup characters, tabs, CR and LF, and refuses other control characters', (t) => {
  t.is(escapeXml(`a&b<c>"d"'e'\tf\r\ng`), 'a&amp;b&lt;c&gt;&quot;d&quot;&apos;e&apos;&#9;f&#13;&#10;g');
  const parsed = plist.parse(`<?xml version="1.0"?><plist version="1.0"><string>${escapeXml('x\r\ny\tz')}</string></plist>`);
  t.is(parsed, 'x\r\ny\tz');
  t.is(t.throws(() => escapeXml('bell\x07'), { instanceOf: AppError })?.code, 'E_USAGE');
});

test('a template placeholder left unfilled or a value without a placeholder is a bug', (t) => {
  t.is(fillTemplate('a {{X}} b {{X}}', { X: '1' }), 'a 1 b 1');
  t.throws(() => fillTemplate('{{X}} {{Y}}', { X: '1' }), { message: /\{\{Y\}\}/ });
  t.throws(() => fillTemplate('{{X}}', { X: '1', Z: '2' }), { message: /\{\{Z\}\}/ });
});

test('shell quoting for printed commands leaves plain words alone', (t) => {
  t.is(shellQuote('/usr/bin/node'), '/usr/bin/node');
  t.is(shellQuote("it's here"), `'it'\\''s here'`);
});

test('the unit records the keychain backend in its environment, so the daemon reads the store the CLI wrote to', async (t) => {
  const template = await readServiceTemplate('systemd');
  for (const keychain of ['napi-keyring', 'keytar', 'none'] as const) {
    const unit = renderSystemdUnit(template, spec({ keychain }));
    t.true(unit.split('\n').includes(`Environment="MCP_SECRETS_KEYCHAIN=${keychain}"`), unit);
  }
});
