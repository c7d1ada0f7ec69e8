/** What every command receives and returns. Commands never call process.exit or touch process.* directly. */

export interface CliIo {
  stdout(text: string | Uint8Array): void;
  stderr(text: string): void;
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
  stdin: NodeJS.ReadableStream;
  stdoutIsTTY: boolean;
}

export type OptionSpec = { type: 'string' | 'boolean'; short?: string; multiple?: boolean };

export interface CommandInput {
  values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
  positionals: readonly string[];
}

export interface Command {
  /** One line under "usage:", after `mcp-secrets`. */
  usage: string;
  /** Command-specific flags; the common ones (COMMON_OPTIONS) are added by the dispatcher. */
  options: Readonly<Record<string, OptionSpec>>;
  /** Maximum number of positional arguments (default 0). */
  maxPositionals?: number;
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
