/** What every command receives and returns. Commands never call process.exit or touch process.* directly. */

export interface CliIo {
  stdout(text: string | Uint8Array): void;
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  stdin: NodeJS.ReadableStream;
  stdoutIsTTY: boolean;
  /** Whether stdin is a terminal (`run` then leaves terminal signals to the terminal). */
  stdinIsTTY?: boolean;
}

export type OptionSpec = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };

export interface CommandInput {
  values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
  positionals: readonly string[];
  /**
   * For commands with `passThrough`: everything after the first `--`, untouched (null when there
   * was no `--`). Such commands never see those words as their own flags.
   */
  passThrough?: readonly string[] | null;
}

export interface Command {
  /** One line under "usage:", after `mcp-secrets`. */
  usage: string;
  /** Command-specific flags; the common ones (COMMON_OPTIONS) are added by the dispatcher. */
  options: Readonly<Record<string, OptionSpec>>;
  /** Maximum number of positional arguments (default 0). */
  maxPositionals?: number;
  /** The words after `--` belong to another program (`run -- CMD ARG…`): see {@link CommandInput.passThrough}. */
  passThrough?: boolean;
  run(input: CommandInput, io: CliIo): Promise<number>;
}

export const COMMON_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  repo: { type: 'string' },
  source: { type: 'string' },
  home: { type: 'string' },
  socket: { type: 'string' },
  engine: { type: 'string' },
  json: { type: 'boolean' },
  'log-level': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};
