/**
 * Configurable outputs and change hooks with a real daemon, real git commits and real hook
 * processes (DESIGN.md "Consumers"): a pull changing one value runs exactly the hooks of the
 * outputs that render it; a re-encryption with equal values runs none; a hung hook is killed at
 * its timeout; a failing hook does not make outputs stale; a widened repo config is not used
 * until `status --ack`.
 */
import test from 'ava';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ack } from '../../../src/ipc/client.js';
import type { StatusDocument } from '../../../src/ipc/status.js';
import { daemonFixture, type DaemonFixture } from '../../helpers/daemon.js';
import { eventually } from '../../helpers/e2e.js';
import { git } from '../../helpers/git.js';

const CONFIG = [
  'version: 1',
  'profiles:',
  '  gemini: {include: ["GEMINI_*"]}',
  '  openai: {providers: [openai]}',
  'outputs:',
  '  - {file: .env, format: env}',
  '  - {file: gemini.env, format: env, profile: gemini}',
  '  - {file: openai.json, format: json, profile: openai}',
  '',
].join('\n');

function bundle(gemini: string, openai: string): Record<string, unknown> {
  return { MCP_SECRETS_VERSION: '2026.12.1', gemini: { api_key: gemini }, openai: { api_key: openai } };
}

/** A hook script that appends what it saw (its name, output, and the names in its environment). */
const HOOK_SCRIPT = `
import { appendFileSync } from 'node:fs';
const [name, log, mode] = process.argv.slice(2);
appendFileSync(log, JSON.stringify({ name, output: process.env.MCP_SECRETS_OUTPUT, version: process.env.MCP_SECRETS_VERSION, env: process.env }) + '\\n');
if (mode === 'fail') process.exit(3);
if (mode === 'hang') setInterval(() => {}, 1000);
`;

interface HookLine {
  name: string;
  output: string;
  version: string;
  env: Record<string, string>;
}

async function writeUserConfig(f: DaemonFixture, hooks: Record<string, string>): Promise<void> {
  const dir = path.join(f.env.XDG_CONFIG_HOME!, 'mcp-secrets');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const script = path.join(f.dir, 'hook.mjs');
  await writeFile(script, HOOK_SCRIPT);
  const log = path.join(f.dir, 'hooks.log');
  const lines = ['version: 1', 'hooks:'];
  for (const [output, mode] of Object.entries(hooks)) {
    lines.push(`  ${JSON.stringify(output)}:`, `    run: ${JSON.stringify([process.execPath, script, output, log, mode])}`, '    timeoutSeconds: 2');
  }
  const file = path.join(dir, 'config.yaml');
  await writeFile(file, lines.join('\n') + '\n', { mode: 0o600 });
  await chmod(file, 0o600);
}

async function hookLines(f: DaemonFixture): Promise<HookLine[]> {
  const text = await readFile(path.join(f.dir, 'hooks.log'), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as HookLine);
}

const hookOf = (s: StatusDocument, file: string) => s.outputs.find((o) => path.basename(o.path) === file)?.hook;

async function commit(f: DaemonFixture, doc: Record<string, unknown>, message: string): Promise<string> {
  await f.commitBundle(doc, message);
  return (await import('node:crypto')).createHash('sha256').update(await readFile(f.bundle)).digest('hex');
}

