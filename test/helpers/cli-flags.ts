import { COMMAND_SPECS } from '../../src/cli/spec.js';

/**
 * The fixture's `--repo/--home/--socket` for a command, limited to the flags that command takes
 * (commands refuse flags that mean nothing to them: `status --repo` is a usage error).
 */
export function fixtureFlags(command: string, where: { repo?: string; home?: string; socket?: string }): string[] {
  const flags = COMMAND_SPECS[command]?.flags ?? {};
  return Object.entries(where).flatMap(([name, value]) => (value !== undefined && name in flags ? [`--${name}`, value] : []));
}
