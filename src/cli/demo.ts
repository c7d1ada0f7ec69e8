/**
 * `mcp-secrets demo`: the README's first command. Everything happens in a temp dir: a sample repo
 * with a fresh age key, a daemon (a real child process) watching it, a commit that changes the
 * bundle, and the outputs and status following it. Nothing touches ~/.mcp or the keychain.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { READ_LIMITS, readBoundedText } from '../fsx/read-bounded.js';
import { performance } from 'node:perf_hooks';
import { AppError, EXIT, isAppError } from '../errors.js';
import { getStatus, waitFresh, subscribe } from '../ipc/client.js';
import type { StatusDocument } from '../ipc/status.js';
import { createSampleRepo, git, sampleDocument, writeBundle } from '../demo/sample.js';
import type { Command, CliIo, CommandInput } from './types.js';

const command: Command = { run: runDemo };
export default command;

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

function mask(value: string): string {
  return `${value.slice(0, 4)}… (${value.length} chars)`;
}

async function waitForDaemon(socketPath: string, timeoutMs: number): Promise<StatusDocument> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    try {
      return await getStatus({ socketPath, timeoutMs: 1_000 });
    } catch (error) {
      if (!isAppError(error) || error.code !== 'E_DAEMON_UNREACHABLE' || performance.now() > deadline) throw error;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function showOutputs(home: string, io: CliIo): Promise<void> {
  const env = await readBoundedText(path.join(home, '.env'), { limit: READ_LIMITS.output, what: 'the output' });
  io.stdout(`  ${path.join(home, '.env')} (values masked here):\n`);
  for (const line of env.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const eq = line.indexOf('=');
    io.stdout(`    ${line.slice(0, eq)}=${mask(line.slice(eq + 1).replace(/^'|'$/g, ''))}\n`);
  }
  const store = JSON.parse(await readBoundedText(path.join(home, 'console-secrets.json'), { limit: READ_LIMITS.output, what: 'the output' })) as {
    secretsVersion: string | null;
    source: { commit: string | null };
    secrets: { name: string; provider: string }[];
  };
  io.stdout(`  ${path.join(home, 'console-secrets.json')}: SecretStore v1, secretsVersion ${store.secretsVersion}, commit ${store.source.commit?.slice(0, 12)}\n`);
  io.stdout(`    ${store.secrets.map((s) => `${s.name} (${s.provider})`).join(', ')}\n`);
}

function showStatus(status: StatusDocument, io: CliIo): void {
  io.stdout(
    `  status: ${status.state}, fresh=${status.fresh}, secrets ${status.secretsVersion}, ${status.entries} entries, identity from ${status.identity.source}, last sync ${status.lastSync?.durationMs} ms\n`,
  );
}

export async function runDemo(input: CommandInput, io: CliIo): Promise<number> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcp-secrets-demo-'));
  const home = path.join(dir, 'home');
  const socketPath = path.join(dir, 'run', 'daemon.sock');
  await mkdir(path.dirname(socketPath), { recursive: true, mode: 0o700 });
  let child: ReturnType<typeof spawn> | null = null;
  try {
    io.stdout(`mcp-secrets demo in ${dir}\n\n1. a sample repo with a fresh age key and an encrypted bundle\n`);
    const { sample, document } = await createSampleRepo(dir, '2026.11.1');
    io.stdout(`  repo ${sample.repo}\n  bundle config/secrets.enc.yaml, encrypted to ${sample.recipient}\n\n2. the daemon starts (identity from SOPS_AGE_KEY, keychain off for the demo)\n`);

    child = spawn(process.execPath, [MAIN, 'daemon', '--repo', sample.repo, '--home', home, '--socket', socketPath, '--log-level', 'info'], {
      env: { ...io.env, SOPS_AGE_KEY: sample.identity, MCP_SECRETS_KEYCHAIN: 'none', MCP_HOME: home },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) io.stdout(`  | ${line}\n`);
    });
    await waitForDaemon(socketPath, 15_000);
    const first = await waitFresh({ socketPath, timeoutMs: 15_000 });
    if (!first.fresh) throw new AppError('E_WRITE', `the demo daemon did not become fresh (state ${first.state})`);
    showStatus(first, io);
    await showOutputs(home, io);

    io.stdout('\n3. a commit changes the bundle (new secrets version, new OpenAI key); the daemon follows\n');
    const changed = new Promise<StatusDocument>((resolve) => {
      const sub = subscribe(
        (s) => {
          if (s.fresh && s.secretsVersion === '2026.11.2') {
            sub.close();
            resolve(s);
          }
        },
        { socketPath },
      );
    });
    const t0 = performance.now();
    await writeBundle(sample, sampleDocument('2026.11.2', document));
    await git(sample.repo, ['commit', '-q', '-am', 'secrets 2026.11.2']);
    const second = await Promise.race([
      changed,
      new Promise<never>((_, reject) => setTimeout(() => reject(new AppError('E_WRITE', 'the demo daemon did not pick up the commit within 15 s')), 15_000).unref()),
    ]);
    io.stdout(`  fresh again ${(performance.now() - t0).toFixed(0)} ms after the commit\n`);
    showStatus(second, io);
    await showOutputs(home, io);
    io.stdout(
      `\n4. for real use: \`op read 'op://MCP/SOPS Age key/private' | mcp-secrets identity import\`, then \`mcp-secrets service install\` (see README)\n` +
        `   (\`mcp-secrets demo --keep\` keeps ${dir} to look around)\n`,
    );
    return EXIT.OK;
  } finally {
    if (child && child.exitCode === null) {
      const exited = new Promise((r) => child!.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    }
    if (input.values.keep === true) io.stdout(`\nkept ${dir}\n`);
    else await rm(dir, { recursive: true, force: true });
  }
}
