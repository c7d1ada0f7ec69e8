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
import { createSampleRepo, git, sampleDocument, writeBundle, type SampleDocument, type SampleRepo } from '../demo/sample.js';
import { jsonDocument } from './report.js';
import type { Command, CliIo, CommandInput } from './types.js';

const command: Command = { run: (input, io) => runDemo(resolveDemoInput(input), defaultDemoDeps(io)) };
export default command;

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));

/** `demo`'s options, resolved. */
export interface DemoInput {
  /** `--keep`: leave the temp dir to look around. */
  readonly keep: boolean;
  /** `--json`: no narrative; one document at the end (names, states and timings, never a value). */
  readonly json: boolean;
}

/** The demo's daemon, however it runs. */
export interface DemoDaemon {
  /** Stops it and resolves once it has exited. */
  stop(): Promise<void>;
}

/** What `demo` needs from the outside; tests pass fakes (no repo, no child process, no socket). */
export interface DemoDeps {
  readonly io: Pick<CliIo, 'stdout' | 'stderr'>;
  /** A new private temp dir for everything the demo makes. */
  readonly makeTempDir: () => Promise<string>;
  /** Makes the 0700 directory for the socket. */
  readonly makeSocketDir: (dir: string) => Promise<void>;
  readonly createSample: typeof createSampleRepo;
  /** Starts a daemon on the sample; `onLine` hears each line it logs. */
  readonly startDaemon: (options: { repo: string; home: string; socket: string; identity: string; onLine(line: string): void }) => DemoDaemon;
  /** The daemon's first answer (it may still be starting). */
  readonly waitReady: (socket: string) => Promise<StatusDocument>;
  /** The status once fresh (or whatever it is after the wait). */
  readonly waitFresh: (socket: string) => Promise<StatusDocument>;
  /** Resolves with the first fresh status carrying `version`; rejects after a while. */
  readonly waitForVersion: (socket: string, version: string) => Promise<StatusDocument>;
  /** Writes the bundle for `version` (changing the OpenAI key) and commits it. */
  readonly commitVersion: (sample: SampleRepo, previous: SampleDocument, version: string) => Promise<void>;
  /** Reads an output (bounded). */
  readonly readText: (file: string) => Promise<string>;
  readonly remove: (dir: string) => Promise<void>;
  /** A monotonic clock in milliseconds. */
  readonly now: () => number;
}

/** A demo value as the narrative shows it: its first four characters and its length. */
export function maskValue(value: string): string {
  return `${value.slice(0, 4)}… (${value.length} chars)`;
}

/** The `.env` lines with their values masked (comments and blank lines left out). */
export function maskedEnvLines(text: string): string[] {
  const lines: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || line.trim() === '') continue;
    const eq = line.indexOf('=');
    lines.push(`${line.slice(0, eq)}=${maskValue(line.slice(eq + 1).replace(/^'|'$/g, ''))}`);
  }
  return lines;
}

interface StoreSummary {
  secretsVersion: string | null;
  commit: string | null;
  secrets: { name: string; provider: string }[];
}

/** What the narrative and the JSON document say about console-secrets.json: names and providers, never values. */
export function storeSummary(text: string): StoreSummary {
  const store = JSON.parse(text) as { secretsVersion: string | null; source: { commit: string | null }; secrets: { name: string; provider: string }[] };
  return { secretsVersion: store.secretsVersion, commit: store.source.commit, secrets: store.secrets.map((s) => ({ name: s.name, provider: s.provider })) };
}

/** One line about the daemon's status. */
export function statusLine(status: StatusDocument): string {
  return `  status: ${status.state}, fresh=${status.fresh}, secrets ${status.secretsVersion}, ${status.entries} entries, identity from ${status.identity.source}, last sync ${status.lastSync?.durationMs} ms\n`;
}

function statusFacts(status: StatusDocument): Record<string, unknown> {
  return { state: status.state, fresh: status.fresh, secretsVersion: status.secretsVersion, entries: status.entries, identity: status.identity.source, lastSyncMs: status.lastSync?.durationMs ?? null };
}

/** Resolves `demo`'s flags. */
export function resolveDemoInput(input: CommandInput): DemoInput {
  return { keep: input.values.keep === true, json: input.values.json === true };
}

