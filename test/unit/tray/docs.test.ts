/** The status-bar examples in the docs are what `formatTray` prints for the same status. */
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

for (const doc of ['README.md', 'docs/status-bar.md']) {
  test(`the tray examples in ${doc} match the real output`, async (t) => {
    const text = await readFile(path.join(repoRoot(), doc), 'utf8');
    t.true(text.includes(formatTray(status, 'waybar')), 'waybar');
    t.true(text.includes(formatTray(status, 'xbar')), 'xbar');
    if (doc === 'README.md') t.true(text.includes(formatTray(status, 'text')), 'text');
  });
}
