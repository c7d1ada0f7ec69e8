/**
 * The MCP client snippets in docs/mcp-clients/ (issue 13, item 4), launched exactly as written by
 * the official SDK's client over stdio, as Claude Desktop, Cursor, Claude Code and VS Code do:
 * cwd `/`, the transport's default environment (HOME, LOGNAME, PATH, SHELL, TERM, USER) plus the
 * snippet's `env`, and DBUS_SESSION_BUS_ADDRESS for a private, real gnome-keyring holding the
 * identity (imported first with `identity import`). The server is the unmodified
 * `@modelcontextprotocol/server-everything`; its `get-env` tool shows what the server was handed.
 *
 * Only the documented placeholders (`/ABSOLUTE/PATH/TO/…`) are replaced, by absolute paths.
 */
import type { ExecutionContext } from 'ava';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { execa } from 'execa';
import { encrypt } from '../../src/sops/index.js';
import { CLI, repoRoot } from '../helpers/e2e.js';
import { initRepo } from '../helpers/git.js';
import { tempDir } from '../helpers/temp.js';
import { keyringTests, startKeyringSession, type KeyringSession } from '../helpers/keyring.js';

const SNIPPETS: { file: string; servers: 'mcpServers' | 'servers' }[] = [
  { file: 'claude-desktop.json', servers: 'mcpServers' },
  { file: 'cursor.json', servers: 'mcpServers' },
  { file: 'claude-code.mcp.json', servers: 'mcpServers' },
  { file: 'vscode.mcp.json', servers: 'servers' },
];

const BUNDLE = {
  MCP_SECRETS_VERSION: '2026.12.2',
  gemini: { api_key: 'gm-client-secret-value-1' },
  GOOGLE_API_KEY: 'google-client-secret-2',
  openai: { api_key: 'sk-client-openai-secret-3' },
  anthropic: { api_key: 'sk-ant-client-secret-4' },
};
/** The snippets' profile: the gemini provider's entries. */
const PROFILE = { GEMINI_API_KEY: 'gm-client-secret-value-1', GOOGLE_API_KEY: 'google-client-secret-2' };
const BUNDLE_NAMES = ['MCP_SECRETS_VERSION', 'GEMINI_API_KEY', 'GOOGLE_API_KEY', 'OPENAI_API_KEY', 'ANTHROPIC_API_KEY'];
/** What server-everything prints on stderr as it starts: its absence proves it never ran. */
const SERVER_STARTED = 'Starting default (STDIO) server';

interface ServerSpec {
  type?: string;
  command: string;
  args: string[];
  env?: Record<string, string>;
}

interface Setup {
  repo: string;
  bundle: string;
  keyring: KeyringSession;
  placeholders: Record<string, string>;
  identity: string;
}

const register = await keyringTests();

async function setup(t: ExecutionContext): Promise<Setup> {
  const dir = await tempDir(t, 'mcp-clients-');
  // The client's own HOME (the transport passes HOME on): the trust state goes to <it>/.mcp.
  // ava runs each test file in its own worker process, so this changes nothing elsewhere.
  process.env.HOME = path.join(dir, 'userhome');
  await mkdir(process.env.HOME);
  const keyring = await startKeyringSession('unlocked');
  t.teardown(() => keyring.stop());

  const repo = await initRepo(path.join(dir, 'repo'));
  const bundle = path.join(repo, 'config', 'secrets.enc.yaml');
  await mkdir(path.dirname(bundle), { recursive: true });
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  await writeFile(path.join(repo, '.sops.yaml'), `creation_rules:\n  - path_regex: config/secrets\\.enc\\.yaml$\n    age: ${recipient}\n`);
  await writeFile(bundle, await encrypt(BUNDLE, { format: 'yaml', recipients: [recipient] }));
  await writeFile(path.join(repo, '.mcp-secrets.yaml'), 'version: 1\nprofiles:\n  gemini: {providers: [gemini]}\n');

  // the identity goes into the keychain, never into a snippet
  const imported = await execa(process.execPath, [CLI, 'identity', 'import'], {
    input: `${identity}\n`,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...keyring.env },
    extendEnv: false,
    reject: false,
  });
  t.is(imported.exitCode, 0, imported.stderr);

  // `mcp-secrets` as installed: an absolute path to an executable Node script, like npm's bin
  // link (not a shell wrapper: sh would add PWD to what the server sees)
  const bin = path.join(dir, 'bin', 'mcp-secrets');
  await mkdir(path.dirname(bin));
  await writeFile(bin, `#!${process.execPath}\nimport(${JSON.stringify(pathToFileURL(CLI).href)});\n`);
  await chmod(bin, 0o755);
  const serverEntry = path.join(path.dirname(createRequire(import.meta.url).resolve('@modelcontextprotocol/server-everything/package.json')), 'dist', 'index.js');
  const placeholders = {
    '/ABSOLUTE/PATH/TO/mcp-secrets': bin,
    '/ABSOLUTE/PATH/TO/node': process.execPath,
    '/ABSOLUTE/PATH/TO/your-repo': repo,
    '/ABSOLUTE/PATH/TO/server-everything/dist/index.js': serverEntry,
  };
  return { repo, bundle, keyring, placeholders, identity };
}

