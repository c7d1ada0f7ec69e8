import { COMMAND_SPECS } from '../../src/cli/spec.js';

/**
 * The fixture's `--repo/--home/--socket` for a command line, limited to the flags that command
 * takes there (commands refuse flags that mean nothing to them: `status --repo` is a usage error,
 * and so is `sync --socket` without `--daemon`).
 */
export function fixtureFlags(args: readonly string[], where: { repo?: string; home?: string; socket?: string }): string[] {
  const spec = COMMAND_SPECS[args[0] ?? ''];
  const applies = (name: string): boolean => {
    const flag = spec?.flags[name];
    if (flag === undefined) return false;
    if (flag.onlyFor && !flag.onlyFor.includes(args[1] ?? '')) return false;
    return flag.onlyWith === undefined || args.includes(`--${flag.onlyWith}`);
  };
  return Object.entries(where).flatMap(([name, value]) => (value !== undefined && applies(name) ? [`--${name}`, value] : []));
}