test('a pull changing one value runs exactly the hooks of the outputs that render it; a re-encryption runs none; hung and failing hooks are reported and change nothing about freshness', async (t) => {
  const f = await daemonFixture(t);
  await writeFile(path.join(f.repo, '.mcp-secrets.yaml'), CONFIG);
  await writeUserConfig(f, { '.env': 'ok', 'gemini.env': 'ok', 'openai.json': 'ok' });
  await commit(f, bundle('gm-hook-1', 'sk-hook-1'), 'v1');
  await f.start();
  const first = await f.waitFor((s) => s.fresh && s.outputs.length === 3, 'the first sync with three outputs');
  t.deepEqual(first.outputs.map((o) => [path.basename(o.path), o.kind, o.format, o.intact]), [['.env', 'env', 'env', true], ['gemini.env', 'env', 'env', true], ['openai.json', 'json', 'json', true]]);
  t.deepEqual(await hookLines(f), [], 'the first sync of a daemon runs no hook');

  // one value changes: the outputs rendering GEMINI_API_KEY (.env, gemini.env), not openai.json
  await commit(f, bundle('gm-hook-2', 'sk-hook-1'), 'gemini changes');
  await f.waitFor((s) => hookOf(s, 'gemini.env')?.outcome === 'ok' && hookOf(s, '.env')?.outcome === 'ok', 'the two hooks');
  let lines = await eventually(async () => ((await hookLines(f)).length === 2 ? hookLines(f) : undefined), 20_000, 'two hook lines');
  t.deepEqual(lines.map((l) => l.name).sort(), ['.env', 'gemini.env']);
  const gemini = lines.find((l) => l.name === 'gemini.env')!;
  t.is(gemini.output, path.join(f.home, 'gemini.env'));
  t.is(gemini.version, '2026.12.1');
  // no secret, no identity in a hook's environment
  t.deepEqual(Object.keys(gemini.env).filter((n) => n.startsWith('SOPS_') || n.startsWith('GIT_')), []);
  t.false(JSON.stringify(gemini.env).includes('gm-hook'));
  t.false(JSON.stringify(gemini.env).includes(f.identity));

  // the same values re-encrypted (a new sha256, every output's header changes): no hook
  const resealed = await commit(f, bundle('gm-hook-2', 'sk-hook-1'), 're-encrypt');
  await f.waitFor((s) => s.fresh && s.lastSync?.sourceSha256 === resealed, 'the re-encrypted bundle synced');
  // a barrier: the next change's hooks run after any the re-encryption had queued
  await commit(f, bundle('gm-hook-3', 'sk-hook-1'), 'gemini again');
  lines = await eventually(async () => ((await hookLines(f)).length >= 4 ? hookLines(f) : undefined), 20_000, 'four hook lines');
  t.deepEqual(lines.map((l) => l.name).sort(), ['.env', '.env', 'gemini.env', 'gemini.env'], 'the re-encryption ran none');

  // a hung hook (openai.json) is killed at its timeout; a failing one (gemini.env) is reported
  await writeUserConfig(f, { '.env': 'ok', 'gemini.env': 'fail', 'openai.json': 'hang' });
  await commit(f, bundle('gm-hook-4', 'sk-hook-4'), 'both change');
  const after = await f.waitFor((s) => hookOf(s, 'openai.json')?.outcome === 'timeout' && hookOf(s, 'gemini.env')?.outcome === 'failed', 'the hung and failing hooks', 30_000);
  t.is(hookOf(after, 'gemini.env')?.exitCode, 3);
  t.is(after.state, 'fresh');
  t.true(after.outputs.every((o) => o.intact));
  t.true((await f.readEnv()).includes('gm-hook-4'));
  t.false(JSON.stringify(after).includes('gm-hook-4'), 'no value in the status');
  const log = f.stderr.join('');
  t.regex(log, /change hook did not succeed/);
  t.false(log.includes('gm-hook-4'));
});

test('the daemon keeps its outputs and raises CONFIG_WIDENED for a widened repo config until status --ack, and deletes an output the config drops', async (t) => {
  const f = await daemonFixture(t);
  await writeFile(path.join(f.repo, '.mcp-secrets.yaml'), CONFIG);
  await commit(f, bundle('gm-consent-1', 'sk-consent-1'), 'v1');
  await f.start();
  await f.waitFor((s) => s.fresh && s.outputs.length === 3, 'the first sync');
  const geminiBefore = await readFile(path.join(f.home, 'gemini.env'), 'utf8');

  // a pull widens the gemini profile and adds an output
  await writeFile(path.join(f.repo, '.mcp-secrets.yaml'), CONFIG.replace('["GEMINI_*"]', '["GEMINI_*", OPENAI_API_KEY]') + '  - {file: all.json, format: json}\n');
  await git(f.repo, ['commit', '-qam', 'widen']);
  const held = await f.waitFor((s) => s.notices.some((n) => n.code === 'CONFIG_WIDENED'), 'the CONFIG_WIDENED notice');
  t.is(held.lastSync?.error?.code, 'E_UNTRUSTED');
  t.regex(held.notices.find((n) => n.code === 'CONFIG_WIDENED')!.message, /new output all\.json/);
  t.is(await readFile(path.join(f.home, 'gemini.env'), 'utf8'), geminiBefore, 'the widened profile is not used');
  t.false(existsSync(path.join(f.home, 'all.json')));

  const acked = await ack({ socketPath: f.socket, timeoutMs: 20_000 });
  t.false(acked.notices.some((n) => n.code === 'CONFIG_WIDENED'));
  await f.waitFor((s) => s.fresh && s.outputs.length === 4, 'the accepted config published');
  t.true((await readFile(path.join(f.home, 'gemini.env'), 'utf8')).includes('OPENAI_API_KEY='));
  t.true(existsSync(path.join(f.home, 'all.json')));

  // a narrowing is used at once: the dropped output is deleted
  await writeFile(path.join(f.repo, '.mcp-secrets.yaml'), CONFIG);
  await git(f.repo, ['commit', '-qam', 'narrow']);
  const narrowed = await f.waitFor((s) => s.fresh && s.outputs.length === 3, 'the narrowed config');
  t.deepEqual(narrowed.notices, []);
  t.false(existsSync(path.join(f.home, 'all.json')));
  t.false((await readFile(path.join(f.home, 'gemini.env'), 'utf8')).includes('OPENAI_API_KEY='));
});