/** The real collaborators: a temp dir, git, a daemon child process of this CLI, the IPC client. */
export function defaultDemoDeps(io: CliIo): DemoDeps {
  return {
    io,
    makeTempDir: () => mkdtemp(path.join(os.tmpdir(), 'mcp-secrets-demo-')),
    makeSocketDir: async (dir) => void (await mkdir(dir, { recursive: true, mode: 0o700 })),
    createSample: createSampleRepo,
    startDaemon: ({ repo, home, socket, identity, onLine }) => {
      const child = spawn(process.execPath, [MAIN, 'daemon', '--repo', repo, '--home', home, '--socket', socket, '--log-level', 'info'], {
        env: { ...io.env, SOPS_AGE_KEY: identity, MCP_SECRETS_KEYCHAIN: 'none', MCP_HOME: home },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      child.stderr?.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) onLine(line);
      });
      return {
        stop: async () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          const exited = new Promise((r) => child.once('exit', r));
          child.kill('SIGTERM');
          await exited;
        },
      };
    },
    waitReady: (socket) => waitForDaemon(socket, 15_000),
    waitFresh: (socketPath) => waitFresh({ socketPath, timeoutMs: 15_000 }),
    waitForVersion: (socketPath, version) => {
      let sub: { close(): void } | null = null;
      const changed = new Promise<StatusDocument>((resolve) => {
        sub = subscribe(
          (s) => {
            if (s.fresh && s.secretsVersion === version) resolve(s);
          },
          { socketPath },
        );
      });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new AppError('E_WRITE', 'the demo daemon did not pick up the commit within 15 s')), 15_000);
      });
      return Promise.race([changed, timeout]).finally(() => {
        clearTimeout(timer);
        (sub as { close(): void } | null)?.close();
      });
    },
    commitVersion: async (sample, previous, version) => {
      await writeBundle(sample, sampleDocument(version, previous));
      await git(sample.repo, ['commit', '-q', '-am', `secrets ${version}`]);
    },
    readText: (file) => readBoundedText(file, { limit: READ_LIMITS.output, what: 'the output' }),
    remove: (dir) => rm(dir, { recursive: true, force: true }),
    now: () => performance.now(),
  };
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

/**
 * The demo: a sample repo, a daemon on it, a commit it follows; the temp dir is removed at the end
 * (kept with `--keep`) and the daemon stopped, whatever happened.
 */
export async function runDemo(input: DemoInput, deps: DemoDeps): Promise<number> {
  const { io } = deps;
  const say = (text: string): void => {
    if (!input.json) io.stdout(text);
  };
  const dir = await deps.makeTempDir();
  const home = path.join(dir, 'home');
  const socket = path.join(dir, 'run', 'daemon.sock');
  const envFile = path.join(home, '.env');
  const storeFile = path.join(home, 'console-secrets.json');
  let daemon: DemoDaemon | null = null;
  try {
    await deps.makeSocketDir(path.dirname(socket));
    say(`mcp-secrets demo in ${dir}\n\n1. a sample repo with a fresh age key and an encrypted bundle\n`);
    const { sample, document } = await deps.createSample(dir, '2026.11.1');
    say(`  repo ${sample.repo}\n  bundle config/secrets.enc.yaml, encrypted to ${sample.recipient}\n\n2. the daemon starts (identity from SOPS_AGE_KEY, keychain off for the demo)\n`);
    // with --json, stdout is the one document: the daemon's lines go to stderr
    daemon = deps.startDaemon({ repo: sample.repo, home, socket, identity: sample.identity, onLine: (line) => (input.json ? io.stderr(`${line}\n`) : io.stdout(`  | ${line}\n`)) });
    await deps.waitReady(socket);
    const first = await deps.waitFresh(socket);
    if (!first.fresh) throw new AppError('E_WRITE', `the demo daemon did not become fresh (state ${first.state})`);
    say(statusLine(first));
    await showOutputs();

    say('\n3. a commit changes the bundle (new secrets version, new OpenAI key); the daemon follows\n');
    const followed = deps.waitForVersion(socket, '2026.11.2');
    // a failed commit must not leave the wait's rejection unheard
    followed.catch(() => undefined);
    const t0 = deps.now();
    await deps.commitVersion(sample, document, '2026.11.2');
    const second = await followed;
    const followMs = Math.round(deps.now() - t0);
    say(`  fresh again ${followMs} ms after the commit\n`);
    say(statusLine(second));
    const store = await showOutputs();
    say(
      `\n4. for real use: \`op read 'op://MCP/SOPS Age key/private' | mcp-secrets identity import\`, then \`mcp-secrets service install\` (see README)\n` +
        `   (\`mcp-secrets demo --keep\` keeps ${dir} to look around)\n`,
    );
    if (input.json) {
      const doc = { ok: true, dir, kept: input.keep, repo: sample.repo, recipient: sample.recipient, outputs: [envFile, storeFile], first: statusFacts(first), afterCommit: { ...statusFacts(second), followMs }, secrets: store.secrets };
      io.stdout(jsonDocument(doc));
    }
    return EXIT.OK;
  } finally {
    if (daemon) await daemon.stop();
    if (input.keep) say(`\nkept ${dir}\n`);
    else await deps.remove(dir);
  }

  async function showOutputs(): Promise<StoreSummary> {
    const env = await deps.readText(envFile);
    say(`  ${envFile} (values masked here):\n${maskedEnvLines(env).map((l) => `    ${l}\n`).join('')}`);
    const store = storeSummary(await deps.readText(storeFile));
    say(`  ${storeFile}: SecretStore v1, secretsVersion ${store.secretsVersion}, commit ${store.commit?.slice(0, 12)}\n`);
    say(`    ${store.secrets.map((s) => `${s.name} (${s.provider})`).join(', ')}\n`);
    return store;
  }
}

