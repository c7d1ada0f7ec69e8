import test from 'ava';
import fc from 'fast-check';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { createMaskStream, MIN_MASK_LENGTH } from '../../../src/consumers/mask.js';

async function maskChunks(chunks: (string | Buffer)[], targets = [{ name: 'TOKEN', value: 'sk-secret-123' }]): Promise<string> {
  const out = await buffer(Readable.from(chunks.map((c) => Buffer.from(c))).pipe(createMaskStream(targets)));
  return out.toString('utf8');
}

test('replaces a value with its name', async (t) => {
  t.is(await maskChunks(['auth failed for sk-secret-123\n']), 'auth failed for [masked TOKEN]\n');
});

test('replaces a value split across chunks, even one byte at a time', async (t) => {
  t.is(await maskChunks(['key=sk-sec', 'ret-123 end']), 'key=[masked TOKEN] end');
  t.is(await maskChunks([...'xx sk-secret-123 yy']), 'xx [masked TOKEN] yy');
});

test('a held-back prefix that never completes is written out unchanged at the end', async (t) => {
  t.is(await maskChunks(['tail sk-secr']), 'tail sk-secr');
  t.is(await maskChunks(['sk-secr', 'et-124']), 'sk-secret-124');
});

test('the longest value wins when one value starts another', async (t) => {
  const targets = [
    { name: 'SHORT', value: 'abcdefgh' },
    { name: 'LONG', value: 'abcdefghijkl' },
  ];
  t.is(await maskChunks(['abcdefghijkl abcdefgh'], targets), '[masked LONG] [masked SHORT]');
});

test('values shorter than the minimum are left alone', async (t) => {
  const short = 'x'.repeat(MIN_MASK_LENGTH - 1);
  t.is(await maskChunks([`v=${short}`], [{ name: 'S', value: short }]), `v=${short}`);
});

test('binary bytes around values pass through unchanged', async (t) => {
  const bytes = Buffer.from([0, 255, 10, 13, 0x80]);
  const out = await buffer(Readable.from([bytes, Buffer.from('sk-secret-123'), bytes]).pipe(createMaskStream([{ name: 'T', value: 'sk-secret-123' }])));
  t.deepEqual(out, Buffer.concat([bytes, Buffer.from('[masked T]'), bytes]));
});

test('property: however the stream is cut, no value survives and other text is kept', async (t) => {
  const value = 'S3cr3t-V4lue!';
  await fc.assert(
    fc.asyncProperty(fc.array(fc.oneof(fc.constant(value), fc.string({ maxLength: 12 })), { maxLength: 8 }), fc.array(fc.integer({ min: 1, max: 7 }), { minLength: 1, maxLength: 10 }), async (parts, cuts) => {
      const text = parts.join('|');
      const chunks: string[] = [];
      let i = 0;
      let c = 0;
      while (i < text.length) {
        const n = cuts[c++ % cuts.length]!;
        chunks.push(text.slice(i, i + n));
        i += n;
      }
      const out = await maskChunks(chunks, [{ name: 'V', value }]);
      const expected = text.split(value).join('[masked V]');
      return out === expected && !out.includes(value);
    }),
    { numRuns: 200 },
  );
  t.pass();
});
