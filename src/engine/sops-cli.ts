/**
 * The `sops` engine: the real sops binary as a child process, for bundles whose keys only sops
 * can open (PGP, KMS, Vault). DESIGN.md "Engines" and "Identity".
 *
 * Rules:
 * - execa with an argv array, never a shell;
 * - the child's environment is an allowlist, not ours: the basics every program needs (PATH,
 *   HOME, locale, temp dir), plus the credentials of the key types THIS bundle lists and nothing
 *   else ({@link sopsChildEnv}): a bundle is written by whoever can push, and must not be able to
 *   collect our Vault token or AWS keys by naming a key type it does not need;
 * - the age identities reach the child only through its environment (`SOPS_AGE_KEY`), never argv
 *   or a file, and only for a bundle that has an age recipient;
 * - a timeout kills the child;
 * - stdout (the plaintext) is parsed keeping key order and never appears in an error; stderr is
 *   echoed only after sanitising and masking anything key-shaped.
 */
import path from 'node:path';
import { yamlApi } from '../sops/yaml-api.js';
import { AppError, sanitizeForMessage } from '../errors.js';
import { fromPlain, type TreeMap } from '../sops/tree.js';
import type { BundleKeyTypes, DecryptEngine, DecryptInput } from './types.js';

export interface SopsCliOptions {
  /** The key types of the bundle this engine opens: they decide which credentials sops gets. */
  bundleKeys: BundleKeyTypes;
  /** The sops executable: a name looked up on PATH, or a path. Default `sops`. */
  binary?: string;
  /** Kill the child after this many milliseconds. Default 15000. */
  timeoutMs?: number;
  /** The child's base environment. Default: this process's environment at creation time. */
  env?: Record<string, string | undefined>;
}

interface ResolvedSopsCliOptions {
  readonly bundleKeys: BundleKeyTypes;
  readonly binary: string;
  readonly timeoutMs: number;
  readonly env: Readonly<Record<string, string | undefined>>;
}

export const DEFAULT_SOPS_BINARY = 'sops';
export const DEFAULT_SOPS_TIMEOUT_MS = 15_000;

/** sops's own exit statuses (getsops/sops cmd/sops/codes) that we translate. */
const SOPS_EXIT = { ERROR_DECRYPTING_MAC: 24, ERROR_DECRYPTING_TREE: 25, MAC_MISMATCH: 51, COULD_NOT_RETRIEVE_KEY: 128 } as const;

const INSTALL_HINT =
  'install sops (https://github.com/getsops/sops/releases) and make sure it is on PATH, or use `--engine native` when the bundle has an age recipient';

