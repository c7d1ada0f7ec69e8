/**
 * `mcp-secrets rotate --ticket ID`: the runbook's "bootstrapping e rotação" as one command.
 *
 * Order is chosen so a failure never strands the team: the new secret key is handed over first
 * (printed once, or piped to --store-cmd on stdin); only when that succeeded are the bundle and
 * `.sops.yaml` rewritten (each by temp file + rename), then the evidence file is written.
 * Nothing secret is ever written into the repo.
 *
 * The bundle is opened by the use-case layer (`decryptDocument`: identities, engine, MAC, and one
 * no-identity error listing every place tried); re-wrapping it is rotation's own use case
 * (`rotate/rewrap.ts`), the pure parts are in `rotate/plan.ts`.
 */
import { execa } from 'execa';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { access, writeFile, rename, mkdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { AppError, EXIT, isAppError } from '../errors.js';
import { oneLine } from '../escape.js';
import { resolveCommonOptions } from '../config/options.js';
import { resolveRepo } from '../config/repo.js';
import { acceptDataKey } from '../trust/data-keys.js';
import { identityLookup } from '../identity/lookup.js';
import { readSopsConfigText } from '../identity/recipients.js';
import { decryptDocument, planFor, readBundle, sha256Hex, type IdentityLookup, type SyncPlan } from '../bundle/open.js';
import type { TreeMap } from '../bundle/document.js';
import { evidenceMarkdown, nextRecipients, nextVersion, rewriteSopsConfig } from '../rotate/plan.js';
import { dataKeyDigestOf, rewrapBundle, type RewrapOptions, type RotatedBundle } from '../rotate/rewrap.js';
import { jsonDocument } from './report.js';
import type { Command, CliIo, CommandInput } from './types.js';

const command: Command = { run: async (input, io) => runRotate(await resolveRotateInput(input, io), defaultRotateDeps(io)) };
export default command;

const TICKET = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const RECIPIENT = /^age1[0-9a-z]{20,}$/;

/** Where a generated secret key goes: the vault command's stdin, the operator's terminal, or stdout as asked. */
export type KeyDestination = { readonly kind: 'store-cmd'; readonly command: string } | { readonly kind: 'terminal' } | { readonly kind: 'stdout' };

/** What `rotate` does, resolved from its flags. */
export interface RotateInput {
  readonly ticket: string;
  /** `--recipient`: added; none means a key is generated to replace the one(s) that open the bundle. */
  readonly add: readonly string[];
  /** `--remove`. */
  readonly remove: readonly string[];
  readonly rotateDataKey: boolean;
  readonly dryRun: boolean;
  readonly keyTo: KeyDestination;
  /** `--json`: the plan (and the outcome) as one JSON document; the new key never goes into it. */
  readonly json: boolean;
  /** The repo, the bundle and home (for the data-key pin). */
  readonly plan: SyncPlan;
}

/** The bundle as opened for rotation, through the use-case layer. */
export interface RotationSource {
  /** The encrypted bytes, as read. */
  readonly bytes: Buffer;
  readonly document: TreeMap;
  readonly bundleRecipients: readonly string[];
  readonly lookup: IdentityLookup;
}

/** What `rotate` needs from the outside; tests pass fakes. */
export interface RotateDeps {
  stdout(text: string): void;
  now(): Date;
  /** Reads and opens the bundle (the layer's open: every identity error lists the places tried). */
  open(plan: SyncPlan): Promise<RotationSource>;
  rewrap(bundle: RotatedBundle, before: Uint8Array, options: RewrapOptions): Promise<Uint8Array>;
  /** The digest of the data key of `bytes`, as opened with `identities`. */
  dataKeyDigest(bundle: RotatedBundle, bytes: Uint8Array, identities: readonly string[]): Promise<string>;
  acceptDataKey(home: string, bundlePath: string, digest: string): Promise<void>;
  generateIdentity(): Promise<{ identity: string; recipient: string }>;
  /** Runs the vault command with `identity` on its stdin; its exit code (null: killed or timed out). */
  storeKey(command: string, identity: string): Promise<number | null>;
  /** The repo's `.sops.yaml`, or null when there is none; a refused file (FIFO, too big) throws. */
  readSopsConfig(repo: string): Promise<string | null>;
  exists(file: string): Promise<boolean>;
  /** Temp file + rename beside `file`. */
  writeAtomically(file: string, bytes: Uint8Array | string): Promise<void>;
  /** Creates `file` (and its directory); never overwrites. */
  writeEvidence(file: string, text: string): Promise<void>;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
}

/**
 * The flags of `rotate` resolved, before anything is read or written. Where the new secret key
 * goes is decided here: a terminal, `--store-cmd`, or a file or pipe only when `--key-to-stdout`
 * says so.
 *
 * @param findRepo how the repo is found (default: {@link resolveRepo}).
 * @throws AppError `E_USAGE` for a bad ticket, recipient or flag combination; `E_NO_REPO`.
 */
export async function resolveRotateInput(input: CommandInput, io: Pick<CliIo, 'env' | 'cwd' | 'stdoutIsTTY'>, findRepo: typeof resolveRepo = resolveRepo): Promise<RotateInput> {
  const options = resolveCommonOptions(input.values, io.env, io.cwd);
  const ticket = input.values.ticket;
  if (typeof ticket !== 'string' || !TICKET.test(ticket)) {
    throw new AppError('E_USAGE', 'rotate needs --ticket ID (letters, digits, ".", "_", "-")', { hint: 'e.g. mcp-secrets rotate --ticket TASK-OPS-301' });
  }
  const add = strings(input.values.recipient);
  const remove = strings(input.values.remove);
  for (const r of [...add, ...remove]) {
    if (!RECIPIENT.test(r)) throw new AppError('E_USAGE', `not an age recipient: "${r.slice(0, 20)}…"`, { hint: 'recipients look like age1… (the public key)' });
  }
  const dryRun = input.values['dry-run'] === true;
  const storeCmd = typeof input.values['store-cmd'] === 'string' && input.values['store-cmd'].length > 0 ? input.values['store-cmd'] : null;
  const keyToStdout = input.values['key-to-stdout'] === true;
  if (storeCmd !== null && keyToStdout) {
    throw new AppError('E_USAGE', 'rotate: --store-cmd and --key-to-stdout exclude each other', { hint: 'the new key goes to one place: the vault command, or stdout' });
  }
  if (add.length === 0 && !dryRun && storeCmd === null && !keyToStdout && !io.stdoutIsTTY) {
    throw new AppError('E_USAGE', 'rotate: refusing to write the new secret key to stdout, which is not a terminal (a file or a pipe would keep it); nothing was changed', {
      hint: 'run it in a terminal, hand the key to your vault with --store-cmd "CMD" (the key goes on its stdin), or add --key-to-stdout if the file or pipe is meant to receive it',
    });
  }
  if (options.json && add.length === 0 && !dryRun && storeCmd === null) {
    throw new AppError('E_USAGE', 'rotate --json prints one JSON document on stdout, so the new secret key cannot go there; nothing was changed', {
      hint: 'hand the key to your vault with --store-cmd "CMD", or use --json with --dry-run or --recipient',
    });
  }
  const keyTo: KeyDestination = storeCmd !== null ? { kind: 'store-cmd', command: storeCmd } : io.stdoutIsTTY ? { kind: 'terminal' } : { kind: 'stdout' };
  const repo = await findRepo({ repoFlag: options.repoFlag, cwd: io.cwd });
  return { ticket, add, remove, rotateDataKey: input.values['rotate-data-key'] === true, dryRun, keyTo, json: options.json, plan: planFor(repo, options.source, options.home, options.engine) };
}

/** `rotation-<date>.md`, or `rotation-<date>-2.md`… when a rotation already ran that day: evidence is never overwritten. */
async function unusedEvidencePath(deps: RotateDeps, dir: string, date: string): Promise<string> {
  for (let n = 1; ; n++) {
    const candidate = path.join(dir, `rotation-${date}${n === 1 ? '' : `-${n}`}.md`);
    if (!(await deps.exists(candidate))) return candidate;
  }
}

/**
 * `--rotate-data-key` makes a new data key: the bundle this machine just wrote is the team's, so
 * its key is accepted here (DESIGN.md "Trust in the bundle"). Teammates accept it on their side.
 * A failure here leaves the rotation done; the next sync then asks for the acceptance instead.
 */
async function acceptOwnDataKey(deps: RotateDeps, plan: SyncPlan, bytes: Uint8Array, identities: readonly string[]): Promise<string> {
  try {
    await deps.acceptDataKey(plan.home, plan.sourceAbs, await deps.dataKeyDigest(plan, bytes, identities));
    return `  data key pin: the new data key is accepted on this machine (${path.join(plan.home, 'trust.json')}); teammates accept it with \`mcp-secrets sync --accept-data-key\` or \`mcp-secrets status --ack\``;
  } catch (error) {
    return `  data key pin: not recorded here (${isAppError(error) ? error.code : 'error'}); accept it with \`mcp-secrets sync --accept-data-key\``;
  }
}

/**
 * Hands the generated key over (1. in the module comment). Returns how, for the evidence.
 * @throws AppError `E_WRITE` when the vault command fails: nothing was changed yet.
 */
async function handOver(deps: RotateDeps, keyTo: KeyDestination, key: { identity: string; recipient: string }): Promise<{ storedWith: string; storedInVault: boolean }> {
  if (keyTo.kind === 'store-cmd') {
    const code = await deps.storeKey(keyTo.command, key.identity);
    if (code !== 0) {
      throw new AppError('E_WRITE', `--store-cmd failed with exit code ${code ?? 'none (killed or timed out)'}; nothing was changed`, {
        hint: 'check the command (it gets the new secret key on stdin), then run rotate again',
      });
    }
    return { storedWith: 'stored in the vault by --store-cmd (the key went on its stdin)', storedInVault: true };
  }
  deps.stdout(`NEW AGE SECRET KEY (shown once; store it in the team vault now, e.g. 1Password "MCP – SOPS Age key"):\n${key.identity}\npublic key: ${key.recipient}\n\n`);
  return {
    storedWith: keyTo.kind === 'terminal' ? "printed once to the operator's terminal, for the team vault" : 'written once to stdout (--key-to-stdout), for the team vault',
    storedInVault: false,
  };
}

/** Rotates the bundle of `input.plan`, or prints the plan with `dryRun`. */
export async function runRotate(input: RotateInput, deps: RotateDeps): Promise<number> {
  const { plan, ticket, rotateDataKey, dryRun } = input;
  const repo = plan.repo;
  const { bytes: before, document, bundleRecipients, lookup } = await deps.open(plan);
  // the identities that open it now: rotation re-wraps the data key with them
  const opening = lookup.identities.filter((i) => bundleRecipients.includes(i.recipient));
  const versionBefore = document.get('MCP_SECRETS_VERSION');
  const now = deps.now();
  const versionAfter = nextVersion(typeof versionBefore === 'string' || typeof versionBefore === 'number' ? String(versionBefore) : null, now);

  // a generated key replaces the key(s) that opened the bundle; given recipients are added alongside
  const generate = input.add.length === 0;
  const key = generate && !dryRun ? await deps.generateIdentity() : null;
  const add = generate ? [key ? key.recipient : 'age1<new key, generated at run time>'] : input.add;
  const recipients = nextRecipients(bundleRecipients, { replace: generate ? opening.map((i) => i.recipient) : [], remove: input.remove, add });

  const sopsConfigPath = path.join(repo, '.sops.yaml');
  const sopsConfig = await deps.readSopsConfig(repo);
  const date = now.toISOString().slice(0, 10);
  const evidencePath = await unusedEvidencePath(deps, path.join(repo, 'docs', 'evidence', ticket), date);

  // Everything that can fail on the repo's content is computed before the key is handed over,
  // so a bad .sops.yaml never leaves an operator holding a key nothing uses.
  const rewritten = sopsConfig === null ? null : rewriteSopsConfig(sopsConfig, plan.sourceRel, bundleRecipients, recipients);

  const planLines = [
    `rotate ${plan.sourceRel} for ${ticket}:`,
    `  recipients: ${bundleRecipients.join(', ')}`,
    `          →  ${recipients.join(', ')}`,
    `  data key: ${rotateDataKey ? 'new (every value re-encrypted)' : 'kept, re-wrapped for the new recipients (after a leak, use --rotate-data-key)'}`,
    `  MCP_SECRETS_VERSION: ${versionBefore === undefined ? '(none)' : String(versionBefore)} → ${versionAfter}`,
    `  .sops.yaml: ${rewritten === null ? 'absent (not written)' : `age recipients updated in ${rewritten.changedRules} rule(s), other rules and comments kept`}`,
    `  evidence: ${path.relative(repo, evidencePath)}`,
  ].map(oneLine); // the old version and the recipients come from the bundle
  const planJson = {
    ticket,
    bundle: plan.sourceRel,
    recipients: { before: bundleRecipients, after: recipients },
    dataKey: rotateDataKey ? 'new' : 'kept',
    version: { before: versionBefore === undefined ? null : String(versionBefore), after: versionAfter },
    sopsConfig: rewritten === null ? null : { changedRules: rewritten.changedRules },
    evidence: path.relative(repo, evidencePath),
  };
  if (dryRun && input.json) {
    deps.stdout(jsonDocument({ ok: true, dryRun: true, ...planJson }));
    return EXIT.OK;
  }
  if (dryRun) {
    deps.stdout(`${planLines.join('\n')}\n(dry run: nothing generated, nothing written)\n`);
    return EXIT.OK;
  }

  const identities = opening.map((i) => i.line);
  const after = await deps.rewrap(plan, before, { identities, recipients, rotateDataKey, version: versionAfter });

  // 1. hand the new secret over before anything depends on it
  const handed = key ? await handOver(deps, input.keyTo, key) : { storedWith: 'given recipient(s); no key generated here', storedInVault: false };

  // 2. the bundle, then .sops.yaml
  await deps.writeAtomically(plan.sourceAbs, after);
  const pinNote = rotateDataKey ? await acceptOwnDataKey(deps, plan, after, [...identities, ...(key ? [key.identity] : [])]) : null;
  if (rewritten !== null) await deps.writeAtomically(sopsConfigPath, rewritten.text);

  // 3. the evidence
  await deps.writeEvidence(
    evidencePath,
    evidenceMarkdown({
      ticket,
      date,
      bundleRel: plan.sourceRel,
      oldRecipients: bundleRecipients,
      newRecipients: recipients,
      shaBefore: sha256Hex(before),
      shaAfter: sha256Hex(after),
      versionBefore: versionBefore === undefined ? null : oneLine(String(versionBefore)),
      versionAfter,
      dataKeyRotated: rotateDataKey,
      storedWith: handed.storedWith,
      keyGenerated: key !== null,
      storedInVault: handed.storedInVault,
      sopsConfigUpdated: rewritten !== null,
    }),
  );
  if (input.json) {
    deps.stdout(jsonDocument({ ok: true, dryRun: false, ...planJson, keyGenerated: key !== null, storedWith: handed.storedWith, dataKeyPin: pinNote?.trim() ?? null }));
    return EXIT.OK;
  }
  deps.stdout(
    `${planLines.join('\n')}\n${pinNote ? `${pinNote}\n` : ''}done. next: open a PR with two reviews, have everyone run \`mcp-secrets identity import\` with the new key, update CI's SOPS_AGE_KEY, then revoke the old key in the vault.\n`,
  );
  return EXIT.OK;
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

/** The real collaborators: the identity sources, the engine through the layer, the repo on disk, a shell for --store-cmd. */
export function defaultRotateDeps(io: CliIo): RotateDeps {
  const identities = identityLookup({ env: io.env, cache: false, onNotice: () => {} });
  return {
    stdout: (text) => io.stdout(text),
    now: () => new Date(),
    open: async (plan) => {
      const bytes = await readBundle(plan);
      // rotation re-wraps the data key in process, so the native engine opens it whatever --engine says
      const opened = await decryptDocument({ ...plan, engine: 'native' }, bytes, { identities, env: io.env });
      opened.dataKey?.fill(0);
      return { bytes, document: opened.document, bundleRecipients: opened.metadata.ageRecipients, lookup: opened.lookup };
    },
    rewrap: rewrapBundle,
    dataKeyDigest: dataKeyDigestOf,
    acceptDataKey,
    generateIdentity: async () => {
      const identity = await generateX25519Identity();
      return { identity, recipient: await identityToRecipient(identity) };
    },
    storeKey: async (cmd, identity) => {
      // the vault command needs none of the old keys: only the new one, on stdin
      const { SOPS_AGE_KEY: _oldKey, ...env } = io.env;
      const r = await execa('sh', ['-c', cmd], { input: `${identity}\n`, reject: false, timeout: 60_000, env: env as Record<string, string>, extendEnv: false });
      return r.exitCode ?? null;
    },
    readSopsConfig: async (repo) => {
      try {
        return await readSopsConfigText(repo);
      } catch (error) {
        // no .sops.yaml is fine (nothing to rewrite); one that is refused (a FIFO, a device, too big) is not
        if (isAppError(error)) throw error;
        return null;
      }
    },
    exists: (file) => access(file).then(
      () => true,
      () => false,
    ),
    writeAtomically,
    writeEvidence: async (file, text) => {
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, text, { flag: 'wx' });
    },
  };
}
