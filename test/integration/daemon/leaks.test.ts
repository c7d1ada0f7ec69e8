import test from 'ava';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { daemonFixture, sampleBundle } from '../../helpers/daemon.js';
import { subscribe, sync, waitFresh } from '../../../src/ipc/client.js';
import type { StatusDocument } from '../../../src/ipc/status.js';

/** Every value in the bundle, and pieces of it that would show a partial leak. */
function secretsOf(doc: Record<string, unknown>): string[] {
  const out: string[] = [];
  const walk = (v: unknown): void => {
    if (typeof v === 'string' && v.length >= 8 && !/^v\d/.test(v)) out.push(v);
    else if (v && typeof v === 'object') Object.values(v).forEach(walk);
  };
  walk(doc);
  return out;
}

async function filesUnder(dir: string, skip: (p: string) => boolean): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const p = path.join(entry.parentPath, entry.name);
    if (entry.isFile() && !skip(p)) out.push(p);
  }
  return out;
}

test('secret values never reach the log file, stderr, IPC replies, argv, or any file but the two outputs', async (t) => {
  const d = await daemonFixture(t);
  const doc = sampleBundle('v1', { OPS_TOKEN: 'ops-token-value-9f8e7d6c5b4a', gemini: { api_key: 'AIzaSyLEAKCHECK0123456789abcdefghijkl' } });
  await d.commitBundle(doc, 'v1');
  await d.start();

  const replies: StatusDocument[] = [];
  const sub = subscribe((s) => replies.push(s), { socketPath: d.socket });
  replies.push(await waitFresh({ socketPath: d.socket, timeoutMs: 20_000 }));
  replies.push(await sync({ socketPath: d.socket, timeoutMs: 20_000 }));

  // a failing sync must not leak either: a bundle with a list value fails with E_UNSUPPORTED_VALUE
  const bad = { ...doc, MCP_SECRETS_VERSION: 'v2', listy: ['list-secret-value-123456'] };
  await d.commitBundle(bad, 'bad');
  replies.push(await d.waitFor((s) => s.state === 'error', 'error state'));
  sub.close();

  const ps = await execa('ps', ['-eo', 'args']);
  const environ = await readFile(`/proc/${d.child!.pid}/environ`, 'utf8');
  const log = await readFile(path.join(d.home, 'logs', 'daemon.log'), 'utf8');
  const repoFiles = await filesUnder(d.repo, (p) => p.includes(`${path.sep}.git${path.sep}`));
  const homeFiles = await filesUnder(d.home, (p) => p.endsWith('/.env') || p.endsWith('/console-secrets.json'));
  const haystacks: [string, string][] = [
    ['daemon log', log],
    ['stderr', d.stderr.join('')],
    ['IPC replies', JSON.stringify(replies)],
    ['ps argv', ps.stdout],
    ['daemon environment', environ.replace(d.identity, '')],
    ...(await Promise.all([...repoFiles, ...homeFiles].map(async (f): Promise<[string, string]> => [f, await readFile(f, 'latin1')]))),
  ];
  for (const secret of [...secretsOf(bad), d.identity]) {
    for (const [where, text] of haystacks) t.false(text.includes(secret), `a secret leaked into ${where}`);
  }
  t.true(log.includes('"message":"synced"'), 'the log does have lines');
});
