/**
 * The dispatcher: finds the command, has its words parsed against the spec table (util.parseArgs
 * in ./quick-parse.ts for a clean line, commander in ./parse.ts for help and mistakes), runs it and turns errors into the contract's exit codes and messages. Command modules are
 * imported lazily so that `status` and `tray` do not load the daemon's dependencies.
 */
import { AppError, EXIT } from '../errors.js';
import { reportError } from './report.js';
import { COMMAND_SPECS, misplacedFlag } from './spec.js';
import { quickParse } from './quick-parse.js';
import type { CliIo, Command } from './types.js';

const LOADERS: Record<string, () => Promise<{ default: Command }>> = {
  sync: () => import('./sync.js'),
  daemon: () => import('./daemon.js'),
  status: () => import('./status.js'),
  tray: () => import('./tray.js'),
  identity: () => import('./identity.js'),
  service: () => import('./service.js'),
  rotate: () => import('./rotate.js'),
  purge: () => import('./purge.js'),
  doctor: () => import('./doctor.js'),
  decrypt: () => import('./decrypt.js'),
  demo: () => import('./demo.js'),
  run: () => import('./run-command.js'),
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMAND_SPECS).map((n) => n.length));
  const lines = Object.entries(COMMAND_SPECS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'usage: mcp-secrets <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    '`mcp-secrets <command> --help` (or `mcp-secrets help <command>`) lists its flags.',
    'exit codes: 0 ok · 1 not fresh · 2 failed · 3 daemon unreachable · 64 usage · 78 configuration',
    '',
  ].join('\n');
}

/**
 * `mcp-secrets --json sync`: flags written before the command are the command's. The first word
 * naming a command is taken as the command (a flag's value that happens to be a command name, as
 * in `--home status sync`, needs the usual order).
 */
function commandFirst(argv: readonly string[]): readonly string[] {
  if (argv.length === 0 || !argv[0]!.startsWith('-') || argv[0] === '--help' || argv[0] === '-h' || argv[0] === '--version') return argv;
  const at = argv.findIndex((word) => Object.hasOwn(COMMAND_SPECS, word));
  if (at === -1 || argv.slice(0, at).includes('--')) return argv;
  return [argv[at]!, ...argv.slice(0, at), ...argv.slice(at + 1)];
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = commandFirst(argv);
  if (name === undefined || name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
    io.stdout(usage());
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (name === '--version' || name === 'version') {
    const { VERSION } = await import('../version.js');
    io.stdout(`${VERSION}\n`);
    return EXIT.OK;
  }
  // `help sync` is `sync --help`
  const [command, words] = name === 'help' ? [rest[0]!, ['--help']] : [name, rest];
  const spec = Object.hasOwn(COMMAND_SPECS, command) ? COMMAND_SPECS[command] : undefined;
  const dashDash = words.indexOf('--');
  const own = spec?.passThrough && dashDash !== -1 ? words.slice(0, dashDash) : words;
  const wantsJson = own.includes('--json') && spec?.stdoutIsTheChilds !== true;
  const out = spec?.stdoutIsTheChilds ? io.stderr : io.stdout;
  try {
    let input = spec ? quickParse(spec, words) : null;
    if (input === null) {
      const { parseCommand } = await import('./parse.js');
      const parsed = await parseCommand(command, words);
      if (parsed.kind === 'help') {
        out(parsed.text);
        return EXIT.OK;
      }
      input = parsed.input;
    }
    // a flag that means nothing where it was given is refused, not ignored (`identity show --file x`)
    const misplaced = spec ? misplacedFlag(command, spec, input.values, input.positionals) : null;
    if (misplaced !== null) throw new AppError('E_USAGE', `mcp-secrets ${command}: ${misplaced}`, { hint: `\`mcp-secrets ${command} --help\` says where each flag applies` });
    const load = LOADERS[command];
    if (load === undefined) throw new AppError('E_INTERNAL', `the command table has no module for "${command}"`);
    return await (await load()).default.run(input, io);
  } catch (error) {
    return reportError(error, io, wantsJson);
  }
}
