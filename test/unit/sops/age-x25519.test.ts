/**
 * The node:crypto X25519 path against the age project's test vectors (CCTV, npm `cctv-age`) and
 * against age-encryption (the oracle) on the same files.
 */
import test from 'ava';
import { createHash } from 'node:crypto';
import { inflateSync } from 'node:zlib';
import * as vectors from 'cctv-age';
import { Decrypter, Encrypter, armor, generateIdentity, generateHybridIdentity, identityToRecipient } from 'age-encryption';
import { AgeFailure, NotNative, bech32Decode, bech32Encode, dearmor, decryptX25519, parseX25519Identity, type AgeFailureKind } from '../../../src/sops/age-x25519.js';

interface Vector {
  name: string;
  expect: string;
  identities: string[];
  passphrases: string[];
  armored: boolean;
  payloadSha256: string | undefined;
  file: Uint8Array;
}

function readVector(name: string, raw: Uint8Array): Vector {
  const bytes = Buffer.from(raw);
  const split = bytes.indexOf('\n\n');
  const fields = bytes
    .subarray(0, split)
    .toString('utf8')
    .split('\n')
    .map((line) => [line.slice(0, line.indexOf(': ')), line.slice(line.indexOf(': ') + 2)] as const);
  const get = (key: string): string[] => fields.filter(([k]) => k === key).map(([, v]) => v);
  let file: Uint8Array = bytes.subarray(split + 2);
  if (get('compressed')[0] === 'zlib') file = inflateSync(file);
  return {
    name,
    expect: get('expect')[0] ?? '',
    identities: get('identity'),
    passphrases: get('passphrase'),
    armored: get('armored')[0] === 'yes',
    payloadSha256: get('payload')[0],
    file,
  };
}

const ALL = Object.entries(vectors as Record<string, Uint8Array>).map(([name, raw]) => readVector(name, raw));
/** Vectors an X25519-only reader must get right: X25519 identities, no passphrase. */
const X25519_VECTORS = ALL.filter((v) => v.passphrases.length === 0 && v.identities.length > 0 && v.identities.every((i) => i.startsWith('AGE-SECRET-KEY-1')));

const KIND_OF: Record<string, AgeFailureKind | 'success'> = {
  success: 'success',
  'armor failure': 'armor',
  'header failure': 'header',
  'no match': 'no match',
  'HMAC failure': 'hmac',
  'payload failure': 'payload',
};

type Outcome = { kind: 'success'; sha256: string } | { kind: AgeFailureKind } | { kind: 'not native' };

function native(v: Vector): Outcome {
  try {
    const ids = v.identities.map(parseX25519Identity);
    const file = v.armored ? dearmor(Buffer.from(v.file).toString('latin1')) : v.file;
    return { kind: 'success', sha256: createHash('sha256').update(decryptX25519(file, ids)).digest('hex') };
  } catch (error) {
    if (error instanceof NotNative) return { kind: 'not native' };
    if (error instanceof AgeFailure) return { kind: error.kind };
    throw error;
  }
}

async function oracle(v: Vector): Promise<boolean> {
  const d = new Decrypter();
  for (const id of v.identities) d.addIdentity(id);
  try {
    await d.decrypt(v.armored ? armor.decode(Buffer.from(v.file).toString('latin1')) : v.file);
    return true;
  } catch {
    return false;
  }
}

test('the vector set has the X25519, header, STREAM and armor cases this reader claims', (t) => {
  t.true(X25519_VECTORS.length >= 90, `only ${X25519_VECTORS.length} X25519 vectors`);
  for (const prefix of ['x25519', 'stanza_', 'hmac_', 'stream_', 'armor_']) t.true(X25519_VECTORS.some((v) => v.name.startsWith(prefix)), prefix);
});

for (const v of X25519_VECTORS) {
  test(`CCTV ${v.name}: ${v.expect}, as age-encryption says too`, async (t) => {
    const want = KIND_OF[v.expect];
    if (!want) return t.fail(`unknown expectation ${v.expect}`);
    const got = native(v);
    if (got.kind === 'not native') {
      // only a file with another stanza type may leave this path, and the oracle then decides it
      const text = Buffer.from(v.armored ? armor.decode(Buffer.from(v.file).toString('latin1')) : v.file).toString('latin1');
      t.true(/^-> (?!X25519 )/m.test(text.slice(0, text.indexOf('\n---'))), `${v.name} left the native path with only X25519 stanzas`);
      t.is(await oracle(v), want === 'success');
      return;
    }
    t.is(got.kind, want);
    if (got.kind === 'success') t.is(got.sha256, v.payloadSha256 ?? '(no payload hash)');
    t.is(await oracle(v), got.kind === 'success', 'age-encryption agrees on success or failure');
  });
}

test('hands a post-quantum identity and a file with a post-quantum stanza to age-encryption', async (t) => {
  const pq = await generateHybridIdentity();
  t.throws(() => parseX25519Identity(pq), { instanceOf: NotNative });
  const e = new Encrypter();
  e.addRecipient(await identityToRecipient(pq));
  const file = await e.encrypt(new Uint8Array(32));
  const x = parseX25519Identity(await generateIdentity());
  t.throws(() => decryptX25519(file, [x]), { instanceOf: NotNative });
});

test('opens what age-encryption wrote, to the same bytes, for the right identity only', async (t) => {
  const idA = await generateIdentity();
  const idB = await generateIdentity();
  const e = new Encrypter();
  e.addRecipient(await identityToRecipient(idA));
  e.addRecipient(await identityToRecipient(idB));
  const key = new Uint8Array(32).map((_, i) => i * 7);
  const file = dearmor(armor.encode(await e.encrypt(key)));
  t.deepEqual(new Uint8Array(decryptX25519(file, [parseX25519Identity(idB)])), key);
  const stranger = parseX25519Identity(await generateIdentity());
  t.is(t.throws(() => decryptX25519(file, [stranger]), { instanceOf: AgeFailure })?.kind, 'no match');
});

test('derives the same recipient as age-encryption, and round-trips bech32', async (t) => {
  for (let i = 0; i < 5; i++) {
    const id = await generateIdentity();
    const mine = parseX25519Identity(id);
    t.is(mine.recipient, await identityToRecipient(id));
    const decoded = bech32Decode(mine.recipient);
    t.is(decoded && bech32Encode(decoded.hrp, decoded.data), mine.recipient);
  }
});

test('refuses a malformed X25519 identity without echoing it', (t) => {
  const id = 'AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ';
  const e = t.throws(() => parseX25519Identity(id));
  t.false(e?.message.includes('QQQQ'));
  t.throws(() => parseX25519Identity(id.toLowerCase().replace('age-secret-key-1', 'AGE-SECRET-KEY-1')));
});
