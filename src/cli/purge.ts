/**
 * `mcp-secrets purge`: incident response on one machine. In this order, so nothing comes back:
 * 1. a running daemon is told to enter `locked` (otherwise it would restore the outputs we delete):
 *    the one holding home's lock, whatever its socket, else the one on --socket;
 * 2. every output ever written to home (the defaults and those in the outputs record), and any
 *    temp left by a crash, are overwritten with zeros, fsynced and unlinked; then the record;
 * 3. the identities cached in the OS keychain are forgotten (unless --keep-identity).
 * Prints what was removed; never a value.
 */
import { lstat, readdir } from 'node:fs/promises';
import path from 'node:path';
import { AppError, EXIT, isAppError } from '../errors.js';
import { oneLine } from '../escape.js';
import { resolveCommonOptions } from '../config/options.js';
import { openKeychain } from '../identity/keychain/index.js';
import { DEFAULT_OUTPUT_NAMES, OUTPUTS_RECORD, readOutputsRecord } from '../bundle/outputs.js';
import { liveHomeLockHolder, wipeFile } from '../bundle/home.js';
import type { Command, CliIo, CommandInput } from './types.js';

const command: Command = {
  usage: 'purge [--keep-identity] [--home DIR] [--socket PATH] [--json]',
  options: { 'keep-identity': { type: 'boolean' } },
  run: runPurge,
};
export default command;

export interface PurgeReport {
  daemon: 'locked' | 'not running';
  removedFiles: string[];
  forgottenRecipients: string[];
  keptIdentity: boolean;
  warnings: string[];
}

export async function runPurge(input: CommandInput, io: CliIo): Promise<number> {
  const options = resolveCommonOptions(input.values, io.env, io.cwd);
  const report: PurgeReport = { daemon: 'not running', removedFiles: [], forgottenRecipients: [], keptIdentity: input.values['keep-identity'] === true, warnings: [] };

  // the daemon that holds home (whatever socket it uses), else the one on our socket, is locked first
  const holder = await liveHomeLockHolder(options.home);
  const { lock } = await import('../ipc/client.js');
  try {
    await lock('purge', { socketPath: holder?.socket ?? options.socket, timeoutMs: 5_000 });
    report.daemon = 'locked';
  } catch (error) {
    if (!isAppError(error) || error.code !== 'E_DAEMON_UNREACHABLE') throw error;
    if (holder !== null) {
      // it would restore what we delete: do not purge beside it
      throw new AppError('E_ALREADY_RUNNING', `a daemon (pid ${holder.pid}) holds ${options.home} but does not answer on ${holder.socket}, so it cannot be locked`, {
        hint: 'stop that daemon (`mcp-secrets service uninstall` or kill it), then purge again',
        cause: error,
      });
    }
  }

  // an unreadable record still leaves the defaults to wipe; it is reported, never trusted
  const held = await readOutputsRecord(options.home).catch((error: unknown) => {
    report.warnings.push(`the outputs record could not be read (${error instanceof Error ? error.message : String(error)}): check ${options.home} for other outputs`);
    return [] as string[];
  });
  const candidates = [...new Set([...DEFAULT_OUTPUT_NAMES, ...held])].map((n) => path.join(options.home, n));
  try {
    for (const name of await readdir(options.home)) if (name.startsWith('.mcp-secrets-tmp')) candidates.push(path.join(options.home, name));
  } catch {
    // no home: nothing to remove
  }
  for (const file of candidates) if (await wipeFile(file)) report.removedFiles.push(file);
  // the record lists names, not values: removed last, once what it names is gone
  await wipeFile(path.join(options.home, OUTPUTS_RECORD));

  if (!report.keptIdentity) {
    const keychain = openKeychain({ env: io.env });
    if (keychain) {
      try {
        for (const recipient of await keychain.listRecipients()) {
          if (await keychain.delete(recipient)) report.forgottenRecipients.push(recipient);
        }
      } catch (error) {
        if (!isAppError(error)) throw error;
        report.warnings.push(`could not reach the keychain to forget identities: ${error.message}${error.hint ? ` (${error.hint})` : ''}`);
      }
    }
  }
  const keyFile = path.join(io.env.XDG_CONFIG_HOME ?? path.join(io.env.HOME ?? '', '.config'), 'sops', 'age', 'keys.txt');
  try {
    await lstat(keyFile);
    report.warnings.push(`a plaintext age key file still exists at ${keyFile}: delete it if it holds the compromised key`);
  } catch {
    // none: good
  }
  if (io.env.SOPS_AGE_KEY) report.warnings.push('SOPS_AGE_KEY is set in this shell: unset it and remove it from your shell profile');

  if (options.json) io.stdout(JSON.stringify(report, null, 2) + '\n');
  else {
    io.stdout(`mcp-secrets purge: daemon ${report.daemon}\n`);
    // file names, keychain account names and keychain errors are shown escaped
    io.stdout(report.removedFiles.length ? report.removedFiles.map((f) => `  removed ${oneLine(f)}\n`).join('') : '  no output files to remove\n');
    if (report.keptIdentity) io.stdout('  identities kept in the keychain (--keep-identity)\n');
    else io.stdout(report.forgottenRecipients.length ? report.forgottenRecipients.map((r) => `  forgot identity ${oneLine(r)}\n`).join('') : '  no identity cached in the keychain\n');
    for (const w of report.warnings) io.stdout(`  warning: ${oneLine(w)}\n`);
    io.stdout('next: revoke the exposed tokens at each provider, then `mcp-secrets rotate --ticket <ID> --rotate-data-key` (see docs/runbook.pt-BR.md)\n');
  }
  return report.warnings.some((w) => w.startsWith('could not reach the keychain')) ? EXIT.FAILED : EXIT.OK;
}
