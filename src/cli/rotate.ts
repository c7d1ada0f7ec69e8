/**
 * `mcp-secrets rotate --ticket ID`: the runbook's "bootstrapping e rotação" as one command.
 *
 * Order is chosen so a failure never strands the team: the new secret key is handed over first
 * (printed once, or piped to --store-cmd on stdin); only when that succeeded are the bundle and
 * `.sops.yaml` rewritten (each by temp file + rename), then the evidence file is written.
 * Nothing secret is ever written into the repo.
 */
import { execa } from 'execa';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { access, writeFile, rename, mkdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { AppError, EXIT, isAppError } from '../errors.js';
import { oneLine } from '../escape.js';
import { resolveCommonOptions } from '../config/options.js';
import { resolveRepo } from '../config/repo.js';
import { formatFromPath, inspect, updateRecipients, decrypt, decryptDetailed } from '../sops/index.js';
import { acceptDataKey, dataKeyDigest } from '../trust/data-keys.js';
import { identityLookup } from '../identity/lookup.js';
import { readSopsConfigText } from '../identity/recipients.js';
import { planFor, readBundle, sha256Hex, type SyncPlan } from '../sync/pipeline.js';
import type { SopsFormat } from '../sops/index.js';
import { evidenceMarkdown, nextRecipients, nextVersion, rewriteSopsConfig } from '../rotate/plan.js';
import type { Command, CliIo, CommandInput } from './types.js';

const command: Command = { run: runRotate };
export default command;

const TICKET = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const RECIPIENT = /^age1[0-9a-z]{20,}$/;

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

async function writeAtomically(file: string, bytes: Uint8Array | string): Promise<void> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.rotate-${process.pid}`);
  try {
    await writeFile(temp, bytes, { flag: 'wx', mode: 0o644 });
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => undefined);
    throw new AppError('E_WRITE', `cannot write ${file}: ${(error as NodeJS.ErrnoException).code ?? 'error'}`, { hint: 'check the repo is writable', cause: error });
  }
}

/** `rotation-<date>.md`, or `rotation-<date>-2.md`… when a rotation already ran that day: evidence is never overwritten. */
async function unusedEvidencePath(dir: string, date: string): Promise<string> {
  for (let n = 1; ; n++) {
    const candidate = path.join(dir, `rotation-${date}${n === 1 ? '' : `-${n}`}.md`);
    try {
      await access(candidate);
    } catch {
      return candidate;
    }
  }
}

/**
 * `--rotate-data-key` makes a new data key: the bundle this machine just wrote is the team's, so
 * its key is accepted here (DESIGN.md "Trust in the bundle"). Teammates accept it on their side.
 * A failure here leaves the rotation done; the next sync then asks for the acceptance instead.
 */
async function acceptOwnDataKey(plan: SyncPlan, bytes: Uint8Array, format: SopsFormat, identities: string[]): Promise<string> {
  try {
    const opened = await decryptDetailed(bytes, { format, identities, path: plan.sourceRel, keepDataKey: true });
    await acceptDataKey(plan.home, plan.sourceAbs, dataKeyDigest(opened.dataKey!));
    opened.dataKey!.fill(0);
    return `  data key pin: the new data key is accepted on this machine (${path.join(plan.home, 'trust.json')}); teammates accept it with \`mcp-secrets sync --accept-data-key\` or \`mcp-secrets status --ack\``;
  } catch (error) {
    return `  data key pin: not recorded here (${error instanceof AppError ? error.code : 'error'}); accept it with \`mcp-secrets sync --accept-data-key\``;
  }
}

