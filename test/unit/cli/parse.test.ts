import test from 'ava';
import { runCli } from '../../../src/cli/run.js';
import { parseCommand } from '../../../src/cli/parse.js';
import { quickParse } from '../../../src/cli/quick-parse.js';
import { COMMAND_SPECS, flagWords } from '../../../src/cli/spec.js';
import type { AppError } from '../../../src/errors.js';
import type { CliIo } from '../../../src/cli/types.js';

function harness(): { io: CliIo; out: () => string; err: () => string } {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliIo = { stdout: (s) => void out.push(String(s)), stderr: (s) => void err.push(s), env: {}, cwd: '/', stdin: process.stdin, stdoutIsTTY: false };
  return { io, out: () => out.join(''), err: () => err.join('') };
}

for (const [name, spec] of Object.entries(COMMAND_SPECS)) {
  test(`\`${name} --help\` describes every flag of ${name}, and \`help ${name}\` says the same`, async (t) => {
    const h = harness();
    t.is(await runCli([name, '--help'], h.io), 0);
    const text = spec.stdoutIsTheChilds ? h.err() : h.out();
    t.regex(text, new RegExp(`^Usage: mcp-secrets ${name} `));
    for (const [flag, f] of Object.entries(spec.flags)) {
      t.true(text.includes(`--${flag}`), `--${flag} is listed`);
      t.true(text.replace(/\s+/g, ' ').includes(f.description.replace(/\s+/g, ' ')), `--${flag} is described`);
    }
    const viaHelp = harness();
    t.is(await runCli(['help', name], viaHelp.io), 0);
    t.is(spec.stdoutIsTheChilds ? viaHelp.err() : viaHelp.out(), text);
  });
}

test('a mistyped flag is a usage error (64) with the nearest flag suggested', async (t) => {
  const h = harness();
  t.is(await runCli(['sync', '--acept-config'], h.io), 64);
  t.regex(h.err(), /E_USAGE: mcp-secrets sync: unknown option '--acept-config'/);
  t.regex(h.err(), /did you mean --accept-config\?/);
});

test('a common flag that means nothing to a command is refused, not ignored', async (t) => {
  for (const args of [['status', '--source', 'x'], ['tray', '--engine', 'native'], ['demo', '--home', '/tmp/x'], ['decrypt', 'f.yaml', '--repo', '.']]) {
    const error = await t.throwsAsync<AppError>(parseCommand(args[0]!, args.slice(1)));
    t.is(error?.code, 'E_USAGE', args.join(' '));
    t.regex(error!.message, /unknown option/);
  }
});

test('a value outside its choices is a usage error naming the choices, for every command the same way', async (t) => {
  for (const args of [['daemon', '--log-level', 'trace'], ['sync', '--engine', 'rust'], ['tray', '--format', 'html'], ['decrypt', 'x', '--output-type', 'xml']]) {
    const h = harness();
    t.is(await runCli(args, h.io), 64, args.join(' '));
    t.regex(h.err(), /is invalid\. Allowed choices are/);
  }
});

test('an unknown command is a usage error with the nearest command suggested', async (t) => {
  const h = harness();
  t.is(await runCli(['snyc'], h.io), 64);
  t.regex(h.err(), /unknown command "snyc"/);
  t.regex(h.err(), /did you mean sync\?/);
});

test('flags written before the command are the command\'s (`mcp-secrets --json status`)', async (t) => {
  const h = harness();
  t.is(await runCli(['--json', 'status', '--socket', '/nonexistent-mcp-secrets/daemon.sock'], h.io), 3);
  t.is((JSON.parse(h.out()) as { error: { code: string } }).error.code, 'E_DAEMON_UNREACHABLE');
});

test('a usage error with --json is one JSON document on stdout', async (t) => {
  const h = harness();
  t.is(await runCli(['status', '--json', '--chek'], h.io), 64);
  const doc = JSON.parse(h.out()) as { error: { code: string; hint: string } };
  t.is(doc.error.code, 'E_USAGE');
  t.regex(doc.error.hint, /did you mean --check\?/);
});

test('switches, values, repeated flags and `--no-…` switches reach the command under their own names', async (t) => {
  const sync = await parseCommand('sync', ['--no-cache-identity', '--json', '--engine', 'native']);
  t.deepEqual(sync.kind === 'run' && sync.input.values, { 'no-cache-identity': true, json: true, engine: 'native' });
  const run = await parseCommand('run', ['--only', 'A', '--only', 'B,C', '--mask', '--', 'node', '--json']);
  t.deepEqual(run.kind === 'run' && run.input.values, { only: ['A', 'B,C'], mask: true });
  t.deepEqual(run.kind === 'run' && run.input.passThrough, ['node', '--json']);
  const identity = await parseCommand('identity', ['forget', 'age1xyz']);
  t.deepEqual(identity.kind === 'run' && identity.input.positionals, ['forget', 'age1xyz']);
});