async function snippet(file: string, key: 'mcpServers' | 'servers'): Promise<ServerSpec> {
  const parsed = JSON.parse(await readFile(path.join(repoRoot(), 'docs', 'mcp-clients', file), 'utf8')) as Record<string, Record<string, ServerSpec>>;
  const server = parsed[key]?.everything;
  if (!server) throw new Error(`${file}: no ${key}.everything`);
  return server;
}

function substitute(value: string, placeholders: Record<string, string>): string {
  return placeholders[value] ?? value;
}

function launch(server: ServerSpec, s: Setup): StdioClientTransport {
  return new StdioClientTransport({
    command: substitute(server.command, s.placeholders),
    args: server.args.map((a) => substitute(a, s.placeholders)),
    // what the client adds to its default environment: the snippet's env, and the test keyring's bus
    env: { ...getDefaultEnvironment(), ...server.env, DBUS_SESSION_BUS_ADDRESS: s.keyring.env.DBUS_SESSION_BUS_ADDRESS! },
    cwd: '/',
    stderr: 'pipe',
  });
}

function collect(transport: StdioClientTransport): () => string {
  const chunks: Buffer[] = [];
  transport.stderr?.on('data', (c: Buffer) => chunks.push(Buffer.from(c)));
  return () => Buffer.concat(chunks).toString('utf8');
}

register('every snippet is valid JSON, uses absolute paths and mcp-secrets run, never npx, never an age key in env', async (t) => {
  for (const { file, servers } of SNIPPETS) {
    const server = await snippet(file, servers);
    if (servers === 'servers') t.is(server.type, 'stdio', `${file}: VS Code needs "type": "stdio"`);
    t.true(path.isAbsolute(server.command), file);
    t.false(/npx/.test(JSON.stringify(server)), file);
    t.deepEqual(server.args.slice(0, 2), ['run', '--repo'], file);
    t.true(server.args.includes('--'), file);
    const dashDash = server.args.indexOf('--');
    t.true(path.isAbsolute(server.args[dashDash + 1]!), `${file}: the server's command is an absolute path`);
    t.false(/AGE-SECRET-KEY|SOPS_AGE/.test(JSON.stringify(server.env ?? {})), file);
  }
  // the Claude Code one-liner in the doc launches the same thing as claude-code.mcp.json
  const doc = await readFile(path.join(repoRoot(), 'docs', 'mcp-clients.md'), 'utf8');
  const line = doc.split('\n').find((l) => l.startsWith('claude mcp add '));
  t.truthy(line, 'docs/mcp-clients.md has the `claude mcp add` one-liner');
  const words = line!.trim().split(/\s+/);
  const code = await snippet('claude-code.mcp.json', 'mcpServers');
  t.deepEqual(words.slice(0, 5), ['claude', 'mcp', 'add', 'everything', '--']);
  t.deepEqual(words.slice(5), [code.command, ...code.args]);
});

register('each client snippet starts the server with exactly its profile\'s entries and no age key', async (t) => {
  const s = await setup(t);
  for (const { file, servers } of SNIPPETS) {
    const transport = launch(await snippet(file, servers), s);
    const stderr = collect(transport);
    const client = new Client({ name: `test-${file}`, version: '1.0.0' });
    try {
      await client.connect(transport);
      const result = (await client.callTool({ name: 'get-env', arguments: {} })) as { content: { type: string; text: string }[] };
      const env = JSON.parse(result.content[0]!.text) as Record<string, string>;
      for (const [name, value] of Object.entries(PROFILE)) t.is(env[name], value, `${file}: ${name}`);
      t.deepEqual(BUNDLE_NAMES.filter((n) => n in env).sort(), Object.keys(PROFILE).sort(), `${file}: nothing else from the bundle`);
      const allowed = new Set([...Object.keys(getDefaultEnvironment()), 'DBUS_SESSION_BUS_ADDRESS', ...Object.keys(PROFILE)]);
      t.deepEqual(Object.keys(env).filter((k) => !allowed.has(k)), [], `${file}: the server sees only the client's environment and its profile`);
      const text = JSON.stringify(env);
      t.false(text.includes('AGE-SECRET-KEY-1'), `${file}: no age key`);
      t.false(text.includes(s.identity));
      for (const other of ['sk-client-openai-secret-3', 'sk-ant-client-secret-4']) t.false(text.includes(other));
      t.true(stderr().includes(SERVER_STARTED), 'the server ran');
    } finally {
      await client.close();
    }
  }
});

register('with a tampered bundle the server never starts and the client\'s stderr carries E_MAC_MISMATCH', async (t) => {
  const s = await setup(t);
  const text = await readFile(s.bundle, 'utf8');
  const tampered = text.replace(/lastmodified: "(\d{4})/, (_m, y: string) => `lastmodified: "${Number(y) + 1}`);
  t.not(tampered, text);
  await writeFile(s.bundle, tampered);
  for (const { file, servers } of SNIPPETS) {
    const transport = launch(await snippet(file, servers), s);
    const stderr = collect(transport);
    const closed = new Promise<void>((resolve) => {
      transport.onclose = () => resolve();
    });
    const client = new Client({ name: `test-${file}`, version: '1.0.0' });
    // `run` exits 2 before the server exists: the handshake cannot complete
    await t.throwsAsync(Promise.race([client.connect(transport), closed.then(() => Promise.reject(new Error('closed')))]));
    await closed;
    t.true(stderr().includes('E_MAC_MISMATCH'), `${file}: ${stderr()}`);
    t.false(stderr().includes(SERVER_STARTED), `${file}: the server never started`);
    await client.close();
  }
});
