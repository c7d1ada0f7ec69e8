import test from 'ava';
import type { Entry } from '../../../src/render/entries.js';
import { childEnvironment } from '../../../src/consumers/child-env.js';

const entries: Entry[] = [
  { name: 'GEMINI_API_KEY', provider: 'gemini', value: 'from-bundle', path: ['GEMINI_API_KEY'] },
  { name: 'NEW_ONE', provider: 'ops', value: 'n', path: ['NEW_ONE'] },
];

test('drops every SOPS_AGE_ variable, the key command included, and keeps the rest of the parent', (t) => {
  const { env } = childEnvironment({ PATH: '/bin', SOPS_AGE_KEY: 'AGE-SECRET-KEY-1X', SOPS_AGE_KEY_FILE: '/k', SOPS_AGE_KEY_CMD: 'pass show age', SOPS_AGE_RECIPIENTS: 'age1', UNSET: undefined }, entries);
  t.deepEqual(Object.keys(env).sort(), ['GEMINI_API_KEY', 'NEW_ONE', 'PATH']);
});

test('the bundle wins over the parent by default and --preserve-env keeps the parent; both report the name', (t) => {
  const parent = { GEMINI_API_KEY: 'stale-export' };
  const won = childEnvironment(parent, entries);
  t.is(won.env.GEMINI_API_KEY, 'from-bundle');
  t.deepEqual(won.overlapping, ['GEMINI_API_KEY']);
  const kept = childEnvironment(parent, entries, { preserveEnv: true });
  t.is(kept.env.GEMINI_API_KEY, 'stale-export');
  t.is(kept.env.NEW_ONE, 'n');
});
