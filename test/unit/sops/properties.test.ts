import test from 'ava';
import fc from 'fast-check';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { Document, parse as parseYaml } from 'yaml';
import { AppError } from '../../../src/errors.js';
import { decrypt, encrypt, type SopsFormat, type TreeMap, type TreeValue } from '../../../src/sops/index.js';
import { parseYamlText } from '../../../src/sops/stores/yaml-tree.js';
import { canonical } from '../../helpers/order.js';

const keyArb = fc.oneof(
  fc.string({ minLength: 1, maxLength: 8 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 6 }),
  fc.nat({ max: 50 }).map(String),
  fc.constantFrom('sops_like', 'key with space', 'x_unencrypted', '0word', '10', '2'),
).filter((k) => k !== 'sops');

const scalarArb: fc.Arbitrary<TreeValue> = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', 'multi\nline\n', 'trailing\n\n', ' padded ', 'true', 'null', '123', 'ENC[AES256_GCM,fake]', '- dash', '#hash'),
  fc.integer({ min: -1_000_000, max: 1_000_000 }),
  fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)),
  fc.boolean(),
  fc.constant(null),
);

function mapOf(valueArb: fc.Arbitrary<TreeValue>, maxKeys: number): fc.Arbitrary<TreeMap> {
  return fc.uniqueArray(fc.tuple(keyArb, valueArb), { maxLength: maxKeys, selector: ([k]) => k }).map((entries) => new Map(entries));
}

const treeArb: fc.Arbitrary<TreeMap> = fc.letrec<{ value: TreeValue; map: TreeMap }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalarArb, tie('map'), fc.array(tie('value'), { maxLength: 3 })),
  map: mapOf(tie('value'), 5),
})).map;

const flatStringMap = fc
  .uniqueArray(fc.tuple(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.-]{0,12}$/).filter((k) => !k.startsWith('sops_')), fc.string({ unit: 'grapheme', maxLength: 30 }).filter((v) => !v.includes('\\n') && !v.includes('\r'))), { maxLength: 6, selector: ([k]) => k })
  .map((entries) => new Map<string, TreeValue>(entries));

const iniArb = fc
  .uniqueArray(
    fc.tuple(
      fc.stringMatching(/^[A-Za-z][A-Za-z0-9 _.-]{0,10}[A-Za-z0-9]$/).filter((s) => s !== 'sops'),
      fc
        .uniqueArray(fc.tuple(fc.stringMatching(/^[A-Za-z][A-Za-z0-9_.-]{0,10}$/), fc.string({ unit: 'grapheme', maxLength: 24 }).filter((v) => !v.includes('`') && !v.includes('"'))), { minLength: 1, maxLength: 4, selector: ([k]) => k })
        .map((entries) => new Map<string, TreeValue>(entries)),
    ),
    { maxLength: 3, selector: ([k]) => k },
  )
  .map((entries) => new Map<string, TreeValue>(entries));

let keys: { identity: string; recipient: string } | undefined;
async function testKey(): Promise<{ identity: string; recipient: string }> {
  if (!keys) {
    const identity = await generateIdentity();
    keys = { identity, recipient: await identityToRecipient(identity) };
  }
  return keys;
}

async function roundTrip(doc: TreeMap, format: SopsFormat): Promise<TreeMap> {
  const { identity, recipient } = await testKey();
  const bytes = await encrypt(doc, { format, recipients: [recipient] });
  return decrypt(bytes, { format, identities: [identity] });
}

for (const format of ['yaml', 'json'] as const) {
  test(`round-trips arbitrary nested documents through ${format} encrypt and decrypt`, async (t) => {
    await fc.assert(
      fc.asyncProperty(treeArb, async (doc) => {
        t.deepEqual(canonical(await roundTrip(doc, format)), canonical(doc));
      }),
      { numRuns: 60 },
    );
  });
}

