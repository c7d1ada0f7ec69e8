/**
 * `mcp-secrets purge`: incident response on one machine. In this order, so nothing comes back:
 * 1. a running daemon is told to enter `locked` (otherwise it would restore the outputs we delete):
 *    the one holding home's lock, whatever its socket, else the one on --socket;
 * 2. both outputs (and any temp left by a crash) are overwritten with zeros, fsynced and unlinked;
 * 3. the identities cached in the OS keychain are forgotten (unless --keep-identity).
 * Prints what was removed; never a value.
 */
import { open, lstat, unlink, readdir } from 'node:fs/promises';
import path from 'node:path';
import { AppError, EXIT, isAppError } from '../errors.js';
import { oneLine } from '../escape.js';
import { resolveCommonOptions } from '../config/options.js';
import { openKeychain } from '../identity/keychain/index.js';
import { OUTPUT_FILES } from '../sync/pipeline.js';
import { liveHomeLockHolder } from '../publish/home-lock.js';
import type { Command, CliIo, CommandInput } from './types.js';

const command: Command = {
  usage: 'purge [--keep-identity] [--home DIR] [--socket PATH] [--json]',
  options: { 'keep-identity': { type: 'boolean' } },
  run: runPurge,
};
export default command;

/** Overwrite-then-unlink: on most filesystems this drops the plaintext blocks from the file's extent before it goes. */
async function wipe(file: string): Promise<boolean> {
  let info;
  try {
    info = await lstat(file);
  } catch {
    return false;
  }
  if (info.isFile() && info.size > 0) {
    const handle = await open(file, 'r+');
    try {
      await handle.write(Buffer.alloc(info.size), 0, info.size, 0);
      await handle.sync();
    } finally {
      await handle.close();
    }
  }
  await unlink(file);
  return true;
}

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

  const candidates = [OUTPUT_FILES.env, OUTPUT_FILES.console].map((n) => path.join(options.home, n));
  try {
    for (const name of await readdir(options.home)) if (name.startsWith('.mcp-secrets-tmp')) candidates.push(path.join(options.home, name));
  } catch {
    // no home: nothing to remove
  }
  for (const file of candidates) if (await wipe(file)) report.removedFiles.push(file);

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
