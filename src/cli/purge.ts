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
import type { Keychain } from '../identity/keychain/types.js';
import { DEFAULT_OUTPUT_NAMES, OUTPUTS_RECORD, readOutputsRecord } from '../bundle/outputs.js';
import { liveHomeLockHolder, TEMP_PREFIX, wipeFile } from '../bundle/home.js';
import { jsonDocument } from './report.js';
import type { Command, CliIo, CommandInput } from './types.js';

const command: Command = { run: (input, io) => runPurge(resolvePurgeInput(input, io), defaultPurgeDeps(io)) };
export default command;

export interface PurgeReport {
  daemon: 'locked' | 'not running';
  removedFiles: string[];
  forgottenRecipients: string[];
  keptIdentity: boolean;
  warnings: string[];
}

/** `purge`'s options, resolved, with the facts it reads from the environment. */
export interface PurgeInput {
  readonly home: string;
  /** The daemon asked when none holds home's lock. */
  readonly socket: string;
  readonly json: boolean;
  readonly keepIdentity: boolean;
  /** sops's default age key file (`$XDG_CONFIG_HOME/sops/age/keys.txt` or `~/.config/…`): warned about, never deleted. */
  readonly keyFile: string;
  /** SOPS_AGE_KEY is set in this shell: warned about. */
  readonly sopsAgeKeySet: boolean;
}

/** What `purge` needs from the outside; tests pass fakes (a memory keychain, a fake home). */
export interface PurgeDeps {
  readonly io: Pick<CliIo, 'stdout'>;
  /** The live daemon holding `home`'s lock, or null. */
  readonly homeLockHolder: typeof liveHomeLockHolder;
  /** Puts the daemon on `socket` in `locked`; rejects with E_DAEMON_UNREACHABLE when none answers. */
  readonly lockDaemon: (socket: string) => Promise<void>;
  /** Names of the outputs ever written to home (the outputs record); rejects when it cannot be read. */
  readonly readOutputsRecord: (home: string) => Promise<string[]>;
  /** The names in home; rejects when there is no home. */
  readonly listHome: (home: string) => Promise<string[]>;
  /** Overwrites and unlinks `file`; false when there was nothing there. */
  readonly wipeFile: (file: string) => Promise<boolean>;
  /** The OS keychain, or null when it is off (MCP_SECRETS_KEYCHAIN=none). */
  readonly keychain: () => Keychain | null;
  /** Whether anything is at `file` (a link counts). */
  readonly exists: (file: string) => Promise<boolean>;
}

/** Resolves `purge`'s flags and the environment facts it reports on. */
export function resolvePurgeInput(input: CommandInput, io: Pick<CliIo, 'env' | 'cwd'>): PurgeInput {
  const options = resolveCommonOptions(input.values, io.env, io.cwd);
  return {
    home: options.home,
    socket: options.socket,
    json: options.json,
    keepIdentity: input.values['keep-identity'] === true,
    keyFile: path.join(io.env.XDG_CONFIG_HOME ?? path.join(io.env.HOME ?? '', '.config'), 'sops', 'age', 'keys.txt'),
    sopsAgeKeySet: Boolean(io.env.SOPS_AGE_KEY),
  };
}

/** The real collaborators; the IPC client loads only when purge runs. */
export function defaultPurgeDeps(io: CliIo): PurgeDeps {
  return {
    io,
    homeLockHolder: (home) => liveHomeLockHolder(home),
    lockDaemon: async (socketPath) => {
      const { lock } = await import('../ipc/client.js');
      await lock('purge', { socketPath, timeoutMs: 5_000 });
    },
    readOutputsRecord,
    listHome: (home) => readdir(home),
    wipeFile,
    keychain: () => openKeychain({ env: io.env }),
    exists: async (file) => {
      try {
        await lstat(file);
        return true;
      } catch {
        return false;
      }
    },
  };
}

