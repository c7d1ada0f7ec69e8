/**
 * `mcp-secrets decrypt FILE`: prints the decrypted document, like `sops -d` (for troubleshooting
 * and pipelines). `--output-type json` prints sops's JSON form. Strict like `sync`: a MAC or tag
 * problem is an error with no output at all.
 */
import path from 'node:path';
import { AppError, EXIT, isAppError } from '../errors.js';
import { READ_LIMITS, readBounded } from '../fsx/read-bounded.js';
import { resolveCommonOptions } from '../config/options.js';
import { formatFromPath, serialize, toOrderedJson, type SopsFormat } from '../sops/index.js';
import { SOPS_FORMATS } from '../engine/types.js';
import { decryptDocument } from '../bundle/open.js';
import { identityLookup } from '../identity/lookup.js';
import type { Command, CliIo, CommandInput } from './types.js';

const FORMATS = SOPS_FORMATS;

const command: Command = { run: runDecrypt };
export default command;

function formatOption(name: string, value: unknown, fallback: SopsFormat): SopsFormat {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (FORMATS as readonly string[]).includes(value)) return value as SopsFormat;
  throw new AppError('E_USAGE', `--${name} must be one of ${FORMATS.join(', ')}, not "${String(value).slice(0, 20)}"`, { hint: `e.g. --${name} json` });
}

export async function runDecrypt(input: CommandInput, io: CliIo): Promise<number> {
  const options = resolveCommonOptions(input.values, io.env, io.cwd);
  const file = input.positionals[0];
  if (!file) throw new AppError('E_USAGE', 'decrypt needs a FILE', { hint: 'mcp-secrets decrypt config/secrets.enc.yaml' });
  const abs = path.resolve(io.cwd, file);
  let bytes: Buffer;
  try {
    // the user named this file, so a symlink is followed; a FIFO, a device or a huge file is not read
    bytes = await readBounded(abs, { limit: READ_LIMITS.bundle, followSymlinks: true, what: 'the file' });
  } catch (error) {
    if (isAppError(error)) throw error;
    throw new AppError('E_SOURCE_MISSING', `cannot read ${abs} (${(error as NodeJS.ErrnoException).code ?? 'error'})`, { hint: 'check the path', cause: error });
  }
  const inputFormat = formatOption('input-type', input.values['input-type'], formatFromPath(abs));
  const outputFormat = formatOption('output-type', input.values['output-type'], inputFormat);
  // the same open as sync (one parse, the identity order, the engine rules), without entries or pins
  const { document, dataKey } = await decryptDocument(
    { sourceAbs: abs, sourceRel: file, engine: options.engine, format: inputFormat },
    bytes,
    { identities: identityLookup({ env: io.env, cache: false, onNotice: () => {} }), env: io.env },
  );
  dataKey?.fill(0);
  if (outputFormat === 'json') io.stdout(toOrderedJson(document) + '\n');
  else io.stdout(serialize(document, outputFormat));
  return EXIT.OK;
}