test('the quick path and commander read every clean line the same way', async (t) => {
  const lines: [string, string[]][] = [
    ['status', ['--check', '--max-age', '10m', '--socket=/x.sock']],
    ['status', ['--json', '--home', '/h']],
    ['tray', ['--format', 'waybar', '--watch']],
    ['tray', ['--json']],
    ['sync', ['--no-cache-identity', '--json', '--engine', 'native', '--repo', '/r', '--source', 'a/b.yaml']],
    ['sync', ['--daemon', '--socket', '/s.sock', '--accept-data-key', '--accept-config', '--skip-without-identity']],
    ['daemon', ['--settle-ms', '0', '--log-level', 'debug', '--home', '~/x']],
    ['identity', ['forget', 'age1xyz', '--json']],
    ['identity', ['import', '--file', 'k.txt']],
    ['service', ['install', '--dry-run', '--no-wait', '--repo', '.']],
    ['rotate', ['--ticket', 'T-1', '--recipient', 'age1a', '--recipient', 'age1b', '--remove', 'age1c', '--dry-run']],
    ['purge', ['--keep-identity', '--json']],
    ['doctor', ['--engine', 'sops', '--json']],
    ['decrypt', ['f.yaml', '--output-type', 'json']],
    ['demo', ['--keep']],
    ['run', ['--only', 'A', '--only', 'B,C', '--profile', 'p', '--mask', '--watch', '--grace', '3', '--', 'node', '--json', '-e', '1']],
  ];
  for (const [name, words] of lines) {
    const full = await parseCommand(name, words);
    t.is(full.kind, 'run', words.join(' '));
    t.deepEqual(quickParse(COMMAND_SPECS[name]!, words), full.kind === 'run' ? full.input : undefined, `${name} ${words.join(' ')}`);
  }
  // anything but a clean line goes to commander, for its help and its messages
  for (const words of [['--help'], ['-h'], ['--format', 'html'], ['--sorce'], ['extra']]) t.is(quickParse(COMMAND_SPECS.tray!, words), null, words.join(' '));
  t.is(quickParse(COMMAND_SPECS.run!, ['node', '-e', '1']), null, 'run without --');
  const h = harness();
  t.is(await runCli(['tray', '--format', 'html'], h.io), 64);
  t.regex(h.err(), /Allowed choices are text, json, waybar, xbar/);
});

test('run: `--` is required, and what follows it is never read as ours', async (t) => {
  const missing = await t.throwsAsync<AppError>(parseCommand('run', ['node', '-e', '1']));
  t.regex(missing!.message, /`--` is required before the command/);
  const h = harness();
  t.is(await runCli(['run', '--help'], h.io), 0);
  t.is(h.out(), '', "run's stdout is the child's: help goes to stderr");
});

test('too many arguments are refused with the usage line', async (t) => {
  const error = await t.throwsAsync<AppError>(parseCommand('decrypt', ['a.yaml', 'b.yaml']));
  t.regex(error!.message, /unexpected argument "b\.yaml"/);
  t.true(error!.hint?.includes('decrypt FILE'));
});

test('the top-level help lists every command, and no arguments at all is a usage error', async (t) => {
  const h = harness();
  t.is(await runCli(['--help'], h.io), 0);
  for (const name of Object.keys(COMMAND_SPECS)) t.regex(h.out(), new RegExp(`\\n  ${name} `));
  t.is(await runCli([], harness().io), 64);
});

test('flagWords shows choices in place of the placeholder', (t) => {
  t.is(flagWords('engine', COMMAND_SPECS.sync!.flags.engine!), '--engine auto|native|sops');
  t.is(flagWords('json', COMMAND_SPECS.sync!.flags.json!), '--json');
});

test('a flag given where it means nothing is refused, naming where it applies', async (t) => {
  const cases: [string[], RegExp][] = [
    [['identity', 'show', '--file', 'k.txt'], /--file applies only to `identity import`/],
    [['identity', 'import', '--all'], /--all applies only to `identity forget`/],
    [['service', 'status', '--dry-run'], /--dry-run applies only to `service install` and `service uninstall`/],
    [['status', '--max-age', '1h', '--socket', '/nonexistent-mcp-secrets/s.sock'], /--max-age applies only with --check/],
    [['sync', '--socket', '/x.sock', '--repo', '/nonexistent-mcp-secrets'], /--socket applies only with --daemon/],
    [['run', '--grace', '3', '--', 'true'], /--grace applies only with --watch/],
  ];
  for (const [args, message] of cases) {
    const h = harness();
    t.is(await runCli(args, h.io), 64, args.join(' '));
    t.regex(h.err(), message, args.join(' '));
  }
});