/**
 * Purges home (see the module header for the order). Refuses (E_ALREADY_RUNNING) while a daemon
 * holds home but cannot be locked: it would restore what is deleted. Exit 2 when the keychain
 * could not be reached to forget identities, else 0.
 */
export async function runPurge(input: PurgeInput, deps: PurgeDeps): Promise<number> {
  const report: PurgeReport = { daemon: 'not running', removedFiles: [], forgottenRecipients: [], keptIdentity: input.keepIdentity, warnings: [] };

  // the daemon that holds home (whatever socket it uses), else the one on our socket, is locked first
  const holder = await deps.homeLockHolder(input.home);
  try {
    await deps.lockDaemon(holder?.socket ?? input.socket);
    report.daemon = 'locked';
  } catch (error) {
    if (!isAppError(error) || error.code !== 'E_DAEMON_UNREACHABLE') throw error;
    if (holder !== null) {
      // it would restore what we delete: do not purge beside it
      throw new AppError('E_ALREADY_RUNNING', `a daemon (pid ${holder.pid}) holds ${input.home} but does not answer on ${holder.socket}, so it cannot be locked`, {
        hint: 'stop that daemon (`mcp-secrets service uninstall` or kill it), then purge again',
        cause: error,
      });
    }
  }

  // an unreadable record still leaves the defaults to wipe; it is reported, never trusted
  const held = await deps.readOutputsRecord(input.home).catch((error: unknown) => {
    report.warnings.push(`the outputs record could not be read (${error instanceof Error ? error.message : String(error)}): check ${input.home} for other outputs`);
    return [] as string[];
  });
  const candidates = [...new Set([...DEFAULT_OUTPUT_NAMES, ...held])].map((n) => path.join(input.home, n));
  try {
    for (const name of await deps.listHome(input.home)) if (name.startsWith(TEMP_PREFIX)) candidates.push(path.join(input.home, name));
  } catch {
    // no home: nothing to remove
  }
  for (const file of candidates) if (await deps.wipeFile(file)) report.removedFiles.push(file);
  // the record lists names, not values: removed last, once what it names is gone
  await deps.wipeFile(path.join(input.home, OUTPUTS_RECORD));

  let keychainUnreachable = false;
  if (!report.keptIdentity) {
    const keychain = deps.keychain();
    if (keychain) {
      try {
        for (const recipient of await keychain.listRecipients()) {
          if (await keychain.delete(recipient)) report.forgottenRecipients.push(recipient);
        }
      } catch (error) {
        if (!isAppError(error)) throw error;
        keychainUnreachable = true;
        report.warnings.push(`could not reach the keychain to forget identities: ${error.message}${error.hint ? ` (${error.hint})` : ''}`);
      }
    }
  }
  if (await deps.exists(input.keyFile)) report.warnings.push(`a plaintext age key file still exists at ${input.keyFile}: delete it if it holds the compromised key`);
  if (input.sopsAgeKeySet) report.warnings.push('SOPS_AGE_KEY is set in this shell: unset it and remove it from your shell profile');

  const { io } = deps;
  if (input.json) io.stdout(jsonDocument(report));
  else {
    io.stdout(`mcp-secrets purge: daemon ${report.daemon}\n`);
    // file names, keychain account names and keychain errors are shown escaped
    io.stdout(report.removedFiles.length ? report.removedFiles.map((f) => `  removed ${oneLine(f)}\n`).join('') : '  no output files to remove\n');
    if (report.keptIdentity) io.stdout('  identities kept in the keychain (--keep-identity)\n');
    else io.stdout(report.forgottenRecipients.length ? report.forgottenRecipients.map((r) => `  forgot identity ${oneLine(r)}\n`).join('') : '  no identity cached in the keychain\n');
    for (const w of report.warnings) io.stdout(`  warning: ${oneLine(w)}\n`);
    io.stdout('next: revoke the exposed tokens at each provider, then `mcp-secrets rotate --ticket <ID> --rotate-data-key` (see docs/runbook.pt-BR.md)\n');
  }
  return keychainUnreachable ? EXIT.FAILED : EXIT.OK;
}

