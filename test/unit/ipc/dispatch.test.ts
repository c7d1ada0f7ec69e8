/**
 * What the server answers, without a socket: dispatch.ts against an in-memory port. The socket
 * tests (test/integration/ipc) prove the same answers reach a client; these prove each answer.
 */
import test from 'ava';
import { AppError } from '../../../src/errors.js';
import { INTERNAL_ERROR_MESSAGE, dispatch, readFrame, type Answer, type DaemonPort, type Session, type Step } from '../../../src/ipc/dispatch.js';
import { MAX_WAIT_FRESH_MS, type Reply, type Request } from '../../../src/ipc/protocol.js';
import { PROTOCOL_VERSION } from '../../../src/ipc/status.js';
import { FakePort, fakeStatus } from '../../helpers/ipc.js';

/** A session that counts subscriptions (the connection would start forwarding changes). */
function recordingSession(): Session & { subscriptions: number } {
  return {
    subscriptions: 0,
    subscribe() {
      this.subscriptions++;
    },
  };
}

/** Reads a frame that must be a request. */
function requestOf(text: string): Request {
  const received = readFrame(text);
  if (received.kind !== 'request') throw new Error(`expected a request, got ${received.kind}`);
  return received.request;
}

/** Reads a frame that must be refused, and returns the error reply. */
function refusalOf(text: string): Extract<Reply, { type: 'error' }>['data'] {
  const received = readFrame(text);
  if (received.kind !== 'refused' || received.reply.type !== 'error') throw new Error(`expected a refusal, got ${received.kind}`);
  return received.reply.data;
}

function now(step: Step): Answer {
  if (step instanceof Promise) throw new Error('expected an answer at once, got a promise');
  return step;
}

async function later(step: Step): Promise<Answer> {
  if (!(step instanceof Promise)) throw new Error('expected a promise, got an answer at once');
  return step;
}

test('status is answered at once with the port’s document and the request’s id', (t) => {
  const port = new FakePort();
  const answer = now(dispatch(requestOf('{"type":"status","data":{"id":"s1"}}'), port, recordingSession()));
  t.deepEqual(answer.reply, { type: 'status', data: { id: 's1', status: port.status } });
  t.is(answer.bug, undefined);
});

test('ping is answered at once with a pong carrying the protocol version and the id', (t) => {
  const answer = now(dispatch(requestOf('{"type":"ping","data":{"id":42}}'), new FakePort(), recordingSession()));
  t.deepEqual(answer.reply, { type: 'pong', data: { id: 42, protocol: PROTOCOL_VERSION } });
});

test('subscribe asks the session to forward changes, then answers at once with the current status', (t) => {
  const port = new FakePort();
  const session = recordingSession();
  const answer = now(dispatch(requestOf('{"type":"subscribe","data":{"id":"sub"}}'), port, session));
  t.is(session.subscriptions, 1);
  t.deepEqual(answer.reply, { type: 'status', data: { id: 'sub', status: port.status } });
});

test('sync is answered when the port’s sync settles, with the status it returns', async (t) => {
  const port = new FakePort();
  const after = fakeStatus('fresh', 'v2');
  port.requestSync = async () => after;
  const answer = await later(dispatch(requestOf('{"type":"sync","data":{"id":"y"}}'), port, recordingSession()));
  t.deepEqual(answer.reply, { type: 'status', data: { id: 'y', status: after } });
});

test('wait-fresh passes its timeout to the port, and the default is 30 s', async (t) => {
  const port = new FakePort();
  const timeouts: number[] = [];
  port.waitFresh = async (timeoutMs) => {
    timeouts.push(timeoutMs);
    return port.status;
  };
  const given = await later(dispatch(requestOf('{"type":"wait-fresh","data":{"id":1,"timeoutMs":1234}}'), port, recordingSession()));
  await later(dispatch(requestOf('{"type":"wait-fresh","data":{"id":2}}'), port, recordingSession()));
  t.deepEqual(timeouts, [1234, 30_000]);
  t.deepEqual(given.reply, { type: 'status', data: { id: 1, status: port.status } });
});

test('ack is answered after the port acknowledges, whether it returns a document or a promise', async (t) => {
  const port = new FakePort();
  const plain = await later(dispatch(requestOf('{"type":"ack","data":{"id":"a"}}'), port, recordingSession()));
  t.deepEqual(plain.reply, { type: 'status', data: { id: 'a', status: port.status } });
  (port as DaemonPort).acknowledge = () => Promise.resolve(fakeStatus('stale'));
  const promised = await later(dispatch(requestOf('{"type":"ack","data":{"id":"b"}}'), port, recordingSession()));
  t.deepEqual(promised.reply, { type: 'status', data: { id: 'b', status: fakeStatus('stale') } });
});

test('lock passes the reason, sanitised and short, and answers with the locked status', async (t) => {
  const port = new FakePort();
  const reasons: string[] = [];
  (port as DaemonPort).lock = async (reason) => {
    reasons.push(reason);
    port.set('locked');
    return port.status;
  };
  const answer = await later(dispatch(requestOf('{"type":"lock","data":{"id":"l","reason":"purge\\u001b[2J now"}}'), port, recordingSession()));
  await later(dispatch(requestOf('{"type":"lock","data":{"id":"m"}}'), port, recordingSession()));
  t.deepEqual(reasons, ['purge?[2J now', 'requested']);
  t.is(answer.reply.type, 'status');
  t.is((answer.reply as Extract<Reply, { type: 'status' }>).data.status.state, 'locked');
});

