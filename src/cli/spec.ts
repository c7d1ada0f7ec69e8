/**
 * The command-line surface as data: every command, its arguments and its flags with what each
 * does. The parser, `--help` and the README's command reference all read this one table, and it
 * imports nothing, so `status` and `tray` can check their flags without loading anything else.
 *
 * A common flag (--repo, --home, …) is listed only under the commands where it means something:
 * `status --source x` is an unknown flag, not a silently ignored one.
 */

export interface FlagSpec {
  /** What the help says the flag does (one line). */
  readonly description: string;
  /** The placeholder of a flag that takes a value (`DIR` in `--repo DIR`); absent for a switch. */
  readonly value?: string;
  /** The only values accepted (checked before the command runs). */
  readonly choices?: readonly string[];
  /** The flag may be given several times; the command receives every value. */
  readonly multiple?: boolean;
  readonly short?: string;
  /** The flag means something only with one of these subcommands (the first argument). */
  readonly onlyFor?: readonly string[];
  /** The flag means something only together with this other flag. */
  readonly onlyWith?: string;
}

export interface CommandSpec {
  /** One line in the command list. */
  readonly summary: string;
  /** Positional arguments in the usage line, as words (`FILE`, `install|uninstall|status`). */
  readonly args?: string;
  readonly maxPositionals?: number;
  /**
   * The words after `--` are another program's (`run -- CMD ARG…`): never read as ours, and `--`
   * is required.
   */
  readonly passThrough?: boolean;
  /** The command's stdout belongs to the program it starts: help and errors go to stderr. */
  readonly stdoutIsTheChilds?: boolean;
  readonly flags: Readonly<Record<string, FlagSpec>>;
  /** Extra lines under the flags in `--help` (examples, exit codes). */
  readonly notes?: readonly string[];
}

const ENGINE_CHOICES = ['auto', 'native', 'sops'] as const;
const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
const FORMATS = ['yaml', 'json', 'dotenv', 'ini', 'binary'] as const;

/** The common flags, each defined once; commands pick the ones that mean something to them. */
const COMMON = {
  repo: { value: 'DIR', description: 'the git checkout holding the bundle (default: found from the current directory)' },
  source: { value: 'PATH', description: 'the bundle, relative to the repo (default: config/secrets.enc.yaml)' },
  home: { value: 'DIR', description: 'where the outputs go (default: $MCP_HOME, else ~/.mcp)' },
  socket: { value: 'PATH', description: "the daemon's socket (default: $MCP_SECRETS_SOCKET, else $XDG_RUNTIME_DIR/mcp-secrets/daemon.sock)" },
  engine: { value: 'MODE', choices: ENGINE_CHOICES, description: 'who decrypts: native, the sops binary, or auto (native, sops for key types it lacks)' },
  json: { description: 'print one JSON document instead of text (errors too)' },
  'log-level': { value: 'LEVEL', choices: LOG_LEVELS, description: 'how much the daemon logs to stderr (default: $MCP_SECRETS_LOG_LEVEL, else info)' },
} as const satisfies Record<string, FlagSpec>;

type CommonName = keyof typeof COMMON;
function common(...names: CommonName[]): Record<string, FlagSpec> {
  return Object.fromEntries(names.map((n) => [n, COMMON[n]]));
}

