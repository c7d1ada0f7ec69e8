/**
 * The demo's sample repo: a fresh age key, a `.sops.yaml` naming its recipient, and a bundle with
 * a few provider keys encrypted by our engine, committed to a new git repo. The values are random
 * demo strings, not real credentials.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { encrypt, updateRecipients, type TreeMap, type TreeValue } from '../sops/index.js';
import { spawnGit } from '../git/run.js';

export interface SampleRepo {
  repo: string;
  bundle: string;
  identity: string;
  recipient: string;
}

/** The demo commits as itself; git needs no age identity, so none reaches it. */
const DEMO_GIT_ENV = {
  SOPS_AGE_KEY: undefined,
  GIT_TERMINAL_PROMPT: '0',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_AUTHOR_NAME: 'mcp-secrets demo',
  GIT_AUTHOR_EMAIL: 'demo@example.invalid',
  GIT_COMMITTER_NAME: 'mcp-secrets demo',
  GIT_COMMITTER_EMAIL: 'demo@example.invalid',
};

function demoValue(prefix: string): string {
  return `${prefix}${randomBytes(18).toString('base64url')}`;
}

/** A sample bundle's plaintext document, as the engine reads and writes it. */
export type SampleDocument = TreeMap;

/** The plain bundle for a given version; `rotate` changes the OpenAI key, as a real rotation would. */
export function sampleDocument(version: string, previous?: TreeMap): TreeMap {
  const keep = (provider: string, fallback: string): string => {
    const node = previous?.get(provider);
    const value = node instanceof Map ? node.get('api_key') : node;
    return typeof value === 'string' ? value : fallback;
  };
  return new Map<string, TreeValue>([
    ['MCP_SECRETS_VERSION', version],
    ['gemini', new Map([['api_key', keep('gemini', demoValue('AIzaDEMO-'))]])],
    ['openai', new Map([['api_key', demoValue('sk-demo-')]])],
    ['anthropic', new Map([['api_key', keep('anthropic', demoValue('sk-ant-demo-'))]])],
    ['zhipu', new Map([['api_key', keep('zhipu', demoValue('zhipu-demo-'))]])],
    ['OPS_GRAFANA_TOKEN', keep('OPS_GRAFANA_TOKEN', demoValue('glsa_demo_'))],
  ]);
}

/**
 * Runs git in the sample repo as the demo's committer; returns stdout without its last newline.
 * @throws Error with git's own message when the command fails (the demo's own repo: a bug or a broken git).
 */
export async function git(repo: string, args: string[]): Promise<string> {
  const result = await spawnGit(repo, args, DEMO_GIT_ENV);
  if (result.code !== 0) throw new Error(`git ${args[0] ?? ''} failed in ${repo} (exit ${result.code}): ${result.stderr.trim()}`);
  return result.stdout.replace(/\n$/, '');
}

/**
 * Writes the sample bundle. A change to an existing one keeps its data key, as `sops edit` does,
 * so the daemon's data key pin (DESIGN.md "Trust in the bundle") accepts it like a team edit.
 */
export async function writeBundle(sample: SampleRepo, document: TreeMap): Promise<void> {
  const before = await readFile(sample.bundle).catch(() => null);
  const bytes =
    before === null
      ? await encrypt(document, { format: 'yaml', recipients: [sample.recipient] })
      : await updateRecipients(before, {
          format: 'yaml',
          identities: [sample.identity],
          recipients: [sample.recipient],
          edit: (tree) => {
            tree.clear();
            for (const [k, v] of document) tree.set(k, v);
          },
        });
  await writeFile(sample.bundle, bytes);
}

export async function createSampleRepo(dir: string, version: string): Promise<{ sample: SampleRepo; document: TreeMap }> {
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  const repo = path.join(dir, 'repo');
  await mkdir(path.join(repo, 'config'), { recursive: true });
  await git(repo, ['init', '-q', '-b', 'main']);
  await writeFile(
    path.join(repo, '.sops.yaml'),
    `creation_rules:\n  - path_regex: config/secrets\\.enc\\.yaml$\n    age: ${recipient}\n`,
  );
  await writeFile(path.join(repo, '.gitignore'), '.env\nconsole-secrets.json\nkeys.txt\n*.dec.*\n');
  const sample = { repo, bundle: path.join(repo, 'config', 'secrets.enc.yaml'), identity, recipient };
  const document = sampleDocument(version);
  await writeBundle(sample, document);
  await git(repo, ['add', '-A']);
  await git(repo, ['commit', '-q', '-m', `secrets ${version}`]);
  return { sample, document };
}
