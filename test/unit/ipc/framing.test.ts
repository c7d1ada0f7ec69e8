import test from 'ava';
import fc from 'fast-check';
import { FrameDecoder, FrameTooLarge, encodeFrame } from '../../../src/ipc/framing.js';
import { BadRequest, parseRequest } from '../../../src/ipc/protocol.js';

test('decodes frames however the bytes are split, including inside a multi-byte character', (t) => {
  fc.assert(
    fc.property(fc.array(fc.string({ unit: 'grapheme', maxLength: 50 }), { minLength: 1, maxLength: 5 }), fc.array(fc.nat(), { maxLength: 10 }), (texts, cuts) => {
      const bytes = Buffer.concat(texts.map((s) => encodeFrame({ type: 'x', data: { s } })));
      const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
      const decoder = new FrameDecoder();
      const frames: string[] = [];
      let last = 0;
      for (const p of [...points, bytes.length]) {
        frames.push(...decoder.push(bytes.subarray(last, p)));
        last = p;
      }
      t.deepEqual(frames.map((f) => (JSON.parse(f) as { data: { s: string } }).data.s), texts);
      t.is(decoder.buffered, 0);
    }),
    { numRuns: 200 },
  );
});

test('rejects a frame as soon as it passes the cap, without waiting for its end', (t) => {
  const decoder = new FrameDecoder(1024);
  t.notThrows(() => decoder.push(Buffer.alloc(1000, 0x61)));
  t.throws(() => decoder.push(Buffer.alloc(100, 0x61)), { instanceOf: FrameTooLarge });
});

test('accepts a frame of exactly the cap', (t) => {
  const decoder = new FrameDecoder(10);
  t.deepEqual(decoder.push(Buffer.from('0123456789\f')), ['0123456789']);
});

test('parses every request shape and echoes ids', (t) => {
  t.deepEqual(parseRequest('{"type":"status","data":{"id":1}}'), { type: 'status', id: 1 });
  t.deepEqual(parseRequest('{"type":"wait-fresh","data":{"id":"a","timeoutMs":500}}'), { type: 'wait-fresh', id: 'a', timeoutMs: 500 });
  t.deepEqual(parseRequest('{"type":"lock","data":{"id":"a","reason":"purge"}}'), { type: 'lock', id: 'a', reason: 'purge' });
});

test('turns hostile or malformed requests into BadRequest or SyntaxError, never a crash', (t) => {
  for (const text of ['{}', '[]', '123', '"s"', 'null', '{"type":"constructor","data":{"id":1}}', '{"type":"__proto__","data":{"id":1}}', '{"type":"start","data":{"id":1}}', '{"type":"status"}', '{"type":"status","data":[]}', '{"type":"status","data":{"id":{}}}', '{"type":"wait-fresh","data":{"id":1,"timeoutMs":-1}}', '{"type":"wait-fresh","data":{"id":1,"timeoutMs":1e12}}', `{"type":"status","data":{"id":"${'x'.repeat(500)}"}}`]) {
    t.throws(() => parseRequest(text), { instanceOf: BadRequest }, text.slice(0, 40));
  }
  t.throws(() => parseRequest('not json'), { instanceOf: SyntaxError });
});

test('an unknown type echoes the id and shows the type only sanitised and short', (t) => {
  const error = t.throws(() => parseRequest(`{"type":"evil\\u001b[31m${'A'.repeat(100)}","data":{"id":7}}`), { instanceOf: BadRequest });
  t.is(error!.id, 7);
  t.false(error!.message.includes('\u001b'));
  t.true(error!.message.length < 200);
});

test('an incomplete frame sent a byte at a time is held in one buffer that grows with the bytes, not the chunks', (t) => {
  const decoder = new FrameDecoder(64 * 1024);
  const one = Buffer.from('a');
  for (let i = 1; i <= 64 * 1024; i++) {
    decoder.push(one);
    if (i % 997 === 0) t.true(decoder.capacity <= Math.max(4096, 2 * decoder.buffered), `${decoder.capacity} bytes held for ${decoder.buffered}`);
  }
  t.is(decoder.capacity, 64 * 1024, 'never more than the cap');
  t.throws(() => decoder.push(one), { instanceOf: FrameTooLarge });
});

test('a frame split over many chunks decodes to the same text, and the buffer is released after a large frame', (t) => {
  const decoder = new FrameDecoder();
  const text = JSON.stringify({ type: 'status', data: { id: 'é'.repeat(60_000) } });
  const bytes = Buffer.from(text + '\f');
  const frames: string[] = [];
  for (let i = 0; i < bytes.length; i += 333) frames.push(...decoder.push(bytes.subarray(i, i + 333)));
  t.deepEqual(frames, [text]);
  t.is(decoder.capacity, 0);
});
