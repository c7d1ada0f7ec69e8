/**
 * The names mcp-secrets keeps in home besides the outputs: one list, so the home check (what may
 * be tightened), the trust state and the repo config (what an output may not be called) agree.
 */

/** Every file of ours in home that is not an output starts with this (temps, the home lock). */
export const OUR_DOT_PREFIX = '.mcp-secrets';
/** The data keys (and repo config) this machine accepted. */
export const TRUST_FILE = 'trust.json';
/** The daemon's log directory and the fallback socket directory. */
export const LOGS_DIR = 'logs';
export const RUN_DIR = 'run';

/** True for our own state in home: never an output name, always ours to find there. */
export function isStateName(name: string): boolean {
  return name === LOGS_DIR || name === RUN_DIR || name === TRUST_FILE || name.startsWith(OUR_DOT_PREFIX);
}