/** Applies defaults, validates, freezes. Messages name the option and the bad value. */
export function resolveSopsCliOptions(opts: SopsCliOptions): ResolvedSopsCliOptions {
  if (typeof opts?.bundleKeys !== 'object' || !Array.isArray(opts.bundleKeys.ageRecipients) || !Array.isArray(opts.bundleKeys.otherKeyTypes)) {
    throw new TypeError('sops engine option "bundleKeys" ({ageRecipients, otherKeyTypes} from the bundle metadata) is required');
  }
  const binary = opts.binary ?? DEFAULT_SOPS_BINARY;
  if (typeof binary !== 'string' || binary.length === 0 || binary.includes('\0')) {
    throw new AppError('E_USAGE', 'sops engine option "binary" must be a non-empty path or command name', {
      hint: 'leave it unset to use `sops` from PATH',
    });
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_SOPS_TIMEOUT_MS;
  if (!Number.isInteger(timeoutMs) || timeoutMs <= 0) {
    throw new AppError('E_USAGE', `sops engine option "timeoutMs" must be a positive whole number of milliseconds, not ${String(timeoutMs).slice(0, 20)}`, {
      hint: `leave it unset for the default (${DEFAULT_SOPS_TIMEOUT_MS} ms)`,
    });
  }
  const bundleKeys = Object.freeze({ ageRecipients: [...opts.bundleKeys.ageRecipients], otherKeyTypes: [...opts.bundleKeys.otherKeyTypes] });
  return Object.freeze({ bundleKeys, binary, timeoutMs, env: Object.freeze({ ...(opts.env ?? process.env) }) });
}

/** Creates the engine that decrypts by running `sops --decrypt --input-type FMT --output-type json FILE`. */
export function createSopsCliEngine(opts: SopsCliOptions): DecryptEngine {
  const options = resolveSopsCliOptions(opts);
  return Object.freeze({
    name: 'sops' as const,
    decrypt: (input: DecryptInput) => decryptWithSops(options, input),
  });
}

/** The argv given to sops (no identity ever appears here). */
export function sopsArgs(input: Pick<DecryptInput, 'format' | 'path'>): string[] {
  return ['--decrypt', '--input-type', input.format, '--output-type', 'json', path.resolve(input.path)];
}

/** What every child needs whatever the bundle: finding programs and files, locale, temp dir (Windows names included). */
export const SOPS_BASE_ENV: readonly string[] = Object.freeze([
  'PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LANGUAGE', 'LC_ALL', 'LC_CTYPE', 'LC_MESSAGES', 'TZ', 'TMPDIR', 'TMP', 'TEMP',
  'XDG_CONFIG_HOME', 'XDG_RUNTIME_DIR', 'SystemRoot', 'APPDATA', 'LOCALAPPDATA', 'USERPROFILE',
]);

/** Reaching a cloud or Vault endpoint: proxies and CA certificates. */
const NETWORK_ENV = ['HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'https_proxy', 'http_proxy', 'no_proxy', 'SSL_CERT_FILE', 'SSL_CERT_DIR'];

/**
 * The variables sops reads for each key type (getsops/sops: pgp, kms, gcpkms, azkv, hcvault), and
 * nothing else. The age identity is not here: {@link sopsChildEnv} sets `SOPS_AGE_KEY` itself.
 */
export const SOPS_KEY_TYPE_ENV: Readonly<Record<string, readonly string[]>> = Object.freeze({
  pgp: ['GNUPGHOME', 'GPG_AGENT_INFO', 'GPG_TTY', 'SOPS_GPG_EXEC'],
  kms: [
    ...NETWORK_ENV, 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_REGION', 'AWS_DEFAULT_REGION',
    'AWS_CONFIG_FILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_SDK_LOAD_CONFIG', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_ROLE_ARN', 'AWS_ROLE_SESSION_NAME',
    'AWS_CA_BUNDLE', 'AWS_STS_REGIONAL_ENDPOINTS', 'AWS_EC2_METADATA_DISABLED', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI',
    'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_AUTHORIZATION_TOKEN',
  ],
  gcp_kms: [...NETWORK_ENV, 'GOOGLE_APPLICATION_CREDENTIALS', 'GOOGLE_CREDENTIALS', 'GOOGLE_OAUTH_ACCESS_TOKEN', 'CLOUDSDK_CONFIG'],
  azure_kv: [
    ...NETWORK_ENV, 'AZURE_TENANT_ID', 'AZURE_CLIENT_ID', 'AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PATH', 'AZURE_CLIENT_CERTIFICATE_PASSWORD',
    'AZURE_USERNAME', 'AZURE_PASSWORD', 'AZURE_AUTHORITY_HOST', 'AZURE_FEDERATED_TOKEN_FILE', 'AZURE_CONFIG_DIR',
    'MSI_ENDPOINT', 'MSI_SECRET', 'IDENTITY_ENDPOINT', 'IDENTITY_HEADER',
  ],
  hc_vault: [...NETWORK_ENV, 'VAULT_ADDR', 'VAULT_TOKEN', 'VAULT_NAMESPACE', 'VAULT_CACERT', 'VAULT_CAPATH', 'VAULT_CLIENT_CERT', 'VAULT_CLIENT_KEY', 'VAULT_SKIP_VERIFY'],
});

/**
 * The child's environment: {@link SOPS_BASE_ENV} and the variables of the key types the bundle
 * lists, taken from `base`; nothing else is inherited (no `SOPS_AGE_KEY_FILE`, `SOPS_AGE_KEY_CMD`,
 * `LD_PRELOAD`, other tools' tokens). `SOPS_AGE_KEY` is set to the identities, one a line, only
 * when the bundle has an age recipient.
 */
export function sopsChildEnv(base: Readonly<Record<string, string | undefined>>, identities: readonly string[], bundleKeys: BundleKeyTypes): Record<string, string> {
  const names = new Set(SOPS_BASE_ENV);
  for (const type of bundleKeys.otherKeyTypes) for (const name of SOPS_KEY_TYPE_ENV[type] ?? []) names.add(name);
  const env: Record<string, string> = {};
  for (const name of names) {
    const value = base[name];
    if (value !== undefined) env[name] = value;
  }
  const keys = identities.map((i) => i.trim()).filter((i) => i.length > 0);
  if (bundleKeys.ageRecipients.length > 0 && keys.length > 0) env.SOPS_AGE_KEY = keys.join('\n');
  return env;
}

async function decryptWithSops(options: ResolvedSopsCliOptions, input: DecryptInput): Promise<TreeMap> {
  const file = path.resolve(input.path);
  // loaded only when the sops engine runs: execa is ~100 modules, and `sync` rarely needs it
  const { execa } = await import('execa');
  const result = await execa(options.binary, sopsArgs({ format: input.format, path: file }), {
    env: sopsChildEnv(options.env, input.identities, options.bundleKeys),
    extendEnv: false,
    stdin: 'ignore',
    reject: false,
    timeout: options.timeoutMs,
    // SIGTERM first; a child that ignores it is killed for good shortly after.
    forceKillAfterDelay: 2_000,
    encoding: 'utf8',
    stripFinalNewline: false,
  });

  if (result.timedOut) {
    throw new AppError('E_SOPS_CLI', `sops did not finish within ${options.timeoutMs} ms decrypting: ${file}`, {
      hint: 'sops may be waiting for a key service (KMS, gpg-agent, Vault) or a passphrase prompt; run `sops --decrypt` on the file yourself to see what it waits for',
      details: { file, timeoutMs: options.timeoutMs },
    });
  }
  if (result.exitCode === undefined) throw spawnFailure(options.binary, result.code, result.signal, file);
  if (result.exitCode !== 0) throw sopsFailure(result.exitCode, String(result.stderr ?? ''), file, input.identities);
  return parseSopsJson(String(result.stdout ?? ''), file);
}

function spawnFailure(binary: string, code: string | undefined, signal: string | undefined, file: string): AppError {
  const shownBinary = sanitizeForMessage(binary, 120);
  if (code === 'ENOENT') {
    return new AppError('E_SOPS_CLI', `sops binary not found: ${shownBinary}`, { hint: INSTALL_HINT, details: { binary: shownBinary, file } });
  }
  if (code === 'EACCES') {
    return new AppError('E_SOPS_CLI', `sops binary cannot be run (permission denied): ${shownBinary}`, {
      hint: `check that ${shownBinary} is an executable file, or ${INSTALL_HINT}`,
      details: { binary: shownBinary, file },
    });
  }
  if (signal) {
    return new AppError('E_SOPS_CLI', `sops was stopped by ${signal} decrypting: ${file}`, {
      hint: 'run `sops --decrypt` on the file yourself to see why',
      details: { binary: shownBinary, file, signal },
    });
  }
  return new AppError('E_SOPS_CLI', `sops could not be started (${code ?? 'unknown error'}): ${shownBinary}`, {
    hint: INSTALL_HINT,
    details: { binary: shownBinary, file },
  });
}

/**
 * The first meaningful lines of sops's stderr, safe to show: colour codes removed, the identities
 * and anything shaped like an age secret key or a private key block masked, control characters
 * escaped, length capped.
 */
export function summariseSopsStderr(stderr: string, identities: readonly string[] = [], maxLines = 4): string {
  let text = stderr;
  for (const identity of identities) {
    const key = identity.trim();
    if (key.length > 0) text = text.split(key).join('[redacted]');
  }
  text = text
    // eslint-disable-next-line no-control-regex
    .replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, '')
    .replace(/-----BEGIN [A-Z ]*PRIVATE KEY[A-Z ]*-----[\s\S]*?(-----END [A-Z ]*-----|$)/g, '[private key redacted]');
  const lines = text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0)
    .slice(0, maxLines);
  return sanitizeForMessage(lines.join(' / '), 400);
}

