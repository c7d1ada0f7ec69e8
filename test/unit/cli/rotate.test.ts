/**
 * `runRotate(input, deps)` with fake collaborators: the order that never strands the team (key
 * handed over, then bundle, then .sops.yaml, then evidence), what a failure at each step leaves
 * behind, and the flag resolution. The identity errors come from the use-case layer: the last
 * tests open a real bundle through the real deps and check that they list every place tried.
 * The whole command on a real repo is test/e2e/rotate.test.ts.
 */
import test from 'ava';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { defaultRotateDeps, resolveRotateInput, runRotate, type RotateDeps, type RotateInput } from '../../../src/cli/rotate.js';
import type { CliIo, CommandInput } from '../../../src/cli/types.js';
import { AppError, isAppError } from '../../../src/errors.js';
import { noIdentityError } from '../../../src/identity/resolve.js';
import { planFor } from '../../../src/bundle/open.js';
import { fromPlain, encrypt, type TreeMap } from '../../../src/sops/index.js';

const OLD = 'age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq';
const TEAMMATE = 'age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj';
const NEW = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';
const NEW_KEY = 'AGE-SECRET-KEY-1NEWNEWNEWNEWNEWNEWNEWNEWNEWNEWNEWNEWNEWNEWNEWNEWNEWNEWNEWNEW';
const OLD_KEY = 'AGE-SECRET-KEY-1OLDOLDOLDOLDOLDOLDOLDOLDOLDOLDOLDOLDOLDOLDOLDOLDOLDOLDOLDOLD';
const SOPS_YAML = `creation_rules:\n  - path_regex: config/secrets\\.enc\\.yaml$\n    age: ${OLD},${TEAMMATE} # team\n`;
const NOW = new Date('2026-03-05T10:00:00Z');

const PLAN = planFor('/repo', 'config/secrets.enc.yaml', '/h/.mcp', 'auto');

function input(overrides: Partial<RotateInput> = {}): RotateInput {
  return { ticket: 'OPS-1', add: [], remove: [], rotateDataKey: false, dryRun: false, keyTo: { kind: 'terminal' }, json: false, plan: PLAN, ...overrides };
}

interface Harness {
  deps: RotateDeps;
  /** Every step with a side effect, in order. */
  log: string[];
  out: string[];
  files: Map<string, string>;
  rewraps: { identities: readonly string[]; recipients: readonly string[]; rotateDataKey: boolean; version: string }[];
}

function harness(change: Partial<RotateDeps> = {}, existing: Record<string, string> = { '/repo/.sops.yaml': SOPS_YAML }): Harness {
  const log: string[] = [];
  const out: string[] = [];
  const files = new Map(Object.entries(existing));
  const rewraps: Harness['rewraps'] = [];
  const deps: RotateDeps = {
    stdout: (text) => {
      out.push(text);
      log.push(text.includes(NEW_KEY) ? 'stdout:key' : 'stdout');
    },
    now: () => NOW,
    open: async () => ({
      bytes: Buffer.from('encrypted before'),
      document: fromPlain({ MCP_SECRETS_VERSION: '2026.03.4', OPENAI_API_KEY: 'sk-test' }) as TreeMap,
      bundleRecipients: [OLD, TEAMMATE],
      lookup: { identities: [{ line: OLD_KEY, recipient: OLD, source: 'env', origin: 'SOPS_AGE_KEY' }], attempts: [{ source: 'SOPS_AGE_KEY', outcome: '1 identity' }] },
    }),
    rewrap: async (_bundle, _before, options) => {
      rewraps.push(options);
      return Buffer.from('encrypted after');
    },
    dataKeyDigest: async () => 'digest-of-new-key',
    acceptDataKey: async (_home, bundlePath, digest) => void log.push(`accept:${bundlePath}:${digest}`),
    generateIdentity: async () => {
      log.push('generate');
      return { identity: NEW_KEY, recipient: NEW };
    },
    storeKey: async (command, identity) => {
      log.push(`store:${command}:${identity === NEW_KEY ? 'new key' : 'other'}`);
      return 0;
    },
    readSopsConfig: async (repo) => files.get(path.join(repo, '.sops.yaml')) ?? null,
    exists: async (file) => files.has(file),
    writeAtomically: async (file, bytes) => {
      log.push(`write:${path.relative('/repo', file)}`);
      files.set(file, Buffer.from(bytes).toString('utf8'));
    },
    writeEvidence: async (file, text) => {
      if (files.has(file)) throw new Error(`would overwrite ${file}`);
      log.push(`evidence:${path.relative('/repo', file)}`);
      files.set(file, text);
    },
    ...change,
  };
  return { deps, log, out, files, rewraps };
}

