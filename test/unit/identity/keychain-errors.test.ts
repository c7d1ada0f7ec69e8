import test from 'ava';
import { AppError } from '../../../src/errors.js';
import {
  CAUSE_TEXT,
  KEYCHAIN_FAILURE_CAUSES,
  classifyKeychainFailure,
  keychainError,
  keychainFailureCause,
  type KeychainFailureCause,
} from '../../../src/identity/keychain/errors.js';

// Real texts, as keytar 7.9 gives them (Linux texts seen here; macOS texts from Security.framework).
const TABLE: [string, KeychainFailureCause][] = [
  ['Cannot autolaunch D-Bus without X11 $DISPLAY', 'no-dbus'],
  ['The name org.freedesktop.secrets was not provided by any .service files', 'no-secret-service'],
  ['GDBus.Error:org.freedesktop.DBus.Error.ServiceUnknown: The name org.freedesktop.secrets was not provided by any .service files', 'no-secret-service'],
  ['Could not connect: No such file or directory', 'stale-bus'],
  ['Cannot create an item in a locked collection', 'locked'],
  ['Object does not exist at path “/org/freedesktop/secrets/collection/login”', 'no-collection'],
  ['User interaction is not allowed.', 'denied'],
  ['The user name or passphrase you entered is not correct.', 'denied'],
  ['errSecAuthFailed', 'denied'],
  ['something nobody has seen', 'unknown'],
];

for (const [message, cause] of TABLE) {
  test(`reads "${message.slice(0, 50)}" as ${cause}`, (t) => {
    t.is(classifyKeychainFailure(message), cause);
  });
}

test('gives every cause a label and a hint', (t) => {
  for (const cause of KEYCHAIN_FAILURE_CAUSES) {
    t.true(CAUSE_TEXT[cause].label.length > 0);
    t.true(CAUSE_TEXT[cause].hint.length > 20);
  }
});

test('builds an E_KEYCHAIN error with the cause in details and the original as cause', (t) => {
  const original = new Error('Cannot create an item in a locked collection');
  const error = keychainError('locked', 'cannot store age1abc in the OS keychain (keytar)', original);
  t.true(error instanceof AppError);
  t.is(error.code, 'E_KEYCHAIN');
  t.is(error.message, 'cannot store age1abc in the OS keychain (keytar): locked collection');
  t.regex(error.hint ?? '', /unlock/);
  t.deepEqual(error.details, { cause: 'locked' });
  t.is(error.cause, original);
  t.is(keychainFailureCause(error), 'locked');
  t.is(keychainFailureCause(new AppError('E_PARSE', 'x')), null);
});
