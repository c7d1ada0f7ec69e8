/**
 * `mcp-secrets decrypt FILE`: prints the decrypted document, like `sops -d` (for troubleshooting
 * and pipelines). `--output-type json` prints sops's JSON form. Strict like `sync`: a MAC or tag
 * problem is an error with no output at all.
 */
import path from 'node:path';
import { AppError, EXIT } from '../errors.js';
import { resolveCommonOptions, type EngineName } from '../config/options.js';
import { decryptFile, formatFromPath, renderDocument, SOPS_FORMATS, type SopsFormat, type TreeMap } from '../bundle/document.js';
import type { DocumentSource } from '../bundle/open.js';
import { identityLookup } from '../identity/lookup.js';
import type { Command, CliIo, CommandInput } from './types.js';

const FORMATS = SOPS_FORMATS;

const command: Command = { run: (input, io) => runDecrypt(resolveDecryptInput(input, io), defaultDecryptDeps(io)) };
export default command;

/** What `decrypt` does, resolved from its flags. */
export interface DecryptInput {
  /** The file, absolute. */
  readonly sourceAbs: string;
  /** The file as typed, for messages. */
  readonly sourceRel: string;
  readonly engine: EngineName;
  readonly inputFormat: SopsFormat;
  readonly outputFormat: SopsFormat;
}

/** What `decrypt` needs from the outside; tests pass fakes. */
export interface DecryptDeps {
  /** Reads and opens the file through the use-case layer (identities, engine, MAC). */
  decrypt(source: DocumentSource): Promise<TreeMap>;
  stdout(text: string | Uint8Array): void;
}

function formatOption(name: string, value: unknown, fallback: SopsFormat): SopsFormat {
  if (value === undefined) return fallback;
  if (typeof value === 'string' && (FORMATS as readonly string[]).includes(value)) return value as SopsFormat;
  throw new AppError('E_USAGE', `--${name} must be one of ${FORMATS.join(', ')}, not "${String(value).slice(0, 20)}"`, { hint: `e.g. --${name} json` });
}

/**
 * The flags of `decrypt` resolved: the file (relative to the cwd), the formats (input from the
 * file name unless given, output = input unless given) and the engine.
 *
 * @throws AppError `E_USAGE` for a missing FILE or an unknown format.
 */
export function resolveDecryptInput(input: CommandInput, io: Pick<CliIo, 'env' | 'cwd'>): DecryptInput {
  const options = resolveCommonOptions(input.values, io.env, io.cwd);
  const file = input.positionals[0];
  if (!file) throw new AppError('E_USAGE', 'decrypt needs a FILE', { hint: 'mcp-secrets decrypt config/secrets.enc.yaml' });
  const sourceAbs = path.resolve(io.cwd, file);
  const inputFormat = formatOption('input-type', input.values['input-type'], formatFromPath(sourceAbs));
  // `--json` is `--output-type json` (sops's JSON form), the JSON every command prints
  if (input.values.json === true && input.values['output-type'] !== undefined && input.values['output-type'] !== 'json') {
    throw new AppError('E_USAGE', `decrypt: --json and --output-type ${String(input.values['output-type']).slice(0, 20)} contradict each other`, { hint: 'use one of them' });
  }
  const outputFormat = input.values.json === true ? 'json' : formatOption('output-type', input.values['output-type'], inputFormat);
  return { sourceAbs, sourceRel: file, engine: options.engine, inputFormat, outputFormat };
}

/** The real collaborators: the keychain and the other identity sources, the real file. */
export function defaultDecryptDeps(io: CliIo): DecryptDeps {
  return {
    // the same open as sync (one parse, the identity order, the engine rules), without entries or pins
    decrypt: (source) => decryptFile(source, { identities: identityLookup({ env: io.env, cache: false, onNotice: () => {} }), env: io.env }),
    stdout: (text) => io.stdout(text),
  };
}

/** Decrypts `input`'s file and prints it; nothing is printed unless it opened in full. */
export async function runDecrypt(input: DecryptInput, deps: DecryptDeps): Promise<number> {
  const document = await deps.decrypt({ sourceAbs: input.sourceAbs, sourceRel: input.sourceRel, engine: input.engine, format: input.inputFormat });
  deps.stdout(renderDocument(document, input.outputFormat));
  return EXIT.OK;
}