export const COMMAND_SPECS: Readonly<Record<string, CommandSpec>> = {
  sync: {
    summary: 'decrypt the bundle and publish both outputs, once',
    flags: {
      ...common('repo', 'source', 'home', 'engine', 'json'),
      'no-cache-identity': { description: 'do not store an identity found in the environment or a key file in the keychain' },
      'skip-without-identity': { description: 'CI mode: with no identity in the environment, succeed without syncing (never uses the keychain)' },
      'accept-data-key': { description: "accept the bundle's new data key (after a deliberate re-encryption)" },
      'accept-config': { description: "accept the repo's .mcp-secrets.yaml as it is now (what `run --profile` checks)" },
      daemon: { description: 'ask the running daemon to sync now instead of syncing here' },
      socket: { ...COMMON.socket, onlyWith: 'daemon', description: `with --daemon: ${COMMON.socket.description}` },
    },
  },
  daemon: {
    summary: 'watch the bundle, keep the outputs fresh, serve status over IPC',
    flags: {
      ...common('repo', 'source', 'home', 'socket', 'engine', 'log-level'),
      'settle-ms': { value: 'N', description: 'quiet window after a change before syncing, 0 to 60000 ms (default 75)' },
      'no-cache-identity': { description: 'do not store an identity found in the environment or a key file in the keychain' },
    },
  },
  status: {
    summary: 'ask the daemon how fresh the outputs are',
    flags: {
      ...common('home', 'socket', 'json'),
      check: { description: 'print nothing; answer by exit code (0 fresh, 1 not fresh, 2 failed, 3 no daemon)' },
      'max-age': { value: 'DURATION', onlyWith: 'check', description: 'with --check: also not fresh when the last sync is older (90s, 10m, 1h)' },
      ack: { description: 'clear the notices (and accept a new data key the daemon is holding back)' },
    },
  },
  tray: {
    summary: 'one status line for a status bar',
    flags: {
      ...common('home', 'socket'),
      format: { value: 'FORMAT', choices: ['text', 'json', 'waybar', 'xbar'], description: 'the line for your bar (default text)' },
      json: { description: 'the same as --format json' },
      watch: { description: 'keep printing a line at every change (for waybar and the like)' },
    },
  },
  identity: {
    summary: 'import | show | forget | sops-key | copy: the age identity in the OS keychain',
    args: 'import|show|forget|sops-key|copy [RECIPIENT]',
    maxPositionals: 2,
    flags: {
      ...common('repo', 'source', 'home', 'socket', 'json'),
      file: { value: 'F', onlyFor: ['import'], description: 'import: read the age key file F (default: stdin)' },
      'from-env': { onlyFor: ['import'], description: 'import: take the identities in $SOPS_AGE_KEY' },
      all: { onlyFor: ['forget'], description: 'forget: every stored identity' },
      force: { onlyFor: ['sops-key'], description: 'sops-key: print secret keys even to a terminal' },
      from: { value: 'BACKEND', onlyFor: ['copy'], choices: ['keytar', 'napi-keyring'], description: 'copy: the keychain backend to copy identities from' },
    },
    notes: ['examples: mcp-secrets identity import < keys.txt · mcp-secrets identity forget age1… · mcp-secrets identity forget --all'],
  },
  service: {
    summary: 'install | uninstall | status: the login service',
    args: 'install|uninstall|status',
    maxPositionals: 1,
    flags: {
      ...common('repo', 'home', 'socket', 'json'),
      'dry-run': { onlyFor: ['install', 'uninstall'], description: 'install/uninstall: print the unit and the commands, change nothing' },
      'no-wait': { onlyFor: ['install'], description: "install: do not wait for the daemon's first sync" },
    },
  },
  rotate: {
    summary: 'new age key, re-wrapped bundle, evidence file',
    flags: {
      ...common('repo', 'source', 'home', 'engine', 'json'),
      ticket: { value: 'ID', description: 'the incident or change ticket, recorded in the evidence file (required)' },
      recipient: { value: 'AGE1…', multiple: true, description: 'add this recipient (instead of generating a new key)' },
      remove: { value: 'AGE1…', multiple: true, description: 'remove this recipient' },
      'rotate-data-key': { description: 're-encrypt every value under a new data key (after a leak of plaintext)' },
      'store-cmd': { value: 'CMD', description: 'a command that receives the new secret key on its stdin (a password manager)' },
      'key-to-stdout': { description: 'print the new secret key on stdout (pipe it somewhere safe)' },
      'dry-run': { description: 'say what would change, write nothing' },
    },
  },
  purge: {
    summary: 'incident response: wipe outputs and cached identities',
    flags: {
      ...common('home', 'socket', 'json'),
      'keep-identity': { description: 'wipe the outputs but keep the identities in the keychain' },
    },
  },
  doctor: {
    summary: 'check this machine and explain each problem',
    flags: common('repo', 'source', 'home', 'socket', 'engine', 'json'),
  },
  decrypt: {
    summary: 'print the decrypted document (like sops -d)',
    args: 'FILE',
    maxPositionals: 1,
    flags: {
      ...common('engine'),
      'input-type': { value: 'TYPE', choices: FORMATS, description: "the file's format (default: from its extension)" },
      'output-type': { value: 'TYPE', choices: FORMATS, description: 'the printed format (default: the input format)' },
      json: { description: 'the same as --output-type json' },
    },
  },
  demo: {
    summary: 'a self-contained run on a generated sample repo',
    flags: { keep: { description: 'keep the generated repo and home afterwards (their paths are printed)' } },
  },
  run: {
    summary: 'start a command with selected entries in its environment (no file)',
    args: '-- COMMAND [ARG…]',
    maxPositionals: Number.POSITIVE_INFINITY,
    passThrough: true,
    stdoutIsTheChilds: true,
    flags: {
      ...common('repo', 'source', 'home', 'engine'),
      profile: { value: 'NAME', multiple: true, description: 'the entries of this profile in .mcp-secrets.yaml' },
      only: { value: 'LIST', multiple: true, description: 'only these entries (comma-separated names)' },
      provider: { value: 'NAME', multiple: true, description: "a provider's entries (gemini, openai, anthropic, zhipu, ops)" },
      mask: { description: "replace the selected values in the command's stderr with [masked NAME] (stdout is never touched)" },
      'preserve-env': { description: "a variable the environment already has keeps its value (default: the bundle's value wins)" },
      watch: { description: 'restart the command when the daemon syncs a new bundle' },
      socket: { ...COMMON.socket, onlyWith: 'watch', description: `with --watch: ${COMMON.socket.description}` },
      grace: { value: 'SECONDS', onlyWith: 'watch', description: 'with --watch: seconds the command has to stop after SIGTERM before SIGKILL (default 10)' },
    },
  },
};