test('bytes that are not a JSON frame are garbage: the connection is closed, nothing is answered', (t) => {
  for (const text of ['', 'not json', '{"type":"status"', '\u0000\u00ff']) t.deepEqual(readFrame(text), { kind: 'garbage' }, JSON.stringify(text));
});

test('JSON of the wrong shape is refused with E_USAGE, echoing the id when there is a valid one', (t) => {
  t.deepEqual(refusalOf('{}'), { id: null, code: 'E_USAGE', message: 'a request is {"type": string, "data": {"id": …}}' });
  t.is(refusalOf('[]').id, null);
  t.is(refusalOf('{"type":"status"}').id, null);
  t.is(refusalOf('{"type":"status","data":{}}').id, null);
  t.is(refusalOf('{"type":"status","data":{"id":{"x":1}}}').id, null);
  const badWait = refusalOf('{"type":"wait-fresh","data":{"id":"w","timeoutMs":-1}}');
  t.is(badWait.id, 'w');
  t.is(badWait.code, 'E_USAGE');
  t.regex(badWait.message, new RegExp(`0 to ${MAX_WAIT_FRESH_MS}`));
  t.is(refusalOf(`{"type":"wait-fresh","data":{"id":"w2","timeoutMs":${MAX_WAIT_FRESH_MS + 1}}}`).id, 'w2');
  t.is(refusalOf(`{"type":"lock","data":{"id":7,"reason":"${'r'.repeat(201)}"}}`).id, 7);
});

test('an unknown type is refused with E_USAGE, its id echoed and the type shown only sanitised', (t) => {
  const refused = refusalOf('{"type":"steal\\u001b[31m","data":{"id":"u"}}');
  t.is(refused.id, 'u');
  t.is(refused.code, 'E_USAGE');
  t.regex(refused.message, /unknown request type "steal\?\[31m"/);
  t.false(refused.message.includes('\u001b'));
});

test('a daemon error reaches the client with its code and its (sanitised) message, and is not a bug', async (t) => {
  const port = new FakePort();
  port.requestSync = () => Promise.reject(new AppError('E_DECRYPT', 'decrypt failed: config/secrets.enc.yaml\u0007', { hint: 'h' }));
  const answer = await later(dispatch(requestOf('{"type":"sync","data":{"id":"e"}}'), port, recordingSession()));
  t.deepEqual(answer.reply, { type: 'error', data: { id: 'e', code: 'E_DECRYPT', message: 'decrypt failed: config/secrets.enc.yaml\\x07' } });
  t.is(answer.bug, undefined);
});

test('an internal failure is E_INTERNAL without its text, whether the port rejects or throws, and names only the error class for the log', async (t) => {
  const planted = 'PLANTED-INTERNAL-TEXT sk-live-123';
  const rejecting = new FakePort();
  rejecting.waitFresh = () => Promise.reject(new TypeError(planted));
  const rejected = await later(dispatch(requestOf('{"type":"wait-fresh","data":{"id":"r"}}'), rejecting, recordingSession()));
  t.deepEqual(rejected, { reply: { type: 'error', data: { id: 'r', code: 'E_INTERNAL', message: INTERNAL_ERROR_MESSAGE } }, bug: 'TypeError' });

  const throwing = new FakePort();
  throwing.getStatus = () => {
    throw new RangeError(planted);
  };
  throwing.lock = () => {
    throw planted; // not even an Error
  };
  const status = now(dispatch(requestOf('{"type":"status","data":{"id":1}}'), throwing, recordingSession()));
  const subscribed = now(dispatch(requestOf('{"type":"subscribe","data":{"id":2}}'), throwing, recordingSession()));
  const locked = now(dispatch(requestOf('{"type":"lock","data":{"id":3}}'), throwing, recordingSession()));
  t.deepEqual(status, { reply: { type: 'error', data: { id: 1, code: 'E_INTERNAL', message: INTERNAL_ERROR_MESSAGE } }, bug: 'RangeError' });
  t.deepEqual(subscribed.reply, { type: 'error', data: { id: 2, code: 'E_INTERNAL', message: INTERNAL_ERROR_MESSAGE } });
  t.deepEqual(locked, { reply: { type: 'error', data: { id: 3, code: 'E_INTERNAL', message: INTERNAL_ERROR_MESSAGE } }, bug: 'string' });
  for (const answer of [rejected, status, subscribed, locked]) t.false(JSON.stringify(answer).includes('PLANTED'));
});

test('every request type echoes its id, string or integer, in its reply', async (t) => {
  const port = new FakePort();
  for (const type of ['status', 'ping', 'subscribe', 'sync', 'wait-fresh', 'ack', 'lock']) {
    for (const id of ['x'.repeat(128), -5, 0]) {
      const step = dispatch(requestOf(JSON.stringify({ type, data: { id } })), port, recordingSession());
      const answer = step instanceof Promise ? await step : step;
      t.is((answer.reply.data as { id: unknown }).id, id, `${type} ${String(id).slice(0, 10)}`);
    }
  }
});