function sopsFailure(exitCode: number, stderr: string, file: string, identities: readonly string[]): AppError {
  const said = summariseSopsStderr(stderr, identities);
  const saying = said.length > 0 ? `: sops said: ${said}` : '';
  const details = { file, exitCode };
  if (exitCode === SOPS_EXIT.MAC_MISMATCH || /MAC mismatch/i.test(stderr)) {
    return new AppError('E_MAC_MISMATCH', `MAC mismatch decrypting: ${file} (sops exit ${exitCode})${saying}`, {
      hint: 'the bundle was changed without its data key or is corrupt; restore it from git (`git log -p` on the file shows who changed it)',
      details,
    });
  }
  if (
    exitCode === SOPS_EXIT.COULD_NOT_RETRIEVE_KEY ||
    /could not decrypt (the )?data key|failed to get the data key|no identity|no age identit|failed to load age identities|no matching (keys|identity)/i.test(stderr)
  ) {
    return new AppError('E_NO_IDENTITY', `no key opens the data key of: ${file} (sops exit ${exitCode})${saying}`, {
      hint: 'import an age identity that is a recipient with `mcp-secrets identity import`, or make the PGP/KMS/Vault credentials the bundle lists available to sops',
      details,
    });
  }
  if (exitCode === SOPS_EXIT.ERROR_DECRYPTING_TREE || exitCode === SOPS_EXIT.ERROR_DECRYPTING_MAC) {
    return new AppError('E_DECRYPT', `a value could not be decrypted in: ${file} (sops exit ${exitCode})${saying}`, {
      hint: 'the bundle may be corrupt or tampered with; restore it from git',
      details,
    });
  }
  return new AppError('E_SOPS_CLI', `sops failed (exit ${exitCode}) decrypting: ${file}${saying}`, {
    hint: 'run `sops --decrypt` on the file yourself to see the whole message',
    details,
  });
}

/**
 * Parses sops's JSON output into an ordered tree. `JSON.parse` would move integer-like keys to the
 * front of each object, so the `yaml` package's JSON schema parser reads it into Maps instead.
 * Parse errors name the position only: the text is plaintext and never goes into a message.
 */
export function parseSopsJson(text: string, file: string): TreeMap {
  const doc = yamlApi().parseDocument(text, { schema: 'json', uniqueKeys: true, prettyErrors: false });
  const first = doc.errors[0];
  if (first !== undefined) {
    throw new AppError('E_SOPS_CLI', `sops printed output that is not valid JSON (${first.code} at offset ${first.pos[0]}) decrypting: ${file}`, {
      hint: 'check `sops --version` (3.7 or newer is needed) and run `sops --decrypt --output-type json` on the file yourself',
      details: { file, errorCode: first.code },
    });
  }
  const value = fromPlain(doc.toJS({ mapAsMap: true }));
  if (!(value instanceof Map)) {
    throw new AppError('E_SOPS_CLI', `sops printed JSON that is not an object decrypting: ${file}`, {
      hint: 'run `sops --decrypt --output-type json` on the file yourself to see what it prints',
      details: { file },
    });
  }
  return value;
}
