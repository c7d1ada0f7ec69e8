/**
 * Requests and replies (DESIGN.md "IPC"), shared by the server and the client. Validation is
 * strict and total: anything that is not one of these exact shapes becomes an error reply (or,
 * for bytes that are not a JSON frame at all, a closed connection). No reply ever carries a value.
 */
import type { StatusDocument } from './status.js';

export const REQUEST_TYPES = ['status', 'sync', 'wait-fresh', 'subscribe', 'ping', 'ack', 'lock'] as const;
export type RequestType = (typeof REQUEST_TYPES)[number];

export type RequestId = string | number;

export type Request =
  | { type: 'status' | 'sync' | 'subscribe' | 'ping' | 'ack'; id: RequestId }
  | { type: 'wait-fresh'; id: RequestId; timeoutMs: number }
  | { type: 'lock'; id: RequestId; reason: string };

export type Reply =
  | { type: 'status'; data: { id: RequestId; status: StatusDocument } }
  | { type: 'status-changed'; data: { status: StatusDocument } }
  | { type: 'pong'; data: { id: RequestId; protocol: number } }
  | { type: 'subscribed'; data: { id: RequestId } }
  | { type: 'error'; data: { id: RequestId | null; code: string; message: string } };

export const MAX_WAIT_FRESH_MS = 10 * 60 * 1000;
const MAX_ID_LENGTH = 128;
const MAX_REASON_LENGTH = 200;

export class BadRequest extends Error {
  constructor(
    readonly id: RequestId | null,
    message: string,
  ) {
    super(message);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.getPrototypeOf(value) === Object.prototype;
}

/** A printable, short version of an untrusted string, for error messages. */
function shown(value: string): string {
  const clean = value.replace(/[^\x20-\x7e]/g, '?');
  return clean.length > 40 ? `${clean.slice(0, 40)}…` : clean;
}

function idOf(data: Record<string, unknown>): RequestId | null {
  const id = data.id;
  if (typeof id === 'number' && Number.isSafeInteger(id)) return id;
  if (typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH) return id;
  return null;
}

/**
 * Parses one frame's text into a request. Throws SyntaxError for text that is not JSON (the
 * server closes the connection) and BadRequest for JSON of the wrong shape (an error reply).
 */
export function parseRequest(text: string): Request {
  const message: unknown = JSON.parse(text);
  if (!isPlainObject(message) || typeof message.type !== 'string') throw new BadRequest(null, 'a request is {"type": string, "data": {"id": …}}');
  const data = isPlainObject(message.data) ? message.data : null;
  if (!data) throw new BadRequest(null, `request "${shown(message.type)}" has no data object`);
  const id = idOf(data);
  if (id === null) throw new BadRequest(null, `request "${shown(message.type)}" needs data.id (a string up to ${MAX_ID_LENGTH} characters or an integer)`);
  const type = message.type;
  if (!(REQUEST_TYPES as readonly string[]).includes(type)) {
    throw new BadRequest(id, `unknown request type "${shown(type)}"; known: ${REQUEST_TYPES.join(', ')}`);
  }
  if (type === 'wait-fresh') {
    const timeoutMs = data.timeoutMs ?? 30_000;
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0 || timeoutMs > MAX_WAIT_FRESH_MS) {
      throw new BadRequest(id, `wait-fresh needs data.timeoutMs from 0 to ${MAX_WAIT_FRESH_MS}`);
    }
    return { type, id, timeoutMs };
  }
  if (type === 'lock') {
    const reason = data.reason ?? 'requested';
    if (typeof reason !== 'string' || reason.length > MAX_REASON_LENGTH) throw new BadRequest(id, `lock needs data.reason, a string up to ${MAX_REASON_LENGTH} characters`);
    return { type, id, reason: shown(reason) };
  }
  return { type: type as 'status' | 'sync' | 'subscribe' | 'ping' | 'ack', id };
}
