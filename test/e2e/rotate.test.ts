/**
 * `mcp-secrets rotate` end to end: the built CLI on a real git repo, checked with our engine, the
 * `sops-age` oracle, the reference `age` binary and `mcp-secrets sync` itself.
 */
import test from 'ava';
import { access, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse, parseDocument } from 'yaml';
import { decryptSops } from 'sops-age';
import { inspect } from '../../src/sops/index.js';
import { execa } from 'execa';
import { CLI, runCli } from '../helpers/e2e.js';
import { git } from '../helpers/git.js';
import {
  BUNDLE_REL,
  PLAIN,
  SECRET_VALUES,
  ciphertexts,
  dataKeyWithAgeCli,
  decryptWith,
  filesContaining,
  newKey,
  secretKeyIn,
  teamRepo,
  type TeamRepo,
} from '../helpers/runbook.js';

const TICKET = 'TASK-OPS-301';

/** Runs rotate with stdout a pipe: `--key-to-stdout` is added unless the key goes to --store-cmd. */
function rotate(r: TeamRepo, args: string[] = [], extraEnv: Record<string, string> = {}) {
  const keyFlag = args.includes('--store-cmd') ? [] : ['--key-to-stdout'];
  return runCli(['rotate', '--ticket', TICKET, '--repo', r.repo, ...keyFlag, ...args], { env: r.env({ SOPS_AGE_KEY: r.keyA.line, ...extraEnv }), cwd: r.repo });
}

function sync(r: TeamRepo, keyLine: string) {
  return runCli(['sync', '--repo', r.repo, '--home', r.home], { env: r.env({ SOPS_AGE_KEY: keyLine }) });
}

async function evidenceFiles(r: TeamRepo): Promise<string[]> {
  try {
    return (await readdir(path.join(r.repo, 'docs', 'evidence', TICKET))).map((f) => path.join(r.repo, 'docs', 'evidence', TICKET, f));
  } catch {
    return [];
  }
}

function recipientsOf(text: string): string[] {
  return inspect(text, { format: 'yaml' }).ageRecipients;
}