const writes = (h: Harness): string[] => h.log.filter((l) => l.startsWith('write:') || l.startsWith('evidence:'));

test('generates a key, shows it once, then writes the bundle, .sops.yaml and the evidence, in that order', async (t) => {
  const h = harness();
  t.is(await runRotate(input(), h.deps), 0);
  t.deepEqual(h.log, ['generate', 'stdout:key', 'write:config/secrets.enc.yaml', 'write:.sops.yaml', 'evidence:docs/evidence/OPS-1/rotation-2026-03-05.md', 'stdout']);
  // the key that opened the bundle is replaced by the new one; the teammate stays
  t.deepEqual(h.rewraps, [{ identities: [OLD_KEY], recipients: [TEAMMATE, NEW], rotateDataKey: false, version: '2026.03.5' }]);
  t.regex(h.files.get('/repo/.sops.yaml')!, new RegExp(`age: ${TEAMMATE},${NEW} # team`));
  const evidence = h.files.get('/repo/docs/evidence/OPS-1/rotation-2026-03-05.md')!;
  t.regex(evidence, /printed once to the operator's terminal/);
  t.false(evidence.includes(NEW_KEY) || evidence.includes(OLD_KEY), 'no secret key in the evidence');
  t.regex(h.out.at(-1)!, /MCP_SECRETS_VERSION: 2026\.03\.4 → 2026\.03\.5/);
  t.false(h.out.at(-1)!.includes(NEW_KEY), 'the key is shown once, not in the summary');
});

test('--key-to-stdout says so in the evidence', async (t) => {
  const h = harness();
  await runRotate(input({ keyTo: { kind: 'stdout' } }), h.deps);
  t.regex(h.files.get('/repo/docs/evidence/OPS-1/rotation-2026-03-05.md')!, /written once to stdout \(--key-to-stdout\)/);
});

test('--store-cmd hands the key to the vault command and never prints it', async (t) => {
  const h = harness();
  await runRotate(input({ keyTo: { kind: 'store-cmd', command: 'vault put' } }), h.deps);
  t.deepEqual(h.log.slice(0, 2), ['generate', 'store:vault put:new key']);
  t.false(h.out.join('').includes(NEW_KEY));
  t.regex(h.files.get('/repo/docs/evidence/OPS-1/rotation-2026-03-05.md')!, /stored in the team vault by `--store-cmd`/);
});

test('a failing --store-cmd is E_WRITE and nothing is written', async (t) => {
  for (const code of [7, null]) {
    const h = harness({ storeKey: async () => code });
    const error = await t.throwsAsync(runRotate(input({ keyTo: { kind: 'store-cmd', command: 'false' } }), h.deps));
    t.true(isAppError(error) && error.code === 'E_WRITE');
    t.regex(error!.message, code === null ? /none \(killed or timed out\)/ : /exit code 7; nothing was changed/);
    t.deepEqual(writes(h), []);
    t.false(h.out.join('').includes(NEW_KEY));
  }
});

test('--dry-run prints the plan and generates and writes nothing', async (t) => {
  const h = harness();
  t.is(await runRotate(input({ dryRun: true }), h.deps), 0);
  t.deepEqual(h.log, ['stdout']);
  t.deepEqual(h.rewraps, []);
  t.regex(h.out[0]!, /age1<new key, generated at run time>/);
  t.regex(h.out[0]!, /dry run: nothing generated, nothing written/);
});

test('--json prints the plan, and the outcome, as one JSON document without the new key', async (t) => {
  const dry = harness();
  t.is(await runRotate(input({ dryRun: true, json: true }), dry.deps), 0);
  const plan = JSON.parse(dry.out.join('')) as { dryRun: boolean; ticket: string; recipients: { before: string[]; after: string[] } };
  t.true(plan.dryRun);
  t.is(plan.ticket, 'OPS-1');
  t.deepEqual(plan.recipients.before, [OLD, TEAMMATE]);
  const done = harness();
  t.is(await runRotate(input({ json: true, keyTo: { kind: 'store-cmd', command: 'vault put' } }), done.deps), 0);
  const text = done.out.join('');
  const outcome = JSON.parse(text) as { dryRun: boolean; keyGenerated: boolean; recipients: { after: string[] } };
  t.false(outcome.dryRun);
  t.true(outcome.keyGenerated);
  t.true(outcome.recipients.after.includes(NEW));
  t.false(text.includes(NEW_KEY), 'the secret key is never in the document');
});

test('--json with a generated key and no --store-cmd is refused before anything is read: the key would have to go on stdout', async (t) => {
  const error = await t.throwsAsync(resolveRotateInput(values({ ticket: 'OPS-1', json: true }), io(true), noRepo));
  t.true(isAppError(error) && error.code === 'E_USAGE');
  t.regex(error!.message, /cannot go there; nothing was changed/);
  t.true((await resolveRotateInput(values({ ticket: 'OPS-1', json: true, 'dry-run': true }), io(true), theRepo)).json);
});

test('with --recipient: no key is generated, the recipients are added alongside the current ones', async (t) => {
  const h = harness();
  await runRotate(input({ add: [NEW], remove: [TEAMMATE] }), h.deps);
  t.false(h.log.includes('generate'));
  t.deepEqual(h.rewraps[0]!.recipients, [OLD, NEW]);
  t.regex(h.files.get('/repo/docs/evidence/OPS-1/rotation-2026-03-05.md')!, /no key was generated here/);
});

test('--rotate-data-key accepts the new data key here, opened with the old and the new key', async (t) => {
  let openedWith: readonly string[] = [];
  const h = harness({
    dataKeyDigest: async (_bundle, bytes, identities) => {
      openedWith = identities;
      t.is(Buffer.from(bytes).toString('utf8'), 'encrypted after', 'the bytes just written');
      return 'digest-of-new-key';
    },
  });
  await runRotate(input({ rotateDataKey: true }), h.deps);
  t.deepEqual(openedWith, [OLD_KEY, NEW_KEY]);
  t.true(h.log.includes(`accept:${PLAN.sourceAbs}:digest-of-new-key`));
  t.regex(h.out.at(-1)!, /data key pin: the new data key is accepted on this machine/);
});

test('a data key that cannot be accepted leaves the rotation done and says how to accept it later', async (t) => {
  const h = harness({
    acceptDataKey: async () => {
      throw new AppError('E_WRITE', 'cannot write trust.json');
    },
  });
  t.is(await runRotate(input({ rotateDataKey: true }), h.deps), 0);
  t.regex(h.out.at(-1)!, /data key pin: not recorded here \(E_WRITE\)/);
  t.true(h.log.some((l) => l.startsWith('evidence:')));
});

test('the layer\'s identity error stops everything before a key is generated', async (t) => {
  const mismatch = noIdentityError([{ source: 'SOPS_AGE_KEY', outcome: '1 identity' }], [OLD], [TEAMMATE], { bundle: PLAN.sourceRel });
  const h = harness({
    open: async () => {
      throw mismatch;
    },
  });
  t.is(await t.throwsAsync(runRotate(input(), h.deps)), mismatch);
  t.deepEqual(h.log, []);
});

test('a .sops.yaml without a rule for the bundle fails before the key is handed over; nothing is written', async (t) => {
  const h = harness({}, { '/repo/.sops.yaml': `creation_rules:\n  - path_regex: infra/.*\n    age: age1infraonly0000000000000000000000\n` });
  const error = await t.throwsAsync(runRotate(input({ keyTo: { kind: 'store-cmd', command: 'vault put' } }), h.deps));
  t.true(isAppError(error) && error.code === 'E_PARSE');
  t.false(h.log.some((l) => l.startsWith('store:')));
  t.deepEqual(writes(h), []);
});

test('without .sops.yaml only the bundle and the evidence are written', async (t) => {
  const h = harness({}, {});
  await runRotate(input(), h.deps);
  t.deepEqual(writes(h), ['write:config/secrets.enc.yaml', 'evidence:docs/evidence/OPS-1/rotation-2026-03-05.md']);
  t.regex(h.out.at(-1)!, /\.sops\.yaml: absent \(not written\)/);
});

test('a second rotation on the same day gets its own evidence file', async (t) => {
  const h = harness({}, { '/repo/.sops.yaml': SOPS_YAML, '/repo/docs/evidence/OPS-1/rotation-2026-03-05.md': 'earlier' });
  await runRotate(input(), h.deps);
  t.true(h.log.includes('evidence:docs/evidence/OPS-1/rotation-2026-03-05-2.md'));
  t.is(h.files.get('/repo/docs/evidence/OPS-1/rotation-2026-03-05.md'), 'earlier');
});

// ---- the CLI entry: flags → RotateInput

function io(tty: boolean): Pick<CliIo, 'env' | 'cwd' | 'stdoutIsTTY'> {
  return { env: {}, cwd: '/', stdoutIsTTY: tty };
}
const values = (v: CommandInput['values']): CommandInput => ({ values: { repo: '/repo', ...v }, positionals: [] });
const noRepo = async (): Promise<string> => {
  throw new Error('the repo is looked for only after the flags are valid');
};
const theRepo = async (): Promise<string> => '/repo';

test('flag errors are E_USAGE before the repo is looked for', async (t) => {
  const cases: [CommandInput['values'], RegExp][] = [
    [{}, /needs --ticket/],
    [{ ticket: '../etc' }, /needs --ticket/],
    [{ ticket: 'OPS-1', recipient: ['age1short'] }, /not an age recipient/],
    [{ ticket: 'OPS-1', remove: ['ssh-ed25519 AAAA'] }, /not an age recipient/],
    [{ ticket: 'OPS-1', 'store-cmd': 'x', 'key-to-stdout': true }, /exclude each other/],
    [{ ticket: 'OPS-1' }, /refusing to write the new secret key to stdout/],
  ];
  for (const [v, message] of cases) {
    const error = await t.throwsAsync(resolveRotateInput(values(v), io(false), noRepo));
    t.true(isAppError(error) && error.code === 'E_USAGE', String(error));
    t.regex(error!.message, message);
  }
});

test('where the key goes: the terminal, --key-to-stdout into a pipe, or --store-cmd', async (t) => {
  t.deepEqual((await resolveRotateInput(values({ ticket: 'OPS-1' }), io(true), theRepo)).keyTo, { kind: 'terminal' });
  t.deepEqual((await resolveRotateInput(values({ ticket: 'OPS-1', 'key-to-stdout': true }), io(false), theRepo)).keyTo, { kind: 'stdout' });
  t.deepEqual((await resolveRotateInput(values({ ticket: 'OPS-1', 'store-cmd': 'vault put' }), io(false), theRepo)).keyTo, { kind: 'store-cmd', command: 'vault put' });
  // nothing is generated in a dry run or with --recipient: a pipe is fine
  t.true((await resolveRotateInput(values({ ticket: 'OPS-1', 'dry-run': true }), io(false), theRepo)).dryRun);
  const given = await resolveRotateInput(values({ ticket: 'OPS-1', recipient: [NEW], 'rotate-data-key': true, source: 'x/b.enc.yaml' }), io(false), theRepo);
  t.deepEqual(given.add, [NEW]);
  t.true(given.rotateDataKey);
  t.is(given.plan.sourceAbs, '/repo/x/b.enc.yaml');
});

// ---- the real open, through the use-case layer

async function realBundle(t: { teardown(fn: () => Promise<void>): void }, recipient: string): Promise<{ dir: string; plan: typeof PLAN }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rotate-open-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(path.join(dir, 'secrets.enc.yaml'), await encrypt({ MCP_SECRETS_VERSION: '1', A: 'x' }, { format: 'yaml', recipients: [recipient] }));
  return { dir, plan: planFor(dir, 'secrets.enc.yaml', path.join(dir, 'home'), 'auto') };
}

