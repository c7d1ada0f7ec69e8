/**
 * `run --mask`: replaces selected secret values in a byte stream (the child's stderr) with
 * `[masked NAME]`, also when a value is split across chunks.
 *
 * How: bytes are scanned left to right; at each position the longest value that matches wins.
 * When the end of what arrived so far could still be the start of a value, those bytes are held
 * back until the next chunk (or the end of the stream) decides. Values shorter than
 * {@link MIN_MASK_LENGTH} are not masked: masking `1` or `true` would garble every line and tell
 * a reader nothing a short value does not already give away.
 */
import { Transform, type TransformCallback } from 'node:stream';

/** Values with fewer bytes than this are left alone (see the module comment). */
export const MIN_MASK_LENGTH = 6;

export interface MaskTarget {
  name: string;
  value: string;
}

interface Needle {
  bytes: Buffer;
  replacement: Buffer;
}

/** Builds the masking transform; values below the minimum length and duplicates are ignored. */
export function createMaskStream(targets: readonly MaskTarget[], minLength = MIN_MASK_LENGTH): Transform {
  const needles = buildNeedles(targets, minLength);
  const byFirstByte = new Map<number, Needle[]>();
  for (const n of needles) {
    const list = byFirstByte.get(n.bytes[0]!) ?? [];
    list.push(n);
    byFirstByte.set(n.bytes[0]!, list);
  }
  let pending: Buffer = Buffer.alloc(0);

  /** Masks what can be decided now; returns the output and the bytes still undecided. */
  function scan(input: Buffer, final: boolean): { out: Buffer; rest: Buffer } {
    const out: Buffer[] = [];
    let copyFrom = 0;
    let i = 0;
    while (i < input.length) {
      const candidates = byFirstByte.get(input[i]!);
      if (!candidates) {
        i++;
        continue;
      }
      let match: Needle | undefined;
      let couldGrow = false;
      for (const n of candidates) {
        const available = input.length - i;
        if (available >= n.bytes.length) {
          if (input.compare(n.bytes, 0, n.bytes.length, i, i + n.bytes.length) === 0 && (!match || n.bytes.length > match.bytes.length)) match = n;
        } else if (!final && input.compare(n.bytes, 0, available, i, input.length) === 0) {
          couldGrow = true;
        }
      }
      if (couldGrow) {
        // A longer value may still complete here: decide when more bytes arrive.
        out.push(input.subarray(copyFrom, i));
        return { out: Buffer.concat(out), rest: Buffer.from(input.subarray(i)) };
      }
      if (match) {
        out.push(input.subarray(copyFrom, i), match.replacement);
        i += match.bytes.length;
        copyFrom = i;
      } else {
        i++;
      }
    }
    out.push(input.subarray(copyFrom));
    return { out: Buffer.concat(out), rest: Buffer.alloc(0) };
  }

  return new Transform({
    transform(chunk: Buffer | string, _encoding: BufferEncoding, callback: TransformCallback) {
      const input = pending.length > 0 ? Buffer.concat([pending, Buffer.from(chunk)]) : Buffer.from(chunk);
      const { out, rest } = scan(input, false);
      pending = rest;
      callback(null, out.length > 0 ? out : undefined);
    },
    flush(callback: TransformCallback) {
      const { out } = scan(pending, true);
      pending = Buffer.alloc(0);
      callback(null, out.length > 0 ? out : undefined);
    },
  });
}

function buildNeedles(targets: readonly MaskTarget[], minLength: number): Needle[] {
  const seen = new Set<string>();
  const needles: Needle[] = [];
  for (const t of targets) {
    const bytes = Buffer.from(t.value, 'utf8');
    if (bytes.length < minLength || seen.has(t.value)) continue;
    seen.add(t.value);
    needles.push({ bytes, replacement: Buffer.from(`[masked ${t.name}]`, 'utf8') });
  }
  return needles;
}