test.serial('rotates to a new key: the old key is locked out, the printed key opens the bundle, values kept, version bumped', async (t) => {
  const r = await teamRepo(t);
  const configBefore = await readFile(path.join(r.repo, '.sops.yaml'), 'utf8');
  const result = await rotate(r);
  t.is(result.code, 0, result.stderr);

  const newLine = secretKeyIn(result.stdout);
  t.truthy(newLine, 'the new secret key is printed once');
  t.is(result.stdout.split(newLine!).length, 2, 'printed exactly once');
  const newKeyRecipient = /public key: (age1[0-9a-z]+)/.exec(result.stdout)?.[1];
  t.truthy(newKeyRecipient);
  t.false(`${result.stdout}${result.stderr}`.includes(r.keyA.line), 'the old key is never printed');
  t.deepEqual(recipientsOf(await readFile(r.bundle, 'utf8')), [newKeyRecipient]);

  // the old identity is locked out; the new one opens it
  const old = await sync(r, r.keyA.line);
  t.is(old.code, 2);
  t.regex(old.stderr, /E_IDENTITY_MISMATCH/);
  const fresh = await sync(r, newLine!);
  t.is(fresh.code, 0, fresh.stderr);
  t.regex(await readFile(path.join(r.home, '.env'), 'utf8'), new RegExp(`OPENAI_API_KEY=.*${PLAIN.openai.api_key}`));

  // every value unchanged except the version, which is bumped
  const after = await decryptWith(r.bundle, newLine!);
  const { MCP_SECRETS_VERSION: version, ...rest } = after;
  const { MCP_SECRETS_VERSION: versionBefore, ...restBefore } = PLAIN;
  t.deepEqual(rest, restBefore);
  t.not(version, versionBefore);
  t.regex(String(version), /^\d{4}\.\d{2}\.\d+$/);

  // the sops-age oracle agrees
  const oracle = (await decryptSops(await readFile(r.bundle, 'utf8'), { secretKey: newLine!, fileType: 'yaml' })) as Record<string, unknown>;
  t.deepEqual(oracle, after);

  // .sops.yaml: still parses, the other rule and every comment kept, the bundle rule lists the new key
  const configText = await readFile(path.join(r.repo, '.sops.yaml'), 'utf8');
  t.is(parseDocument(configText).errors.length, 0);
  const rules = (parse(configText) as { creation_rules: { path_regex: string; age: string }[] }).creation_rules;
  t.is(rules.length, 2);
  t.is(rules[0]!.age, newKeyRecipient!);
  t.is(rules[1]!.age, r.other.recipient);
  for (const comment of configBefore.split('\n').filter((l) => l.trim().startsWith('#'))) t.true(configText.includes(comment), `comment kept: ${comment}`);
  t.regex(configText, /age: age1[0-9a-z]+ # current team key\n/, 'the trailing comment on the age line is kept');
  t.false(configText.includes(r.keyA.recipient));

  // the evidence names the ticket and both recipients, and holds no secret
  const [evidence, ...more] = await evidenceFiles(r);
  t.deepEqual(more, []);
  t.regex(path.basename(evidence!), /^rotation-\d{4}-\d{2}-\d{2}\.md$/);
  const text = await readFile(evidence!, 'utf8');
  t.true(text.includes(TICKET) && text.includes(r.keyA.recipient) && text.includes(newKeyRecipient!));
  t.deepEqual(await filesContaining(r.repo, [r.keyA.line, newLine!, ...SECRET_VALUES], (p) => p.includes(`${path.sep}.git${path.sep}`)), []);
});

test.serial('keeps the data key by default and replaces it with --rotate-data-key; every ciphertext changes either way', async (t) => {
  for (const rotateDataKey of [false, true]) {
    const r = await teamRepo(t);
    const before = await readFile(r.bundle, 'utf8');
    const keyBefore = await dataKeyWithAgeCli(r.dir, r.bundle, r.keyA.line);
    const result = await rotate(r, rotateDataKey ? ['--rotate-data-key'] : []);
    t.is(result.code, 0, result.stderr);
    const newLine = secretKeyIn(result.stdout)!;
    const after = await readFile(r.bundle, 'utf8');
    const keyAfter = await dataKeyWithAgeCli(r.dir, r.bundle, newLine);
    t.is(keyBefore.equals(keyAfter), !rotateDataKey, rotateDataKey ? 'a new data key' : 'the same data key, re-wrapped');
    const [oldCiphertexts, newCiphertexts] = [ciphertexts(before), ciphertexts(after)];
    t.is(newCiphertexts.length, oldCiphertexts.length);
    t.deepEqual(newCiphertexts.filter((c) => oldCiphertexts.includes(c)), []);
    const { MCP_SECRETS_VERSION: _v, ...values } = await decryptWith(r.bundle, newLine);
    const { MCP_SECRETS_VERSION: _w, ...expected } = PLAIN;
    t.deepEqual(values, expected);
  }
});

test.serial('with --recipient, adds that recipient alongside the current ones and generates nothing secret', async (t) => {
  const r = await teamRepo(t);
  const given = await newKey();
  const result = await rotate(r, ['--recipient', given.recipient]);
  t.is(result.code, 0, result.stderr);
  t.is(secretKeyIn(`${result.stdout}${result.stderr}`), null, 'no secret key printed');
  t.false(result.stdout.includes('NEW AGE SECRET KEY'));
  t.deepEqual(recipientsOf(await readFile(r.bundle, 'utf8')), [r.keyA.recipient, given.recipient]);
  // both A and the given key open it
  t.is((await sync(r, r.keyA.line)).code, 0);
  t.is((await sync(r, given.line)).code, 0);
  const rules = (parse(await readFile(path.join(r.repo, '.sops.yaml'), 'utf8')) as { creation_rules: { age: string }[] }).creation_rules;
  t.is(rules[0]!.age, `${r.keyA.recipient},${given.recipient}`);
  const evidence = await readFile((await evidenceFiles(r))[0]!, 'utf8');
  t.true(evidence.includes('no key generated here'));
});

test.serial('with --remove, drops a recipient (the other holder is locked out)', async (t) => {
  const r = await teamRepo(t);
  const b = await newKey();
  t.is((await rotate(r, ['--recipient', b.recipient])).code, 0);
  await git(r.repo, ['add', '-A']);
  await git(r.repo, ['commit', '-q', '-m', 'add B']);
  const result = await runCli(['rotate', '--ticket', TICKET, '--repo', r.repo, '--recipient', r.keyA.recipient, '--remove', b.recipient], {
    env: r.env({ SOPS_AGE_KEY: r.keyA.line }),
  });
  t.is(result.code, 0, result.stderr);
  t.deepEqual(recipientsOf(await readFile(r.bundle, 'utf8')), [r.keyA.recipient]);
  t.regex((await sync(r, b.line)).stderr, /E_IDENTITY_MISMATCH/);
  t.is((await sync(r, r.keyA.line)).code, 0);
  t.is((await evidenceFiles(r)).length, 2, 'a second rotation the same day gets its own evidence file');
});

test.serial('with --store-cmd, the new key goes to the command on stdin only: not on stdout, not in its argv', async (t) => {
  const r = await teamRepo(t);
  const vault = path.join(r.dir, 'vault.txt');
  const argvLog = path.join(r.dir, 'argv.txt');
  const envLog = path.join(r.dir, 'env.txt');
  // the command records its own argv and environment, then stores stdin
  const storeCmd = `cat /proc/$$/cmdline > '${argvLog}'; env > '${envLog}'; cat > '${vault}'`;
  const result = await rotate(r, ['--store-cmd', storeCmd]);
  t.is(result.code, 0, result.stderr);
  const stored = (await readFile(vault, 'utf8')).trim();
  t.regex(stored, /^AGE-SECRET-KEY-1[0-9A-Z]+$/);
  t.is(secretKeyIn(`${result.stdout}${result.stderr}`), null, 'no secret key on stdout or stderr');
  t.false((await readFile(argvLog, 'latin1')).includes(stored), 'not in the argv');
  t.false((await readFile(envLog, 'utf8')).includes('AGE-SECRET-KEY-1'), 'neither the new nor the old key in its environment');
  t.is((await sync(r, stored)).code, 0, 'the stored key opens the rotated bundle');
  t.true((await readFile((await evidenceFiles(r))[0]!, 'utf8')).includes('--store-cmd'));
});

test.serial('a failing --store-cmd changes nothing', async (t) => {
  const r = await teamRepo(t);
  const [bundle, config] = await Promise.all([readFile(r.bundle), readFile(path.join(r.repo, '.sops.yaml'))]);
  const result = await rotate(r, ['--store-cmd', 'cat >/dev/null; exit 7']);
  t.is(result.code, 2);
  t.regex(result.stderr, /E_WRITE: --store-cmd failed with exit code 7; nothing was changed/);
  t.is(secretKeyIn(`${result.stdout}${result.stderr}`), null);
  t.deepEqual(await readFile(r.bundle), bundle);
  t.deepEqual(await readFile(path.join(r.repo, '.sops.yaml')), config);
  t.deepEqual(await evidenceFiles(r), []);
  t.is(await git(r.repo, ['status', '--porcelain']), '');
});

test.serial('--dry-run prints the plan and writes nothing', async (t) => {
  const r = await teamRepo(t);
  const result = await rotate(r, ['--dry-run']);
  t.is(result.code, 0, result.stderr);
  t.true(result.stdout.includes(`rotate ${BUNDLE_REL} for ${TICKET}:`));
  t.true(result.stdout.includes(r.keyA.recipient));
  t.regex(result.stdout, /MCP_SECRETS_VERSION: 2026\.01\.4 → \d{4}\.\d{2}\.\d+/);
  t.regex(result.stdout, /dry run: nothing generated, nothing written/);
  t.is(secretKeyIn(result.stdout), null);
  t.is(await git(r.repo, ['status', '--porcelain']), '');
});

test.serial('refuses to rotate a bundle the given identity cannot open, and without a ticket', async (t) => {
  const r = await teamRepo(t);
  const stranger = await newKey();
  const mismatch = await rotate(r, [], { SOPS_AGE_KEY: stranger.line });
  t.is(mismatch.code, 2);
  t.regex(mismatch.stderr, /E_IDENTITY_MISMATCH/);
  const noTicket = await runCli(['rotate', '--repo', r.repo], { env: r.env({ SOPS_AGE_KEY: r.keyA.line }) });
  t.is(noTicket.code, 64);
  t.is(await git(r.repo, ['status', '--porcelain']), '');
});

test.serial('a .sops.yaml without a rule for the bundle stops the rotation before any key is made', async (t) => {
  const r = await teamRepo(t);
  await writeFile(path.join(r.repo, '.sops.yaml'), `creation_rules:\n  - path_regex: infra/.*\n    age: ${r.other.recipient}\n`);
  await git(r.repo, ['commit', '-qam', 'unrelated rules only']);
  const bundle = await readFile(r.bundle);
  const result = await rotate(r);
  t.is(result.code, 2);
  t.regex(result.stderr, /E_PARSE: \.sops\.yaml has no creation rule/);
  t.is(secretKeyIn(result.stdout), null, 'no key was generated and handed out');
  t.deepEqual(await readFile(r.bundle), bundle);
  await t.throwsAsync(access(path.join(r.repo, 'docs')));
});

test.serial('without --key-to-stdout, a rotation whose stdout is a pipe or a file is refused before anything changes', async (t) => {
  const r = await teamRepo(t);
  const bundle = await readFile(r.bundle);
  const env = r.env({ SOPS_AGE_KEY: r.keyA.line });
  const piped = await runCli(['rotate', '--ticket', TICKET, '--repo', r.repo], { env, cwd: r.repo });
  t.is(piped.code, 64, piped.stderr);
  t.regex(piped.stderr, /E_USAGE: rotate: refusing to write the new secret key to stdout, which is not a terminal/);
  t.regex(piped.stderr, /--store-cmd/);
  t.regex(piped.stderr, /--key-to-stdout/);
  t.is(secretKeyIn(`${piped.stdout}${piped.stderr}`), null);
  // the reproduction from the issue: `rotate --ticket T > rot.out`
  const out = path.join(r.dir, 'rot.out');
  const toFile = await execa(process.execPath, [CLI, 'rotate', '--ticket', TICKET, '--repo', r.repo], { env, extendEnv: false, cwd: r.repo, reject: false, stdout: { file: out } });
  t.is(toFile.exitCode, 64);
  t.is(secretKeyIn(await readFile(out, 'utf8')), null, 'no key in the file');
  t.deepEqual(await readFile(r.bundle), bundle);
  t.deepEqual(await evidenceFiles(r), []);
  t.is(await git(r.repo, ['status', '--porcelain']), '');
  // --store-cmd and --key-to-stdout together make no sense
  const both = await runCli(['rotate', '--ticket', TICKET, '--repo', r.repo, '--key-to-stdout', '--store-cmd', 'cat >/dev/null'], { env, cwd: r.repo });
  t.is(both.code, 64);
  t.deepEqual(await readFile(r.bundle), bundle);
});

test.serial('in a terminal, rotate shows the new key without a flag; the evidence leaves "stored in the team vault" unticked', async (t) => {
  const r = await teamRepo(t);
  const env = r.env({ SOPS_AGE_KEY: r.keyA.line });
  // `script` gives the CLI a pseudo-terminal as stdout; its transcript is what the operator saw
  const command = [process.execPath, CLI, 'rotate', '--ticket', TICKET, '--repo', r.repo].map((a) => `'${a}'`).join(' ');
  const result = await execa('script', ['-qec', command, '/dev/null'], { env, extendEnv: false, cwd: r.repo, reject: false, timeout: 60_000 });
  t.is(result.exitCode, 0, result.stdout);
  const newLine = secretKeyIn(result.stdout);
  t.truthy(newLine, 'the key was shown on the terminal');
  t.is((await sync(r, newLine!)).code, 0, 'and it opens the rotated bundle');
  const evidence = await readFile((await evidenceFiles(r))[0]!, 'utf8');
  t.false(/\[x\][^\n]*stored in the team vault/.test(evidence), evidence);
  t.true(evidence.includes('- [ ] New age key stored in the team vault'));
});

test.serial('the evidence ticks "stored in the team vault" when --store-cmd stored the key', async (t) => {
  const r = await teamRepo(t);
  const result = await rotate(r, ['--store-cmd', 'cat >/dev/null']);
  t.is(result.code, 0, result.stderr);
  const evidence = await readFile((await evidenceFiles(r))[0]!, 'utf8');
  t.regex(evidence, /- \[x\] New age key generated and stored in the team vault by `--store-cmd`/);
});
