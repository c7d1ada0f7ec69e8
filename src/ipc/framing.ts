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

/** Accumulates bytes and yields complete frames (as UTF-8 text, delimiter removed). */
export class FrameDecoder {
  private chunks: Buffer[] = [];
  private pending = 0;

  constructor(private readonly maxFrameBytes = MAX_FRAME_BYTES) {}

  /** Feeds bytes; returns the frames they complete. Throws FrameTooLarge once a frame passes the cap. */
  push(data: Buffer): string[] {
    const frames: string[] = [];
    let start = 0;
    for (let i = data.indexOf(DELIMITER); i >= 0; i = data.indexOf(DELIMITER, start)) {
      const part = data.subarray(start, i);
      if (this.pending + part.length > this.maxFrameBytes) throw new FrameTooLarge(this.maxFrameBytes);
      this.chunks.push(part);
      frames.push(Buffer.concat(this.chunks).toString('utf8'));
      this.chunks = [];
      this.pending = 0;
      start = i + 1;
    }
    const rest = data.subarray(start);
    if (rest.length > 0) {
      if (this.pending + rest.length > this.maxFrameBytes) throw new FrameTooLarge(this.maxFrameBytes);
      // copy: the caller's buffer may be reused
      this.chunks.push(Buffer.from(rest));
      this.pending += rest.length;
    }
    return frames;
  }

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.pending;
  }
}

export interface Message {
  type: string;
  data: Record<string, unknown>;
}

export function encodeFrame(message: Message): Buffer {
  return Buffer.from(JSON.stringify(message) + '\f', 'utf8');
}