export async function runRotate(input: CommandInput, io: CliIo): Promise<number> {
  const options = resolveCommonOptions(input.values, io.env, io.cwd);
  const ticket = input.values.ticket;
  if (typeof ticket !== 'string' || !TICKET.test(ticket)) {
    throw new AppError('E_USAGE', 'rotate needs --ticket ID (letters, digits, ".", "_", "-")', { hint: 'e.g. mcp-secrets rotate --ticket TASK-OPS-301' });
  }
  const given = strings(input.values.recipient);
  const remove = strings(input.values.remove);
  for (const r of [...given, ...remove]) {
    if (!RECIPIENT.test(r)) throw new AppError('E_USAGE', `not an age recipient: "${r.slice(0, 20)}…"`, { hint: 'recipients look like age1… (the public key)' });
  }
  const dryRun = input.values['dry-run'] === true;
  const rotateDataKey = input.values['rotate-data-key'] === true;
  const storeCmd = typeof input.values['store-cmd'] === 'string' && input.values['store-cmd'].length > 0 ? input.values['store-cmd'] : null;
  const keyToStdout = input.values['key-to-stdout'] === true;
  if (storeCmd !== null && keyToStdout) {
    throw new AppError('E_USAGE', 'rotate: --store-cmd and --key-to-stdout exclude each other', { hint: 'the new key goes to one place: the vault command, or stdout' });
  }
  // Decided before anything is read or written: the new secret key goes to a terminal, to
  // --store-cmd, or into a file or pipe only when --key-to-stdout says so.
  if (given.length === 0 && !dryRun && storeCmd === null && !keyToStdout && !io.stdoutIsTTY) {
    throw new AppError('E_USAGE', 'rotate: refusing to write the new secret key to stdout, which is not a terminal (a file or a pipe would keep it); nothing was changed', {
      hint: 'run it in a terminal, hand the key to your vault with --store-cmd "CMD" (the key goes on its stdin), or add --key-to-stdout if the file or pipe is meant to receive it',
    });
  }

  const repo = await resolveRepo({ repoFlag: options.repoFlag, cwd: io.cwd });
  const plan = planFor(repo, options.source, options.home, options.engine);
  const format = formatFromPath(plan.sourceAbs);
  const before = await readBundle(plan);
  const metadata = inspect(before, { format, path: plan.sourceRel });
  const lookup = await identityLookup({ env: io.env, cache: false, onNotice: () => {} })();
  const opening = lookup.identities.filter((i) => metadata.ageRecipients.includes(i.recipient));
  if (opening.length === 0) {
    throw new AppError('E_IDENTITY_MISMATCH', `none of your identities opens ${plan.sourceRel} (encrypted to ${metadata.ageRecipients.join(', ')})`, {
      hint: 'rotation re-wraps the data key, so it needs a current key: import it with `mcp-secrets identity import`',
    });
  }
  const document = await decrypt(before, { format, identities: opening.map((i) => i.line), path: plan.sourceRel });
  const versionBefore = document.get('MCP_SECRETS_VERSION');
  const now = new Date();
  const versionAfter = nextVersion(typeof versionBefore === 'string' || typeof versionBefore === 'number' ? String(versionBefore) : null, now);

  // a generated key replaces the key(s) that opened the bundle; given recipients are added alongside
  const generate = given.length === 0;
  const identity = generate && !dryRun ? await generateX25519Identity() : null;
  const newRecipient = identity ? await identityToRecipient(identity) : null;
  const add = generate ? (newRecipient ? [newRecipient] : ['age1<new key, generated at run time>']) : given;
  const recipients = nextRecipients(metadata.ageRecipients, { replace: generate ? opening.map((i) => i.recipient) : [], remove, add });

  const sopsConfigPath = path.join(repo, '.sops.yaml');
  let sopsConfig: string | null = null;
  try {
    sopsConfig = await readSopsConfigText(repo);
  } catch (error) {
    // no .sops.yaml is fine (nothing to rewrite); one that is refused (a FIFO, a device, too big) is not
    if (isAppError(error)) throw error;
    sopsConfig = null;
  }
  const date = now.toISOString().slice(0, 10);
  const evidencePath = await unusedEvidencePath(path.join(repo, 'docs', 'evidence', ticket), date);

  // Everything that can fail on the repo's content is computed before the key is handed over,
  // so a bad .sops.yaml never leaves an operator holding a key nothing uses.
  const rewritten = sopsConfig === null ? null : rewriteSopsConfig(sopsConfig, plan.sourceRel, metadata.ageRecipients, recipients);

  const planLines = [
    `rotate ${plan.sourceRel} for ${ticket}:`,
    `  recipients: ${metadata.ageRecipients.join(', ')}`,
    `          →  ${recipients.join(', ')}`,
    `  data key: ${rotateDataKey ? 'new (every value re-encrypted)' : 'kept, re-wrapped for the new recipients (after a leak, use --rotate-data-key)'}`,
    `  MCP_SECRETS_VERSION: ${versionBefore === undefined ? '(none)' : String(versionBefore)} → ${versionAfter}`,
    `  .sops.yaml: ${rewritten === null ? 'absent (not written)' : `age recipients updated in ${rewritten.changedRules} rule(s), other rules and comments kept`}`,
    `  evidence: ${path.relative(repo, evidencePath)}`,
  ].map(oneLine); // the old version and the recipients come from the bundle
  if (dryRun) {
    io.stdout(`${planLines.join('\n')}\n(dry run: nothing generated, nothing written)\n`);
    return EXIT.OK;
  }

  const after = await updateRecipients(before, {
    format,
    identities: opening.map((i) => i.line),
    recipients,
    rotateDataKey,
    path: plan.sourceRel,
    edit: (doc) => void doc.set('MCP_SECRETS_VERSION', versionAfter),
  });

  // 1. hand the new secret over before anything depends on it
  let storedWith = 'given recipient(s); no key generated here';
  let storedInVault = false;
  if (identity) {
    if (storeCmd !== null) {
      // the vault command needs none of the old keys: only the new one, on stdin
      const { SOPS_AGE_KEY: _oldKey, ...env } = io.env;
      const r = await execa('sh', ['-c', storeCmd], { input: `${identity}\n`, reject: false, timeout: 60_000, env: env as Record<string, string>, extendEnv: false });
      if (r.exitCode !== 0) {
        throw new AppError('E_WRITE', `--store-cmd failed with exit code ${r.exitCode ?? 'none (killed or timed out)'}; nothing was changed`, {
          hint: 'check the command (it gets the new secret key on stdin), then run rotate again',
        });
      }
      storedWith = 'stored in the vault by --store-cmd (the key went on its stdin)';
      storedInVault = true;
    } else {
      io.stdout(
        `NEW AGE SECRET KEY (shown once; store it in the team vault now, e.g. 1Password "MCP – SOPS Age key"):\n${identity}\npublic key: ${newRecipient}\n\n`,
      );
      storedWith = io.stdoutIsTTY ? 'printed once to the operator\'s terminal, for the team vault' : 'written once to stdout (--key-to-stdout), for the team vault';
    }
  }

  // 2. the bundle, then .sops.yaml
  await writeAtomically(plan.sourceAbs, after);
  const pinNote = rotateDataKey ? await acceptOwnDataKey(plan, after, format, [...opening.map((i) => i.line), ...(identity ? [identity] : [])]) : null;
  if (rewritten !== null) await writeAtomically(sopsConfigPath, rewritten.text);

  // 3. the evidence
  await mkdir(path.dirname(evidencePath), { recursive: true });
  await writeFile(
    evidencePath,
    evidenceMarkdown({
      ticket,
      date,
      bundleRel: plan.sourceRel,
      oldRecipients: metadata.ageRecipients,
      newRecipients: recipients,
      shaBefore: sha256Hex(before),
      shaAfter: sha256Hex(after),
      versionBefore: versionBefore === undefined ? null : oneLine(String(versionBefore)),
      versionAfter,
      dataKeyRotated: rotateDataKey,
      storedWith,
      keyGenerated: identity !== null,
      storedInVault,
      sopsConfigUpdated: rewritten !== null,
    }),
    { flag: 'wx' },
  );
  io.stdout(
    `${planLines.join('\n')}\n${pinNote ? `${pinNote}\n` : ''}done. next: open a PR with two reviews, have everyone run \`mcp-secrets identity import\` with the new key, update CI's SOPS_AGE_KEY, then revoke the old key in the vault.\n`,
  );
  return EXIT.OK;
}
