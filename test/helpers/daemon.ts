/**
 * A real daemon for integration tests: a temp repo with a bundle encrypted to a fresh age key, and
 * `mcp-secrets daemon` as a child process, observed only through the IPC socket.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ExecutionContext } from 'ava';
import { BundleLineage } from './sops-edit.js';
import { getStatus, subscribe } from '../../src/ipc/client.js';
import type { StatusDocument } from '../../src/ipc/status.js';
import { isAppError } from '../../src/errors.js';
import { CLI, isolatedEnv, eventually } from './e2e.js';
import { git } from './git.js';
import { ageRepo } from './age-repo.js';

export interface DaemonFixture {
  dir: string;
  repo: string;
  home: string;
  socket: string;
  bundle: string;
  identity: string;
  recipient: string;
  env: Record<string, string>;
  /** Seals bundles keeping the data key (as `sops edit`); {@link DaemonFixture.writeBundle} uses it. */
  lineage: BundleLineage;
  child: ChildProcess | null;
  stderr: string[];
  start(extraArgs?: string[]): Promise<StatusDocument>;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  writeBundle(doc: Record<string, unknown>): Promise<void>;
  commitBundle(doc: Record<string, unknown>, message: string): Promise<void>;
  status(): Promise<StatusDocument>;
  waitFor(predicate: (s: StatusDocument) => boolean, what: string, timeoutMs?: number): Promise<StatusDocument>;
  readEnv(): Promise<string>;
}

export function sampleBundle(version: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    MCP_SECRETS_VERSION: version,
    openai: { api_key: `sk-test-openai-${version}-value` },
    anthropic: { api_key: `sk-ant-test-${version}-value` },
    ...extra,
  };
}

export async function daemonFixture(t: ExecutionContext, opts: { identityInEnv?: boolean; keychain?: boolean; env?: Record<string, string> } = {}): Promise<DaemonFixture> {
  const { dir, repo, home, bundle, identity, recipient, lineage } = await ageRepo(t, 'mcpd-');
  const socket = path.join(dir, 'run', 'd.sock');
  const env = isolatedEnv(dir, { ...(opts.identityInEnv === false ? {} : { SOPS_AGE_KEY: identity }), ...opts.env }, { keychain: opts.keychain });

  const fixture: DaemonFixture = {
    dir,
    repo,
    home,
    socket,
    bundle,
    identity,
    recipient,
    env,
    lineage,
    child: null,
    stderr: [],
    async start(extraArgs = []) {
      const child = spawn(process.execPath, [CLI, 'daemon', '--repo', repo, '--home', home, '--socket', socket, '--log-level', 'debug', ...extraArgs], {
        env,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      fixture.child = child;
      child.stderr!.on('data', (c: Buffer) => fixture.stderr.push(c.toString('utf8')));
      child.stdout!.on('data', (c: Buffer) => fixture.stderr.push(c.toString('utf8')));
      return eventually(
        async () => {
          if (child.exitCode !== null) throw new Error(`daemon exited with ${child.exitCode}: ${fixture.stderr.join('')}`);
          try {
            return await getStatus({ socketPath: socket, timeoutMs: 1000 });
          } catch (error) {
            if (isAppError(error) && error.code === 'E_DAEMON_UNREACHABLE') return undefined;
            throw error;
          }
        },
        20_000,
        'the daemon socket',
      );
    },
    async stop(signal = 'SIGTERM') {
      const child = fixture.child;
      if (!child || child.exitCode !== null || child.signalCode !== null) return child?.exitCode ?? null;
      const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
      child.kill(signal);
      return exited;
    },
    async writeBundle(doc) {
      // like `sops edit`: every bundle after the first keeps the data key the daemon pinned
      await writeFile(bundle, await lineage.seal(doc));
    },
    async commitBundle(doc, message) {
      await fixture.writeBundle(doc);
      await git(repo, ['add', '-A']);
      await git(repo, ['commit', '-q', '-m', message]);
    },
    status: () => getStatus({ socketPath: socket, timeoutMs: 5000 }),
    waitFor(predicate, what, timeoutMs = 20_000) {
      return new Promise<StatusDocument>((resolve, reject) => {
        let done = false;
        const finish = (err: Error | null, s?: StatusDocument): void => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          sub.close();
          if (err) reject(err);
          else resolve(s!);
        };
        const timer = setTimeout(() => {
          void fixture.status().then(
            (s) => finish(new Error(`timed out waiting for ${what}; last status ${JSON.stringify({ state: s.state, v: s.secretsVersion, err: s.lastSync?.error })}`)),
            (e: Error) => finish(e),
          );
        }, timeoutMs);
        const sub = subscribe((s) => (predicate(s) ? finish(null, s) : undefined), { socketPath: socket });
        // the state may already hold: ask once after subscribing
        void fixture.status().then((s) => (predicate(s) ? finish(null, s) : undefined), () => undefined);
      });
    },
    readEnv: () => readFile(path.join(home, '.env'), 'utf8'),
  };
  t.teardown(async () => {
    await fixture.stop('SIGKILL');
  });
  return fixture;
}
