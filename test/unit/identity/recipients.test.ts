import test from 'ava';
import { recipientsFromSopsConfig } from '../../../src/identity/recipients.js';

const A = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
const B = 'age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg';

test('reads age recipients from .sops.yaml, comma or newline separated, and from key groups', (t) => {
  const text = `creation_rules:\n  - path_regex: secrets\\.enc\\.yaml$\n    age: >-\n      ${A},\n      ${B}\n  - key_groups:\n      - age:\n          - ${A}\n`;
  t.deepEqual(recipientsFromSopsConfig(text), [A, B]);
  t.deepEqual(recipientsFromSopsConfig(`creation_rules:\n  - age: "${A}\\n${B}"\n`), [A, B]);
  t.deepEqual(recipientsFromSopsConfig('stores: {}\n'), []);
});
