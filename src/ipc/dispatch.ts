/**
 * What the daemon answers, decided without a socket: a frame's text is read into a request (or
 * refused, or found not to be a frame at all), and a request is answered from the daemon's port.
 * Nothing here writes, logs, counts or closes: the connection (connection.ts) does that with what
 * these functions return, so every answer can be tested with a fake port.
 *
 * A reply carries only status documents, pongs and error codes. An AppError's message is ours and
 * is sent (sanitised); anything else is a bug, sent as E_INTERNAL without its text, which might
 * hold anything the failing code had in hand.
 */
import { isAppError, sanitizeForMessage } from '../errors.js';
import { BadRequest, parseRequest, type Reply, type Request, type RequestId } from './protocol.js';
import { PROTOCOL_VERSION, type StatusDocument } from './status.js';

/** What the server needs from the daemon; the daemon core implements it. */
export interface DaemonPort {
  getStatus(): StatusDocument;
  requestSync(): Promise<StatusDocument>;
  /** Resolves with the status once fresh, or with the current status at the timeout. */
  waitFresh(timeoutMs: number): Promise<StatusDocument>;
  acknowledge(): StatusDocument | Promise<StatusDocument>;
  lock(reason: string): Promise<StatusDocument>;
  /** Returns the unsubscribe function. */
  onStatusChange(listener: (status: StatusDocument) => void): () => void;
}

/** The connection a request arrived on, as far as answering needs it. */
export interface Session {
  /** Starts sending this client every status change; a second call changes nothing. */
  subscribe(): void;
}

/** The message an internal error (a bug) is answered with: never the error's own text. */
export const INTERNAL_ERROR_MESSAGE = 'internal error: see the daemon log';

/** One reply, and for a request that failed on a bug, the error's class name for the log (never its text). */
export interface Answer {
  readonly reply: Reply;
  readonly bug?: string;
}

/** An answer now, or one that settles when the daemon has done the work; the promise never rejects. */
export type Step = Answer | Promise<Answer>;

/** What one frame's text turned out to be. */
export type Received =
  | { readonly kind: 'request'; readonly request: Request }
  /** JSON of the wrong shape or an unknown type: answered with E_USAGE; the connection stays open. */
  | { readonly kind: 'refused'; readonly reply: Reply }
  /** Not a JSON frame at all: the connection is closed and nothing is answered. */
  | { readonly kind: 'garbage' };

/** Reads one frame's text (delimiter removed). Never throws. */
export function readFrame(text: string): Received {
  try {
    return { kind: 'request', request: parseRequest(text) };
  } catch (error) {
    if (error instanceof BadRequest) return { kind: 'refused', reply: errorReply(error.id, 'E_USAGE', error.message) };
    return { kind: 'garbage' };
  }
}

/**
 * Answers one request from the port: `status`, `ping` and `subscribe` at once (subscribe first
 * asks the session to forward changes), `sync`, `wait-fresh`, `ack` and `lock` when the port
 * settles. A port that throws or rejects is answered with its AppError code, or E_INTERNAL.
 * Never throws.
 */
export function dispatch(request: Request, port: DaemonPort, session: Session): Step {
  const id = request.id;
  try {
    switch (request.type) {
      case 'status':
        return { reply: statusReply(id, port.getStatus()) };
      case 'ping':
        return { reply: { type: 'pong', data: { id, protocol: PROTOCOL_VERSION } } };
      case 'subscribe':
        session.subscribe();
        return { reply: statusReply(id, port.getStatus()) };
      case 'sync':
        return whenSettled(id, port.requestSync());
      case 'wait-fresh':
        return whenSettled(id, port.waitFresh(request.timeoutMs));
      case 'ack':
        return whenSettled(id, port.acknowledge());
      case 'lock':
        return whenSettled(id, port.lock(request.reason));
    }
  } catch (error) {
    return failure(id, error);
  }
}

/** The answer to a request the port failed: its AppError code and message, or E_INTERNAL for a bug. */
function failure(id: RequestId, error: unknown): Answer {
  if (isAppError(error)) return { reply: errorReply(id, error.code, sanitizeForMessage(error.message)) };
  return { reply: errorReply(id, 'E_INTERNAL', INTERNAL_ERROR_MESSAGE), bug: error instanceof Error ? error.name : typeof error };
}

function whenSettled(id: RequestId, status: StatusDocument | Promise<StatusDocument>): Promise<Answer> {
  return Promise.resolve(status).then(
    (settled) => ({ reply: statusReply(id, settled) }),
    (error: unknown) => failure(id, error),
  );
}

function statusReply(id: RequestId, status: StatusDocument): Reply {
  return { type: 'status', data: { id, status } };
}

function errorReply(id: RequestId | null, code: string, message: string): Reply {
  return { type: 'error', data: { id, code, message } };
}
