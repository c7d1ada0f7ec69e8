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

export interface CommandInput {
  values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
  positionals: readonly string[];
  /**
   * For commands with `passThrough`: everything after the first `--`, untouched (null when there
   * was no `--`). Such commands never see those words as their own flags.
   */
  passThrough?: readonly string[] | null;
}

/** A command module's default export; its words and flags are described in ./spec.ts. */
export interface Command {
  run(input: CommandInput, io: CliIo): Promise<number>;
}
