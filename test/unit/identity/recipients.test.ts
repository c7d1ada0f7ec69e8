import test from 'ava';
import { recipientsFromBundle, recipientsFromSopsConfig } from '../../../src/identity/recipients.js';

const A = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
const B = 'age1lggyhqrw2nlhcxprm67z43rta597azn8gknawjehu9d9dl0jq3yqqvfafg';

test('reads age recipients from .sops.yaml, comma or newline separated, and from key groups', (t) => {
  const text = `creation_rules:\n  - path_regex: secrets\\.enc\\.yaml$\n    age: >-\n      ${A},\n      ${B}\n  - key_groups:\n      - age:\n          - ${A}\n`;
  t.deepEqual(recipientsFromSopsConfig(text), [A, B]);
  t.deepEqual(recipientsFromSopsConfig(`creation_rules:\n  - age: "${A}\\n${B}"\n`), [A, B]);
  t.deepEqual(recipientsFromSopsConfig('stores: {}\n'), []);
});

test('reads the recipients a bundle is encrypted to, in YAML, JSON and dotenv form', (t) => {
  const yaml = `a: ENC[AES256_GCM,data:x,iv:y,tag:z,type:str]\nsops:\n  age:\n    - recipient: ${A}\n      enc: |\n        -----BEGIN AGE ENCRYPTED FILE-----\n`;
  t.deepEqual(recipientsFromBundle(yaml), [A]);
  t.deepEqual(recipientsFromBundle(JSON.stringify({ a: 'x', sops: { age: [{ recipient: A }, { recipient: B }] } })), [A, B]);
  t.deepEqual(recipientsFromBundle(`A=ENC[...]\nsops_age__list_0__map_recipient=${B}\n`), [B]);
  t.is(recipientsFromBundle('plain: yaml\n'), null);
});