test('the real open: identities that open nothing are E_IDENTITY_MISMATCH listing every place tried', async (t) => {
  const owner = await generateX25519Identity();
  const stranger = await generateX25519Identity();
  const { dir, plan } = await realBundle(t, await identityToRecipient(owner));
  const deps = defaultRotateDeps({ env: { SOPS_AGE_KEY: stranger, MCP_SECRETS_KEYCHAIN: 'none', XDG_CONFIG_HOME: dir, HOME: dir }, cwd: dir, stdout: () => {}, stderr: () => {}, stdin: process.stdin, stdoutIsTTY: false });
  const error = await t.throwsAsync(deps.open(plan));
  t.true(isAppError(error) && error.code === 'E_IDENTITY_MISMATCH', String(error));
  for (const place of ['SOPS_AGE_KEY', 'SOPS_AGE_KEY_FILE', path.join(dir, 'sops', 'age', 'keys.txt')]) t.true(error!.message.includes(place), place);
  t.false(error!.message.includes(stranger), 'no secret key in the message');
});

test('the real open: no identity anywhere is E_NO_IDENTITY listing every place tried; the right key opens it', async (t) => {
  const owner = await generateX25519Identity();
  const { dir, plan } = await realBundle(t, await identityToRecipient(owner));
  const env = { MCP_SECRETS_KEYCHAIN: 'none', XDG_CONFIG_HOME: dir, HOME: dir };
  const io = { cwd: dir, stdout: () => {}, stderr: () => {}, stdin: process.stdin, stdoutIsTTY: false };
  const error = await t.throwsAsync(defaultRotateDeps({ ...io, env }).open(plan));
  t.true(isAppError(error) && error.code === 'E_NO_IDENTITY', String(error));
  t.regex(error!.message, /tried:\n/);
  t.regex(error!.message, /SOPS_AGE_KEY/);

  const opened = await defaultRotateDeps({ ...io, env: { ...env, SOPS_AGE_KEY: owner } }).open(plan);
  t.is(opened.document.get('MCP_SECRETS_VERSION'), '1');
  t.deepEqual(opened.bundleRecipients, [await identityToRecipient(owner)]);
});
