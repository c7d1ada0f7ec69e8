/**
 * The quick path for `status` and `tray`, which a status bar runs every few seconds: Node's
 * util.parseArgs on the command's row of the spec table, without loading commander (~14 ms on
 * Node 20). Anything but a clean command line (`--help`, an unknown flag, a value outside its
 * choices, an argument too many) answers null, and the dispatcher hands the words to ./parse.ts,
 * which prints the same help and errors as for every other command.
 */
import { parseArgs } from 'node:util';
import { HELP_FLAG, type CommandSpec } from './spec.js';
import type { CommandInput } from './types.js';

/** The commands that take the quick path. */
export const QUICK_COMMANDS: ReadonlySet<string> = new Set(['status', 'tray']);

export function quickParse(spec: CommandSpec, words: readonly string[]): CommandInput | null {
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, flag] of Object.entries({ ...spec.flags, help: HELP_FLAG })) {
    options[name] = { type: flag.value === undefined ? 'boolean' : 'string', ...(flag.short ? { short: flag.short } : {}), ...(flag.multiple ? { multiple: true } : {}) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...words], options, allowPositionals: true, strict: true });
  } catch {
    return null;
  }
  if (parsed.values.help || parsed.positionals.length > (spec.maxPositionals ?? 0)) return null;
  for (const [name, flag] of Object.entries(spec.flags)) {
    const value = parsed.values[name];
    if (flag.choices && typeof value === 'string' && !flag.choices.includes(value)) return null;
  }
  return { values: parsed.values, positionals: parsed.positionals };
}
