/**
 * The quick path: Node's util.parseArgs on the command's row of the spec table, without loading
 * commander (~14 ms on Node 20: a tenth of a `sync`, a third of what `status` takes beyond Node's
 * own start). Anything but a clean command line (`--help`, an unknown flag, a value outside its
 * choices, an argument too many, `run` without `--`) answers null, and the dispatcher hands the
 * words to commander (./parse.ts), which prints the help and the errors. Both read the same table,
 * and a unit test checks they agree on every clean line it tries.
 */
import { parseArgs } from 'node:util';
import { HELP_FLAG, type CommandSpec } from './spec.js';
import type { CommandInput } from './types.js';

export function quickParse(spec: CommandSpec, words: readonly string[]): CommandInput | null {
  // `run … -- CMD ARG…`: the words after `--` are the program's, never parsed as ours
  const dashDash = spec.passThrough ? words.indexOf('--') : -1;
  if (spec.passThrough && dashDash === -1) return null;
  const own = dashDash === -1 ? words : words.slice(0, dashDash);
  const options: Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }> = {};
  for (const [name, flag] of Object.entries({ ...spec.flags, help: HELP_FLAG })) {
    options[name] = { type: flag.value === undefined ? 'boolean' : 'string', ...(flag.short ? { short: flag.short } : {}), ...(flag.multiple ? { multiple: true } : {}) };
  }
  let parsed;
  try {
    parsed = parseArgs({ args: [...own], options, allowPositionals: true, strict: true });
  } catch {
    return null;
  }
  if (parsed.values.help || parsed.positionals.length > (spec.maxPositionals ?? 0)) return null;
  for (const [name, flag] of Object.entries(spec.flags)) {
    const value = parsed.values[name];
    if (flag.choices && typeof value === 'string' && !flag.choices.includes(value)) return null;
  }
  return { values: parsed.values, positionals: parsed.positionals, ...(spec.passThrough ? { passThrough: words.slice(dashDash + 1) } : {}) };
}
