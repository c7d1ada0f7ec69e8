/**
 * The repo most end-to-end tests start from: a private temp dir holding a git repo with
 * `config/` for the bundle, a home path (not created), a fresh age identity and its
 * BundleLineage, and (unless asked not to) a `.sops.yaml` naming the recipient.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { BundleLineage } from './sops-edit.js';
import { initRepo } from './git.js';
import { tempDir, type Teardown } from './temp.js';

export interface AgeRepo {
  readonly dir: string;
  readonly repo: string;
  readonly home: string;
  readonly bundle: string;
  readonly identity: string;
  readonly recipient: string;
  readonly lineage: BundleLineage;
}

export async function ageRepo(t: Teardown, prefix: string, opts: { sopsConfig?: boolean } = {}): Promise<AgeRepo> {
  const dir = await tempDir(t, prefix);
  const repo = await initRepo(path.join(dir, 'repo'));
  const bundle = path.join(repo, 'config', 'secrets.enc.yaml');
  await mkdir(path.dirname(bundle), { recursive: true });
  const identity = await generateIdentity();
  const recipient = await identityToRecipient(identity);
  if (opts.sopsConfig !== false) {
    await writeFile(path.join(repo, '.sops.yaml'), `creation_rules:\n  - path_regex: config/secrets\\.enc\\.yaml$\n    age: ${recipient}\n`);
  }
  return { dir, repo, home: path.join(dir, 'home'), bundle, identity, recipient, lineage: new BundleLineage(identity, () => [recipient]) };
}
