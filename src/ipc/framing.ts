/**
 * node-ipc's wire format, both ways: UTF-8 JSON `{"type": string, "data": object}` then a form
 * feed. The decoder is ours because node-ipc's buffers without limit and rescans everything on
 * each chunk: here a frame is capped (1 MiB by default) and checked as bytes arrive, and only the
 * new bytes are scanned for the delimiter.
 */

export const DELIMITER = 0x0c; // '\f'
export const MAX_FRAME_BYTES = 1024 * 1024;

export class FrameTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`frame larger than ${limit} bytes`);
  }
}

/**
 * Accumulates bytes and yields complete frames (as UTF-8 text, delimiter removed). An incomplete
 * frame is held in one buffer that grows by doubling up to the cap, so memory follows the bytes
 * held, not the number of chunks they came in (1 MiB sent a byte at a time once cost 114 MiB of
 * heap as a list of one-byte chunks).
 */
export class FrameDecoder {
  private held: Buffer = Buffer.alloc(0);
  private pending = 0;

  constructor(private readonly maxFrameBytes = MAX_FRAME_BYTES) {}

  /** Feeds bytes; returns the frames they complete. Throws FrameTooLarge once a frame passes the cap. */
  push(data: Buffer): string[] {
    const frames: string[] = [];
    let start = 0;
    for (let i = data.indexOf(DELIMITER); i >= 0; i = data.indexOf(DELIMITER, start)) {
      const part = data.subarray(start, i);
      if (this.pending + part.length > this.maxFrameBytes) throw new FrameTooLarge(this.maxFrameBytes);
      if (this.pending === 0) frames.push(part.toString('utf8'));
      else {
        this.hold(part);
        frames.push(this.held.toString('utf8', 0, this.pending));
        this.pending = 0;
      }
      start = i + 1;
    }
    const rest = data.subarray(start);
    if (rest.length > 0) {
      if (this.pending + rest.length > this.maxFrameBytes) throw new FrameTooLarge(this.maxFrameBytes);
      this.hold(rest);
    }
    // a large buffer is not kept for a connection that has gone quiet
    if (this.pending === 0 && this.held.length > 64 * 1024) this.held = Buffer.alloc(0);
    return frames;
  }

  /** Copies bytes after the held ones (the caller's buffer may be reused), growing by doubling up to the cap. */
  private hold(part: Buffer): void {
    const needed = this.pending + part.length;
    if (needed > this.held.length) {
      const grown = Buffer.allocUnsafe(Math.min(this.maxFrameBytes, Math.max(needed, this.held.length * 2, 4096)));
      this.held.copy(grown, 0, 0, this.pending);
      this.held = grown;
    }
    part.copy(this.held, this.pending);
    this.pending = needed;
  }

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.pending;
  }

  /** Bytes allocated to hold them (at most the cap, and at most about twice `buffered` past 4 KiB). */
  get capacity(): number {
    return this.held.length;
  }
}

export interface Message {
  type: string;
  data: Record<string, unknown>;
}

/** One frame: the message as JSON, then the delimiter. */
export function encodeFrame(message: Message): Buffer {
  return Buffer.from(JSON.stringify(message) + '\f', 'utf8');
}
