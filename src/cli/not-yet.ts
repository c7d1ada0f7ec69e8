import { AppError } from '../errors.js';
import type { Command } from './types.js';

/** Placeholder for a command whose issue has not landed yet: a clear usage error, never a crash. */
export function notYet(name: string): Command {
  return {
    usage: name,
    options: {},
    maxPositionals: 10,
    run: async () => {
      throw new AppError('E_USAGE', `mcp-secrets ${name} is not available in this build yet`);
    },
  };
}
