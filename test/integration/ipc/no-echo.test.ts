/**
 * The server writes only frames built from DaemonPort status documents, pongs and error codes:
 * request payloads are never echoed back (beyond the request's own id and a sanitised, truncated
 * type name) and never logged.
 */
import test from 'ava';
import { PROTOCOL_VERSION, type StatusDocument } from '../../../src/ipc/status.js';
import { FakePort, fakeServer, rawClient } from '../../helpers/ipc.js';

const MARK = 'PLANTED-PAYLOAD-7f3a';

const HOSTILE: { frame: string; answered: boolean }[] = [
  { frame: `{"type":"status","data":{"id":1,"extra":"${MARK}"}}`, answered: true },
  { frame: `{"type":"ping","data":{"id":2,"${MARK}":"${MARK}"}}`, answered: true },
  { frame: `{"type":"lock","data":{"id":3,"reason":"${MARK}"}}`, answered: true },
  { frame: `{"type":"${'x'.repeat(45)}${MARK}","data":{"id":4}}`, answered: true },
  { frame: `{"type":"wait-fresh","data":{"id":5,"timeoutMs":"${MARK}"}}`, answered: true },
  { frame: `{"type":"lock","data":{"id":6,"reason":"${MARK.repeat(20)}"}}`, answered: true },
  { frame: `{"type":"status","data":{"id":"${'y'.repeat(200)}${MARK}"}}`, answered: true },
  { frame: `{"type":"status","data":{"id":{"${MARK}":1}}}`, answered: true },
  { frame: `{"${MARK}":1}`, answered: true },
  { frame: `{"type":"status","data":"${MARK}"}`, answered: true },
  { frame: `{"type":"__proto__","data":{"id":7,"${MARK}":1}}`, answered: true },
  { frame: `${MARK} is not JSON`, answered: false },
];

test('replies and log lines never carry request payload text', async (t) => {
  const logged: string[] = [];
  const record = (level: string) => (message: string, meta?: Record<string, unknown>) => logged.push(`${level} ${message} ${JSON.stringify(meta ?? {})}`);
  const port = new FakePort();
  const { socketPath } = await fakeServer(t, { logger: { debug: record('debug'), info: record('info'), warn: record('warn') } }, port);
  const documents: StatusDocument[] = [port.status];
  port.onStatusChange((s) => documents.push(s));

  const frames: string[] = [];
  for (const { frame, answered } of HOSTILE) {
    const c = await rawClient(socketPath);
    c.socket.write(frame + '\f');
    if (answered) await c.next();
    else await c.closed;
    c.socket.destroy();
    await c.closed;
    frames.push(...c.frames);
  }
  const oversized = await rawClient(socketPath);
  oversized.socket.write(Buffer.from(MARK.repeat(60_000)));
  await oversized.closed;

  t.is(frames.length, HOSTILE.filter((h) => h.answered).length);
  for (const text of frames) {
    t.false(text.includes(MARK), text.slice(0, 120));
    const { type, data } = JSON.parse(text) as { type: string; data: Record<string, unknown> };
    if (type === 'status') t.true(documents.some((d) => JSON.stringify(d) === JSON.stringify(data.status)), 'a status reply is a DaemonPort document');
    else if (type === 'pong') t.is(data.protocol, PROTOCOL_VERSION);
    else {
      t.is(type, 'error');
      t.is(data.code, 'E_USAGE');
      t.true(String(data.message).length <= 200);
    }
    t.deepEqual(Object.keys(data).sort(), type === 'status' ? ['id', 'status'] : type === 'pong' ? ['id', 'protocol'] : ['code', 'id', 'message']);
  }
  t.true(logged.length > 0, 'the logger was used');
  t.deepEqual(
    logged.filter((l) => l.includes(MARK)),
    [],
  );
});
