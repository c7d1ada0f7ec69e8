/**
 * Reads a secret typed or pasted into a terminal with echo off.
 *
 * Rules: the terminal goes into raw mode (no echo, no line discipline) for as long as we read and
 * is put back on every way out: the end of input, an error, Ctrl-C typed (raw mode delivers it
 * as a byte, which we turn back into a real SIGINT once the terminal is restored), SIGINT,
 * SIGTERM or SIGHUP from outside, and process exit. Minimal line editing: Backspace, Ctrl-U
 * (clear the line), Enter (end a line); an empty line or Ctrl-D ends the input. The bytes are
 * held in one buffer that is zeroed before it is dropped.
 */
import { AppError } from '../errors.js';

/** The part of `tty.ReadStream` this needs (process.stdin when it is a terminal). */
export interface TtyInput extends NodeJS.ReadableStream {
  readonly isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
}

export interface ReadSecretOptions {
  /** Shown once before reading (goes to the terminal through `write`). */
  readonly prompt: string;
  /** Where the prompt and the line feedback go: stderr, never stdout. */
  readonly write: (text: string) => void;
  /** Input larger than this is refused (its bytes zeroed). */
  readonly maxBytes: number;
}

const ENTER_CR = 0x0d;
const ENTER_LF = 0x0a;
const CTRL_C = 0x03;
const CTRL_D = 0x04;
const CTRL_U = 0x15;
const BACKSPACE = 0x7f;
const CTRL_H = 0x08;
const RESTORE_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

/** True when `stream` is a terminal whose echo we can turn off. */
export function isRawCapableTty(stream: NodeJS.ReadableStream): stream is TtyInput & { setRawMode(mode: boolean): unknown } {
  const s = stream as TtyInput;
  return s.isTTY === true && typeof s.setRawMode === 'function';
}

/**
 * Reads lines from a terminal with echo off until an empty line or Ctrl-D; returns them joined
 * by "\n". Ctrl-C restores the terminal and ends the process with SIGINT (exit 130 in a shell).
 * Throws E_USAGE when the terminal cannot be put into raw mode or the input is too large.
 */
export async function readSecretFromTty(input: NodeJS.ReadableStream, options: ReadSecretOptions): Promise<string> {
  if (!isRawCapableTty(input)) throw new AppError('E_USAGE', 'stdin is not a terminal', { hint: 'pipe the key file instead' });
  const tty = input;
  const buffer = Buffer.alloc(options.maxBytes);
  let length = 0; // bytes of completed lines plus the current line
  let lineStart = 0; // where the current line begins
  let lines = 0;

  let rawOn = false;
  const restore = (): void => {
    if (!rawOn) return;
    rawOn = false;
    try {
      tty.setRawMode(false);
    } catch {
      // the terminal is gone (hang-up): nothing left to restore
    }
  };
  try {
    tty.setRawMode(true);
    rawOn = true;
  } catch (error) {
    throw new AppError('E_USAGE', 'identity import: cannot turn terminal echo off to read the key', {
      hint: 'pipe the key file instead: `mcp-secrets identity import < keys.txt`, or use --file',
      cause: error,
    });
  }

  // Signals from outside: put the terminal back, then die of the same signal as we would have.
  const onSignal = (signal: NodeJS.Signals): void => {
    cleanup();
    buffer.fill(0);
    process.kill(process.pid, signal);
  };
  const onExit = (): void => restore();
  for (const s of RESTORE_SIGNALS) process.once(s, onSignal);
  process.once('exit', onExit);
  function cleanup(): void {
    restore();
    for (const s of RESTORE_SIGNALS) process.removeListener(s, onSignal);
    process.removeListener('exit', onExit);
  }

  options.write(options.prompt);
  try {
    await new Promise<void>((resolve, reject) => {
      const finish = (error?: Error): void => {
        tty.removeListener('data', onData);
        tty.removeListener('end', onEnd);
        tty.removeListener('error', onError);
        tty.pause();
        if (error) reject(error);
        else resolve();
      };
      const onEnd = (): void => finish();
      const onError = (error: Error): void => finish(error);
      const onData = (chunk: Buffer | string): void => {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        for (const byte of bytes) {
          if (byte === CTRL_C) {
            // raw mode turned Ctrl-C into a byte: restore the terminal, then be interrupted for real
            cleanup();
            options.write('\n');
            finish(new AppError('E_USAGE', 'identity import: cancelled (Ctrl-C); nothing stored', { hint: 'run it again to import the key' }));
            process.kill(process.pid, 'SIGINT');
            return;
          }
          if (byte === CTRL_D) return finish();
          if (byte === ENTER_CR || byte === ENTER_LF) {
            if (length === lineStart) return finish(); // an empty line ends the input
            if (length >= buffer.length) return finish(tooLarge(options.maxBytes));
            buffer[length++] = ENTER_LF;
            lineStart = length;
            lines++;
            options.write(`\n(${lines} line${lines === 1 ? '' : 's'} read; paste more, or press Enter on an empty line to finish)\n`);
            continue;
          }
          if (byte === BACKSPACE || byte === CTRL_H) {
            // drop a whole UTF-8 character: continuation bytes are 10xxxxxx
            while (length > lineStart && (buffer[length - 1]! & 0xc0) === 0x80) buffer[--length] = 0;
            if (length > lineStart) buffer[--length] = 0;
            continue;
          }
          if (byte === CTRL_U) {
            buffer.fill(0, lineStart, length);
            length = lineStart;
            continue;
          }
          if (byte < 0x20) continue; // other control bytes (escape sequences' ESC…) are ignored
          if (length >= buffer.length) return finish(tooLarge(options.maxBytes));
          buffer[length++] = byte;
        }
      };
      tty.on('data', onData);
      tty.once('end', onEnd);
      tty.once('error', onError);
      tty.resume();
    });
    return buffer.toString('utf8', 0, length);
  } finally {
    cleanup();
    buffer.fill(0);
  }
}

function tooLarge(maxBytes: number): AppError {
  return new AppError('E_USAGE', `identity import: the terminal input is larger than ${Math.round(maxBytes / 1024)} KiB, not an age key`, {
    hint: 'paste the AGE-SECRET-KEY-1… line only, or pipe the key file: `mcp-secrets identity import < keys.txt`',
  });
}
