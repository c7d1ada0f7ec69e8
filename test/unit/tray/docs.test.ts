/** The status-bar examples in the README are what `formatTray` prints for the same status (docs/status-bar.md has its own test). */
import test from 'ava';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { formatTray } from '../../../src/tray/format.js';
import { fakeStatus } from '../../helpers/ipc.js';
import { repoRoot } from '../../helpers/e2e.js';

const status = {
  ...fakeStatus('fresh', '2026.11.3'),
  entries: 6,
  lastSync: { at: '2026-11-28T16:16:39.715Z', ok: true, durationMs: 1, sourceSha256: null, error: null },
};

test('the tray examples in README.md match the real output', async (t) => {
  const text = await readFile(path.join(repoRoot(), 'README.md'), 'utf8');
  for (const format of ['text', 'waybar', 'xbar'] as const) t.true(text.includes(formatTray(status, format)), format);
});
