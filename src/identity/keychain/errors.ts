/**
 * Keychain failures → one E_KEYCHAIN error per cause, with the next step as hint.
 *
 * The cause is found from the backend's message text (neither keytar nor @napi-rs/keyring gives
 * codes). Messages and hints never contain the secret; the backend's own text is kept only as the
 * error's `cause`.
 */
import { AppError } from '../../errors.js';

export const KEYCHAIN_FAILURE_CAUSES = [
  'unavailable',
  'disabled',
  'no-dbus',
  'no-secret-service',
  'stale-bus',
  'locked',
  'no-collection',
  'denied',
  'timeout',
  'unknown',
] as const;

/** Why the keychain failed; `details.cause` of an E_KEYCHAIN error. */
export type KeychainFailureCause = (typeof KEYCHAIN_FAILURE_CAUSES)[number];

interface CauseText {
  /** Short words for attempt lists: "E_KEYCHAIN: locked collection". */
  readonly label: string;
  readonly hint: string;
}

export const FALLBACK_HINT = 'or skip the keychain: set MCP_SECRETS_KEYCHAIN=none and point SOPS_AGE_KEY_FILE at your key file';

export const CAUSE_TEXT: Readonly<Record<KeychainFailureCause, CauseText>> = {
  unavailable: {
    label: 'no keychain backend installed',
    hint: `the keychain module cannot be loaded: reinstall mcp-secrets without --omit=optional so that npm fetches @napi-rs/keyring's binary for this platform; ${FALLBACK_HINT}`,
  },
  disabled: {
    label: 'disabled by MCP_SECRETS_KEYCHAIN=none',
    hint: 'unset MCP_SECRETS_KEYCHAIN to use the OS keychain, or use SOPS_AGE_KEY_FILE',
  },
  'no-dbus': {
    label: 'no D-Bus session',
    hint: `DBUS_SESSION_BUS_ADDRESS is not set (no desktop session, e.g. over SSH): log in to the desktop, or run the command inside \`dbus-run-session\` with gnome-keyring started; ${FALLBACK_HINT}`,
  },
  'no-secret-service': {
    label: 'no Secret Service',
    hint: `nothing provides org.freedesktop.secrets on the session bus: install and start gnome-keyring (\`gnome-keyring-daemon --start --components=secrets\`) or enable KeePassXC's Secret Service; ${FALLBACK_HINT}`,
  },
  'stale-bus': {
    label: 'stale D-Bus address',
    hint: `DBUS_SESSION_BUS_ADDRESS points at a bus that no longer exists (an old SSH or tmux session?): log in again or export the current address; ${FALLBACK_HINT}`,
  },
  locked: {
    label: 'locked collection',
    hint: 'the keyring is locked: unlock it (log in to the desktop, or `printf %s "$PASSWORD" | gnome-keyring-daemon --unlock --replace`) and run the command again',
  },
  'no-collection': {
    label: 'no login collection',
    hint: 'the keyring has no login collection: log in to a desktop session once, or create it with `printf %s "$PASSWORD" | gnome-keyring-daemon --unlock --components=secrets`',
  },
  denied: {
    label: 'access denied',
    hint: 'the OS refused access to the login keychain (locked, or no way to prompt, e.g. over SSH): unlock it with `security unlock-keychain` or allow mcp-secrets in Keychain Access, then retry',
  },
  timeout: {
    label: 'no answer in time',
    hint: 'the keychain did not answer (an unlock prompt left open, or a hung Secret Service): unlock the keyring and retry; `mcp-secrets doctor` checks it',
  },
  unknown: {
    label: 'keychain failure',
    hint: `run \`mcp-secrets doctor\` to check the keychain; ${FALLBACK_HINT}`,
  },
};

/** Backend message fragments → cause, first match wins. Lower-cased comparison. */
const PATTERNS: readonly (readonly [string, KeychainFailureCause])[] = [
  ['cannot autolaunch d-bus', 'no-dbus'],
  ['unable to autolaunch', 'no-dbus'],
  ['dbus_session_bus_address', 'no-dbus'],
  ['was not provided by any .service files', 'no-secret-service'],
  ['org.freedesktop.dbus.error.serviceunknown', 'no-secret-service'],
  ['could not connect', 'stale-bus'],
  // @napi-rs/keyring (zbus / dbus-secret-service) words for the same causes
  ['failed to connect to socket', 'stale-bus'],
  ['failed to connect to address', 'stale-bus'],
  ['locked collection', 'locked'],
  ['is locked', 'locked'],
  ['islocked', 'locked'],
  ['unlock prompt was dismissed', 'locked'],
  ['/collection/login', 'no-collection'],
  ['secret service: no result found', 'no-collection'],
  ['user interaction is not allowed', 'denied'],
  ['errsecauthfailed', 'denied'],
  ['authorization/authentication failed', 'denied'],
  ['user name or passphrase you entered is not correct', 'denied'],
  ['interaction not allowed', 'denied'],
  ['user canceled', 'denied'],
];

/** The cause behind a backend error message (`unknown` when no pattern matches). */
export function classifyKeychainFailure(message: string): KeychainFailureCause {
  const text = message.toLowerCase();
  for (const [fragment, cause] of PATTERNS) if (text.includes(fragment)) return cause;
  return 'unknown';
}

/**
 * An E_KEYCHAIN AppError: `<what failed>: <label>`, the cause's hint, `details.cause`.
 *
 * @param what e.g. "cannot store age1… in the OS keychain (keytar)"; must hold no secret.
 * @param options.hint replaces the cause's generic hint (a backend knows how it is installed).
 */
export function keychainError(cause: KeychainFailureCause, what: string, original?: unknown, options: { hint?: string } = {}): AppError {
  const text = CAUSE_TEXT[cause];
  return new AppError('E_KEYCHAIN', `${what}: ${text.label}`, {
    hint: options.hint ?? text.hint,
    cause: original,
    details: { cause },
  });
}

/** The cause of an E_KEYCHAIN AppError, or null for any other error. */
export function keychainFailureCause(error: unknown): KeychainFailureCause | null {
  if (!(error instanceof AppError) || error.code !== 'E_KEYCHAIN') return null;
  const cause = error.details?.cause;
  return typeof cause === 'string' && (KEYCHAIN_FAILURE_CAUSES as readonly string[]).includes(cause) ? (cause as KeychainFailureCause) : 'unknown';
}
