/**
 * Public age recipients a repo expects: those in `.sops.yaml` creation rules and those the bundle
 * is encrypted to. Used to warn when an imported identity opens nothing. Reads public data only.
 */
import path from 'node:path';
import { yamlApi } from '../sops/yaml-api.js';
import { formatFromPath, inspect } from '../sops/index.js';
import { READ_LIMITS, readBounded, readBoundedText } from '../fsx/read-bounded.js';

const RECIPIENT = /^age1[0-9a-z]+$/;

function splitRecipients(value: unknown): string[] {
  const items = Array.isArray(value) ? value : [value];
  return items
    .filter((v): v is string => typeof v === 'string')
    .flatMap((v) => v.split(/[\s,]+/))
    .filter((v) => RECIPIENT.test(v));
}

function asRecord(value: unknown): Record<string, unknown> | null {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/** Recipients in `.sops.yaml` text: `creation_rules[].age` (comma/newline separated or a list) and `key_groups[].age`. */
export function recipientsFromSopsConfig(text: string): string[] {
  const rules = asRecord(yamlApi().parse(text))?.creation_rules;
  const found: string[] = [];
  for (const rule of Array.isArray(rules) ? rules : []) {
    const r = asRecord(rule);
    if (!r) continue;
    found.push(...splitRecipients(r.age));
    for (const group of Array.isArray(r.key_groups) ? r.key_groups : []) found.push(...splitRecipients(asRecord(group)?.age));
  }
  return [...new Set(found)];
}

/** Recipients of the bundle at `file`, or null when it cannot be read or is not a SOPS file. */
export async function readBundleRecipients(file: string): Promise<string[] | null> {
  try {
    return inspect(await readBounded(file, { limit: READ_LIMITS.bundle, what: 'the bundle' }), { format: formatFromPath(file) }).ageRecipients;
  } catch {
    return null;
  }
}

/** Recipients in `<repo>/.sops.yaml`, or null when there is none or it does not parse. */
export async function readSopsConfigRecipients(repo: string): Promise<string[] | null> {
  try {
    // a checkout decides what is here: no symlink, FIFO or device, at most 1 MiB
    return recipientsFromSopsConfig(await readSopsConfigText(repo));
  } catch {
    return null;
  }
}

/**
 * The text of `<repo>/.sops.yaml`, read as a regular file of at most {@link READ_LIMITS.sopsConfig}
 * bytes (a symlink is refused: a checkout decides where it points).
 * @throws AppError E_PARSE when it is refused; the errno error (ENOENT…) when it cannot be read.
 */
export function readSopsConfigText(repo: string): Promise<string> {
  return readBoundedText(path.join(repo, '.sops.yaml'), {
    limit: READ_LIMITS.sopsConfig,
    what: '.sops.yaml',
    hint: 'restore .sops.yaml from git (`git checkout -- .sops.yaml`)',
  });
}