test('round-trips flat string documents through dotenv', async (t) => {
  await fc.assert(
    fc.asyncProperty(flatStringMap, async (doc) => {
      t.deepEqual(canonical(await roundTrip(doc, 'dotenv')), canonical(doc));
    }),
    { numRuns: 40 },
  );
});

test('round-trips sectioned string documents through INI', async (t) => {
  await fc.assert(
    fc.asyncProperty(iniArb, async (doc) => {
      const trimmed = new Map([...doc].map(([s, body]) => [s, new Map([...(body as TreeMap)].map(([k, v]) => [k, v]))]));
      t.deepEqual(canonical(await roundTrip(doc, 'ini')), canonical(trimmed));
    }),
    { numRuns: 40 },
  );
});

test('round-trips arbitrary bytes through the binary store', async (t) => {
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), async (bytes) => {
      const out = await roundTrip(new Map([['data', bytes]]), 'binary');
      t.true(Buffer.from(out.get('data') as Uint8Array).equals(Buffer.from(bytes)));
    }),
    { numRuns: 30 },
  );
});

test('reads YAML from the CST exactly as the yaml Document API does', (t) => {
  fc.assert(
    fc.property(treeArb, fc.constantFrom(2, 4), fc.boolean(), (doc, indent, indentSeq) => {
      const text = new Document(toPlainMaps(doc), { version: '1.2' }).toString({ indent, indentSeq, lineWidth: 40 });
      const ours = parseYamlText(text, 'x').root;
      const theirs = parseYaml(text, { mapAsMap: true, version: '1.2', schema: 'core' }) as unknown;
      t.deepEqual(canonical(ours), canonical(theirs));
    }),
    { numRuns: 150 },
  );
});

function toPlainMaps(v: TreeValue): unknown {
  if (v instanceof Map) return new Map([...v].map(([k, x]) => [k, toPlainMaps(x)]));
  if (Array.isArray(v)) return v.map(toPlainMaps);
  return v;
}

/** Flips one base64 character of the n-th ENC[] field (data/iv/tag) or of the MAC. */
function flipInField(text: string, field: 'data' | 'iv' | 'tag', which: number, position: number): string | null {
  const re = new RegExp(`${field}:([A-Za-z0-9+/]+)`, 'g');
  const matches = [...text.matchAll(re)];
  if (matches.length === 0) return null;
  const m = matches[which % matches.length] as RegExpMatchArray;
  const body = m[1] as string;
  // the last base64 character may carry padding bits; flip a full-information one
  const usable = body.length > 2 ? body.length - 2 : body.length;
  const at = (m.index as number) + field.length + 1 + (position % usable);
  const c = text[at] as string;
  return text.slice(0, at) + (c === 'A' ? 'B' : 'A') + text.slice(at + 1);
}

test('detects a single changed character in any value ciphertext, IV, tag or the MAC, and returns nothing', async (t) => {
  const { identity, recipient } = await testKey();
  const doc = new Map<string, TreeValue>([
    ['api', new Map<string, TreeValue>([['token', 'abcdefghijklmnop'], ['port', 8080]])],
    ['list', ['one', 'two', true]],
    ['note_unencrypted', 'clear'],
  ]);
  const text = Buffer.from(await encrypt(doc, { format: 'yaml', recipients: [recipient] })).toString('utf8');
  await fc.assert(
    fc.asyncProperty(fc.constantFrom('data', 'iv', 'tag') as fc.Arbitrary<'data' | 'iv' | 'tag'>, fc.nat(), fc.nat(), async (field, which, position) => {
      const tampered = flipInField(text, field, which, position);
      if (tampered === null || tampered === text) return;
      let out: TreeMap | undefined;
      try {
        out = await decrypt(tampered, { format: 'yaml', identities: [identity] });
      } catch (error) {
        t.true(error instanceof AppError);
        t.true(['E_DECRYPT', 'E_MAC_MISMATCH'].includes((error as AppError).code));
      }
      t.is(out, undefined);
    }),
    { numRuns: 60 },
  );
});