/** The flag names every command accepts besides its own. */
export const HELP_FLAG: FlagSpec = { short: 'h', description: 'show this help' };

/** `--repo DIR`, `--json`, `--engine auto|native|sops`: the flag as the usage line shows it. */
export function flagWords(name: string, flag: FlagSpec): string {
  if (flag.value === undefined) return `--${name}`;
  return `--${name} ${flag.choices ? flag.choices.join('|') : flag.value}`;
}

/** `sync [--repo DIR] [--json] …`: one usage line, built from the table. */
export function usageLine(name: string, spec: CommandSpec): string {
  const flags = Object.entries(spec.flags).map(([n, f]) => `[${flagWords(n, f)}]${f.multiple ? '…' : ''}`);
  const words = [name, ...(spec.args && !spec.passThrough ? [spec.args] : []), ...flags, ...(spec.passThrough && spec.args ? [spec.args] : [])];
  return words.join(' ');
}

/**
 * A flag given where it means nothing (`identity show --file x`, `status --max-age 1h` without
 * `--check`): the sentence that says so, or null when every flag applies.
 */
export function misplacedFlag(command: string, spec: CommandSpec, values: Readonly<Record<string, unknown>>, positionals: readonly string[]): string | null {
  for (const [name, flag] of Object.entries(spec.flags)) {
    if (values[name] === undefined) continue;
    if (flag.onlyFor && !flag.onlyFor.includes(positionals[0] ?? '')) return `--${name} applies only to ${flag.onlyFor.map((sub) => `\`${command} ${sub}\``).join(' and ')}`;
    if (flag.onlyWith && values[flag.onlyWith] === undefined) return `--${name} applies only with --${flag.onlyWith}`;
  }
  return null;
}
