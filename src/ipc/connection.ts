/**
 * One client connection: its frame decoder, its limits, and the writing of its replies. What to
 * answer is decided in dispatch.ts; this module applies the limits around it.
 *
 * A bad client costs its own connection only: garbage or oversized input closes it; too many
 * requests in flight close it; a client that does not read its replies (a slow subscriber, a
 * flood of requests) is dropped. (The server's idle sweep closes one that completes no request in
 * time; `isIdle` is its test.) A client that shuts its writing side (`printf … | socat`, `nc -N`)
 * is answered first and then ended: the server socket is half-open.
 *
 * Logged: request types, counts, limits and codes, never request data.
 */
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { ReportingLogger } from '../log.js';
import { FrameDecoder, FrameTooLarge, encodeFrame } from './framing.js';
import { dispatch, readFrame, type Answer, type DaemonPort, type Session } from './dispatch.js';
import type { Reply, RequestType } from './protocol.js';
import type { StatusDocument } from './status.js';

/** A connection's limits (the server's options, defaults applied). */
export interface ConnectionLimits {
  /** A frame past this many bytes closes the connection. */
  readonly maxFrameBytes: number;
  /** A client whose unread replies pass this many bytes is dropped. */
  readonly maxQueuedBytes: number;
  /** Requests one connection may have waiting for an answer; past it, it is closed. */
  readonly maxInFlight: number;
}

/**
 * The frames of status documents, shared by every connection of one server. The same document is
 * sent many times between changes: it is serialised and encoded once, with the end of the reply
 * frame, so a reply is a short id prefix and shared bytes (one copy).
 */
export class StatusFrames {
  private readonly encoded = new WeakMap<StatusDocument, { json: string; tail: Buffer }>();

  /** The frame of any reply; a status reply is built from the shared bytes. */
  reply(reply: Reply): Buffer {
    if (reply.type !== 'status') return encodeFrame(reply);
    const prefix = `{"type":"status","data":{"id":${JSON.stringify(reply.data.id)}`;
    const tail = this.entry(reply.data.status).tail;
    const frame = Buffer.allocUnsafe(Buffer.byteLength(prefix) + tail.length);
    tail.copy(frame, frame.write(prefix, 0, 'utf8'));
    return frame;
  }

  /** The frame that tells a subscriber the status changed. */
  changed(status: StatusDocument): string {
    return `{"type":"status-changed","data":{"status":${this.entry(status).json}}}\f`;
  }

  private entry(status: StatusDocument): { json: string; tail: Buffer } {
    let entry = this.encoded.get(status);
    if (entry === undefined) {
      const json = JSON.stringify(status);
      entry = { json, tail: Buffer.from(`,"status":${json}}}\f`, 'utf8') };
      this.encoded.set(status, entry);
    }
    return entry;
  }
}

/** What a connection is given by its server. */
export interface ConnectionDeps {
  readonly port: DaemonPort;
  readonly log: ReportingLogger;
  readonly limits: ConnectionLimits;
  readonly frames: StatusFrames;
}

/** One accepted socket and its state. Construct it on `connect`; feed it each chunk with `receive`. */
export class Connection implements Session {
  private readonly decoder: FrameDecoder;
  /** Requests received and not answered yet. */
  private inFlight = 0;
  private unsubscribe: (() => void) | null = null;
  /** When this connection last completed a frame or got an answer (performance.now()). */
  private lastProgressAt = performance.now();
  /** The client shut its writing side: answer, then end. */
  private clientEnded = false;

  constructor(
    readonly socket: Socket,
    private readonly deps: ConnectionDeps,
  ) {
    this.decoder = new FrameDecoder(deps.limits.maxFrameBytes);
    socket.on('error', () => socket.destroy());
    socket.on('end', () => {
      this.clientEnded = true;
      this.endIfDone();
    });
    socket.once('close', () => this.stopForwarding());
  }

  /** Bytes held for an incomplete frame. */
  get buffered(): number {
    return this.decoder.buffered;
  }

  /** True when it waits on nothing and completed no request for `idleTimeoutMs`; a subscriber never is. */
  isIdle(now: number, idleTimeoutMs: number): boolean {
    return !this.unsubscribe && this.inFlight === 0 && now - this.lastProgressAt > idleTimeoutMs;
  }

  /** Handles one chunk of bytes from the client. */
  receive(data: Buffer): void {
    const socket = this.socket;
    const { log, limits } = this.deps;
    if (socket.destroyed) return;
    let frames: string[];
    try {
      frames = this.decoder.push(data);
    } catch (error) {
      if (error instanceof FrameTooLarge) log.warn('closing a client that sent an oversized frame', { limit: limits.maxFrameBytes });
      socket.destroy();
      return;
    }
    for (const text of frames) {
      if (socket.destroyed) return; // dropped mid-chunk (e.g. not reading its replies): the rest is moot
      this.lastProgressAt = performance.now();
      const received = readFrame(text);
      if (received.kind === 'refused') {
        this.send(received.reply);
        continue;
      }
      if (received.kind === 'garbage') {
        log.debug('closing a client that sent bytes that are not a JSON frame');
        socket.destroy();
        return;
      }
      const request = received.request;
      if (this.inFlight >= limits.maxInFlight) {
        log.warn('closing a client with too many requests in flight', { limit: limits.maxInFlight });
        socket.destroy();
        return;
      }
      if (request.type === 'lock') log.info('lock requested over IPC'); // the reason is client data: not logged
      const step = dispatch(request, this.deps.port, this);
      // status, ping and subscribe are answered at once: no promise per request on the busiest path
      if (!(step instanceof Promise)) {
        this.answer(request.type, step);
        this.endIfDone();
        continue;
      }
      this.inFlight++;
      void step
        .then((answer) => this.answer(request.type, answer))
        .finally(() => {
          this.inFlight--;
          this.lastProgressAt = performance.now();
          this.endIfDone();
        });
    }
  }

  /** Sends this client every status change from now on (once per connection). */
  subscribe(): void {
    this.unsubscribe ??= this.deps.port.onStatusChange((status) => this.write(this.deps.frames.changed(status)));
  }

  /** Stops sending status changes (the connection closed, or the server is closing). */
  stopForwarding(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private answer(type: RequestType, answer: Answer): void {
    if (answer.bug !== undefined) this.deps.log.warn('request failed', { type, error: answer.bug });
    this.send(answer.reply);
  }

  private send(reply: Reply): void {
    this.write(this.deps.frames.reply(reply));
  }

  private write(frame: string | Buffer): void {
    const socket = this.socket;
    if (socket.destroyed || !socket.writable) return;
    if (socket.writableLength > this.deps.limits.maxQueuedBytes) {
      this.deps.log.warn('dropping a client that does not read its replies', { queuedBytes: socket.writableLength });
      socket.destroy();
      return;
    }
    socket.write(frame);
  }

  private endIfDone(): void {
    if (this.clientEnded && this.inFlight === 0 && !this.unsubscribe && !this.socket.destroyed) this.socket.end();
  }
}
