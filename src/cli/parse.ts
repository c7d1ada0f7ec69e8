/**
 * Reads one command's words against its row in the spec table (./spec.ts).
 *
 * The parser is commander: per-command help with each flag's description, unknown flags and
 * commands answered with a suggestion, choices checked. It costs ~14 ms to load on Node 20, so a
 * clean command line is first read by util.parseArgs on the same table (./quick-parse.ts, in the
 * dispatcher); commander reads the words when that fails or `--help` is asked, so the help and
 * every error message are commander's.
 */
import type { Command as Commander, Option as CommanderOption } from 'commander';
import { AppError } from '../errors.js';
import { COMMAND_SPECS, HELP_FLAG, usageLine, type CommandSpec } from './spec.js';
import type { CommandInput } from './types.js';

/** What parsing gives the dispatcher: the command's input, or the help text to print. */
export type Parsed = { kind: 'run'; input: CommandInput } | { kind: 'help'; text: string };

export async function parseCommand(name: string, words: readonly string[]): Promise<Parsed> {
  const spec = COMMAND_SPECS[name];
  if (spec === undefined) throw await unknownCommand(name);
  // Words after `--` are another program's (run -- CMD --json): never read as ours.
  const dashDash = spec.passThrough ? words.indexOf('--') : -1;
  const own = dashDash === -1 ? words : words.slice(0, dashDash);
  const passThrough = spec.passThrough ? (dashDash === -1 ? null : words.slice(dashDash + 1)) : undefined;
  const parsed = await parseWithCommander(name, spec, own);
  if (parsed.kind === 'help') return parsed;
  const { values, positionals } = parsed;
  if (positionals.length > (spec.maxPositionals ?? 0)) {
    throw new AppError('E_USAGE', `mcp-secrets ${name}: unexpected argument "${String(positionals.at(-1)).slice(0, 80)}"`, {
      hint: `usage: mcp-secrets ${usageLine(name, spec)}`,
    });
  }
  return { kind: 'run', input: { values, positionals, ...(passThrough === undefined ? {} : { passThrough }) } };
}

type Values = CommandInput['values'];
type Own = { kind: 'run'; values: Values; positionals: readonly string[] } | { kind: 'help'; text: string };

async function parseWithCommander(name: string, spec: CommandSpec, words: readonly string[]): Promise<Own> {
  const { Command, Option, CommanderError } = await import('commander');
  const output = { help: '', error: '' };
  const command = new Command(name)
    .description(spec.summary)
    .argument('[args...]')
    .helpOption('-h, --help', HELP_FLAG.description)
    .showSuggestionAfterError(true)
    .allowExcessArguments(true)
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void (output.help += text),
      writeErr: (text) => void (output.error += text),
      outputError: (text) => void (output.error += text),
    });
  command.usage(`[options]${spec.args ? ` ${spec.args}` : ''}`);
  const root = new Command('mcp-secrets');
  root.addCommand(command);
  const options = new Map<string, CommanderOption>();
  for (const [flagName, flag] of Object.entries(spec.flags)) {
    const option = new Option(`${flag.short ? `-${flag.short}, ` : ''}--${flagName}${flag.value ? ` <${flag.value}>` : ''}`, flag.description);
    if (flag.choices) option.choices(flag.choices);
    if (flag.multiple) option.argParser((value: string, previous: string[] | undefined) => [...(previous ?? []), value]);
    options.set(flagName, option);
    command.addOption(option);
  }
  if (spec.notes?.length) command.addHelpText('after', `\n${spec.notes.join('\n')}`);
  if (spec.passThrough) command.addHelpText('after', `\nthe words after \`--\` are the command to start, untouched`);

  let positionals: string[] = [];
  command.action((args: string[]) => void (positionals = args));
  try {
    await command.parseAsync([...words], { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    if (error.code === 'commander.helpDisplayed' || error.code === 'commander.help') return { kind: 'help', text: output.help.endsWith('\n') ? output.help : `${output.help}\n` };
    throw usageError(name, spec, output.error || error.message, words);
  }
  return { kind: 'run', values: valuesOf(command, options), positionals };
}

/** Commander's option values, keyed by the flag names of the table (what commands read). */
function valuesOf(command: Commander, options: ReadonlyMap<string, CommanderOption>): Values {
  const opts = command.opts();
  const values: Record<string, string | boolean | string[]> = {};
  for (const [flagName, option] of options) {
    const v = opts[option.attributeName()] as string | boolean | string[] | undefined;
    // `--no-cache-identity` is a switch of ours, not commander's negation of a `--cache-identity`
    if (option.negate) {
      if (v === false) values[flagName] = true;
    } else if (v !== undefined) values[flagName] = v;
  }
  return values;
}

/** Commander's `error: unknown option '--sorce'\n(Did you mean --source?)` in our shape. */
function usageError(name: string, spec: CommandSpec, text: string, words: readonly string[]): AppError {
  const lines = text.trim().replace(/^error: /, '').split('\n');
  const suggestion = lines.find((l) => l.startsWith('(Did you mean'));
  const message = lines.filter((l) => l !== suggestion).join(' ');
  // `run node -e …`: the program's own flags were read as ours because `--` is missing
  if (spec.passThrough && !words.includes('--')) {
    return new AppError('E_USAGE', `mcp-secrets ${name}: \`--\` is required before the command (${message})`, { hint: `usage: mcp-secrets ${usageLine(name, spec)}` });
  }
  const help = `\`mcp-secrets ${name} --help\` lists its flags`;
  return new AppError('E_USAGE', `mcp-secrets ${name}: ${message}`, {
    hint: suggestion ? `${suggestion.replace(/^\(Did you mean (.*)\?\)$/, 'did you mean $1?')} ${help}` : help,
  });
}

/** An unknown command, with commander's suggestion of the nearest one. */
async function unknownCommand(name: string): Promise<AppError> {
  const { Command } = await import('commander');
  const root = new Command('mcp-secrets').exitOverride().showSuggestionAfterError(true);
  let text = '';
  root.configureOutput({ writeErr: (t) => void (text += t), outputError: (t) => void (text += t), writeOut: () => undefined });
  for (const [n, s] of Object.entries(COMMAND_SPECS)) root.command(n).description(s.summary);
  try {
    await root.parseAsync([name], { from: 'user' });
  } catch {
    // the error is in `text`
  }
  const suggestion = /\(Did you mean (\S+)\?\)/.exec(text)?.[1];
  return new AppError('E_USAGE', `unknown command "${name.slice(0, 40)}"`, {
    hint: `${suggestion ? `did you mean ${suggestion}? ` : ''}\`mcp-secrets --help\` lists the commands`,
  });
}
