/**
 * The dispatcher: picks the command, parses its flags (node's util.parseArgs, strict), runs it and
 * turns errors into the contract's exit codes and messages. Command modules are imported lazily so
 * that `status` and `tray` do not load the daemon's dependencies.
 */
import { parseArgs } from 'node:util';
import { AppError, EXIT } from '../errors.js';
import { reportError } from './report.js';
import { COMMON_OPTIONS, type CliIo, type Command } from './types.js';

/**
 * `stdoutIsTheChilds`: the command's stdout belongs to a program it starts (`run`: an MCP stdio
 * server speaks JSON-RPC on it), so nothing of ours goes there, not even `--json` errors or help.
 */
const COMMANDS: Record<string, { summary: string; load: () => Promise<{ default: Command }>; stdoutIsTheChilds?: boolean }> = {
  sync: { summary: 'decrypt the bundle and publish both outputs, once', load: () => import('./sync.js') },
  daemon: { summary: 'watch the bundle, keep the outputs fresh, serve status over IPC', load: () => import('./daemon.js') },
  status: { summary: "ask the daemon how fresh the outputs are", load: () => import('./status.js') },
  tray: { summary: 'one status line for a status bar', load: () => import('./tray.js') },
  identity: { summary: 'import | show | forget | sops-key: the age identity in the OS keychain', load: () => import('./identity.js') },
  service: { summary: 'install | uninstall | status: the login service', load: () => import('./service.js') },
  rotate: { summary: 'new age key, re-wrapped bundle, evidence file', load: () => import('./rotate.js') },
  purge: { summary: 'incident response: wipe outputs and cached identities', load: () => import('./purge.js') },
  doctor: { summary: 'check this machine and explain each problem', load: () => import('./doctor.js') },
  decrypt: { summary: 'print the decrypted document (like sops -d)', load: () => import('./decrypt.js') },
  demo: { summary: 'a self-contained run on a generated sample repo', load: () => import('./demo.js') },
  run: { summary: 'start a command with selected entries in its environment (no file)', load: () => import('./run-command.js'), stdoutIsTheChilds: true },
};

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return [
    'usage: mcp-secrets <command> [options]',
    '',
    'commands:',
    ...lines,
    '',
    'common options: --repo DIR  --source PATH  --home DIR  --socket PATH  --engine auto|native|sops  --json  --log-level LEVEL',
    'exit codes: 0 ok · 1 not fresh · 2 failed · 3 daemon unreachable · 64 usage',
    '',
  ].join('\n');
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.stdout(usage());
    return name === undefined ? EXIT.USAGE : EXIT.OK;
  }
  if (name === '--version' || name === 'version') {
    const { VERSION } = await import('../version.js');
    io.stdout(`${VERSION}\n`);
    return EXIT.OK;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    io.stderr(`mcp-secrets: unknown command "${name.slice(0, 40)}"\n\n${usage()}`);
    return EXIT.USAGE;
  }
  // Words after `--` are another program's (run -- CMD --json): never read as ours.
  const dashDash = rest.indexOf('--');
  const own = dashDash === -1 ? rest : rest.slice(0, dashDash);
  const wantsJson = own.includes('--json') && entry.stdoutIsTheChilds !== true;
  const out = entry.stdoutIsTheChilds ? io.stderr : io.stdout;
  try {
    const command = (await entry.load()).default;
    let parsed;
    try {
      parsed = parseArgs({
        args: command.passThrough ? [...own] : [...rest],
        options: { ...COMMON_OPTIONS, ...command.options },
        allowPositionals: true,
        strict: true,
      });
    } catch (error) {
      // `run node -e …`: the command's own flags were read as ours because `--` is missing
      const why = command.passThrough && dashDash === -1 ? '`--` is required before the command' : (error as Error).message;
      throw new AppError('E_USAGE', `mcp-secrets ${name}: ${why}`, {
        hint: `usage: mcp-secrets ${command.usage}`,
      });
    }
    if (parsed.values.help) {
      out(`usage: mcp-secrets ${command.usage}\n`);
      return EXIT.OK;
    }
    if (parsed.positionals.length > (command.maxPositionals ?? 0)) {
      throw new AppError('E_USAGE', `mcp-secrets ${name}: unexpected argument "${String(parsed.positionals.at(-1)).slice(0, 80)}"`, {
        hint: `usage: mcp-secrets ${command.usage}`,
      });
    }
    const passThrough = command.passThrough ? (dashDash === -1 ? null : rest.slice(dashDash + 1)) : undefined;
    return await command.run({ values: parsed.values, positionals: parsed.positionals, passThrough }, io);
  } catch (error) {
    return reportError(error, io, wantsJson);
  }
}
