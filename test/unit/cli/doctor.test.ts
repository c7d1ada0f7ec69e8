/**
 * `runDoctor(input, deps)` with fake collaborators: every check's branches, the exit code, the
 * JSON and human output, and that the bundle is opened through the use-case layer with the
 * engine asked for and reported in the layer's own words. The real machine set-up is
 * test/e2e/doctor.test.ts.
 */
import test from 'ava';
import path from 'node:path';
import { runDoctor, doctorChecks, resolveDoctorInput, type Check, type DoctorDeps, type DoctorInput, type FileInfo } from '../../../src/cli/doctor.js';
import { AppError } from '../../../src/errors.js';
import { noIdentityError } from '../../../src/identity/resolve.js';
import { MemoryKeychain } from '../../../src/identity/keychain/memory.js';
import type { OpenedBundle, SyncPlan } from '../../../src/bundle/open.js';
import type { StatusDocument } from '../../../src/ipc/status.js';
import { DEFAULT_OUTPUTS } from '../../../src/config/repo-config.js';

const R1 = 'age1qyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqszqgpqyqs3290gq';
const R2 = 'age1zvkyg2lqzraa2lnjvqej32nkuu0ues2s82hzrye869xeexvn73equnujwj';
const UID = 1000;
const HOME = '/h/.mcp';

const INPUT: DoctorInput = { repo: '/repo', source: 'config/secrets.enc.yaml', home: HOME, socket: '/run/u/mcp/sock', engine: 'auto', json: true };

function opened(overrides: Partial<OpenedBundle> = {}): OpenedBundle {
  return {
    metadata: { ageRecipients: [R1], otherKeyTypes: [] } as unknown as OpenedBundle['metadata'],
    lookup: { identities: [{ line: 'AGE-SECRET-KEY-1FAKE', recipient: R1, source: 'env', origin: 'SOPS_AGE_KEY' }], attempts: [{ source: 'SOPS_AGE_KEY', outcome: '1 identity' }] },
    entries: [],
    pin: { digest: 'd', verdict: 'known' },
    ...overrides,
  };
}

interface Harness {
  deps: DoctorDeps;
  out: string[];
  opens: SyncPlan[];
}

/** A healthy machine; `change` breaks one part of it. */
function harness(change: Partial<DoctorDeps> = {}, files: Record<string, FileInfo | null> = {}): Harness {
  const out: string[] = [];
  const opens: SyncPlan[] = [];
  const modes: Record<string, FileInfo | null> = {
    [HOME]: { mode: 0o700, uid: UID, symlink: false },
    [path.join(HOME, '.env')]: { mode: 0o600, uid: UID, symlink: false },
    [path.join(HOME, 'console-secrets.json')]: { mode: 0o600, uid: UID, symlink: false },
    '/run/u/mcp': { mode: 0o700, uid: UID, symlink: false },
    ...files,
  };
  const deps: DoctorDeps = {
    stdout: (text) => out.push(text),
    nodeVersion: '22.12.0',
    uid: UID,
    keychain: () => new MemoryKeychain(),
    otherKeychain: () => null,
    readBundle: async () => Buffer.from('bundle bytes'),
    openBundle: async (plan) => {
      opens.push(plan);
      return opened();
    },
    configuredOutputs: async () => DEFAULT_OUTPUTS,
    heldOutputs: async () => ['.env', 'console-secrets.json'],
    fileInfo: async (file) => modes[file] ?? null,
    daemonStatus: async () => ({ state: 'fresh', daemon: { pid: 42 }, secretsVersion: '2026.02.1', lastSync: null }) as unknown as StatusDocument,
    serviceFile: () => '/h/.config/systemd/user/mcp-secrets.service',
    exists: async () => true,
    which: async (bin) => `/usr/bin/${bin}`,
    isIgnored: async () => true,
    ...change,
  };
  return { deps, out, opens };
}

function check(checks: Check[], id: string): Check {
  const found = checks.find((c) => c.id === id);
  if (!found) throw new Error(`no check ${id} in ${checks.map((c) => c.id).join(', ')}`);
  return found;
}

test('a healthy machine passes every check, exits 0 and prints them as JSON', async (t) => {
  const h = harness();
  t.is(await runDoctor(INPUT, h.deps), 0);
  const report = JSON.parse(h.out.join('')) as { ok: boolean; checks: Check[] };
  t.true(report.ok);
  t.deepEqual(report.checks.filter((c) => c.level !== 'ok'), []);
  t.deepEqual(
    report.checks.map((c) => c.id),
    ['node', 'keychain', 'identity', 'bundle', 'home', 'output:.env', 'output:console-secrets.json', 'socket-dir', 'daemon', 'service', 'bin:sops', 'bin:age', 'bin:gitleaks', 'gitignore'],
  );
  t.regex(check(report.checks, 'identity').message, new RegExp(`identity from env opens the bundle \\(${R1}\\)`));
  t.false(h.out.join('').includes('AGE-SECRET-KEY'), 'no identity in the report');
});

test('opens the bundle through the layer with the engine asked for (--engine is honoured)', async (t) => {
  for (const engine of ['native', 'sops', 'auto'] as const) {
    const h = harness();
    await doctorChecks({ ...INPUT, engine }, h.deps);
    t.is(h.opens.length, 1);
    t.is(h.opens[0]!.engine, engine);
    t.is(h.opens[0]!.sourceAbs, '/repo/config/secrets.enc.yaml');
    t.is(h.opens[0]!.home, HOME);
  }
});

test('no identity: one failure in the layer\'s words, listing every place tried, with its import hint; no bundle check', async (t) => {
  const attempts = [
    { source: 'keychain (napi-keyring)', outcome: 'none stored' },
    { source: 'SOPS_AGE_KEY', outcome: 'not set' },
    { source: 'SOPS_AGE_KEY_FILE', outcome: 'not set' },
  ];
  const h = harness({
    openBundle: async () => {
      throw noIdentityError(attempts, [R1], [], { bundle: 'config/secrets.enc.yaml' });
    },
  });
  const checks = await doctorChecks(INPUT, h.deps);
  const c = check(checks, 'identity');
  t.is(c.level, 'fail');
  for (const a of attempts) t.true(c.message.includes(a.source), a.source);
  t.regex(c.fix ?? '', /mcp-secrets identity import/);
  t.false(checks.some((x) => x.id === 'bundle'));
});

test('identities that open nothing: the layer\'s E_IDENTITY_MISMATCH, naming the bundle\'s recipients and yours', async (t) => {
  const h = harness({
    openBundle: async () => {
      throw noIdentityError([{ source: 'SOPS_AGE_KEY', outcome: '1 identity' }], [R1], [R2], { bundle: 'config/secrets.enc.yaml' });
    },
  });
  const c = check(await doctorChecks(INPUT, h.deps), 'identity');
  t.is(c.level, 'fail');
  t.true(c.message.includes(R1) && c.message.includes(R2) && c.message.includes('SOPS_AGE_KEY'));
});

test('the human report prints a multi-line message one escaped line at a time, indented under its check', async (t) => {
  const h = harness({
    openBundle: async () => {
      throw noIdentityError([{ source: 'file \u001b[31mred', outcome: 'not found' }], [R1], [], { bundle: 'config/secrets.enc.yaml' });
    },
  });
  t.is(await runDoctor({ ...INPUT, json: false }, h.deps), 2);
  const text = h.out.join('');
  t.regex(text, /^FAIL {2}no age identity found to open config\/secrets\.enc\.yaml; tried:\n {6}/m);
  t.false(text.includes('\u001b'), 'control characters are escaped');
  t.regex(text, /^ {6}fix: run `mcp-secrets identity import`/m);
});

const bundleFailures: { title: string; error: unknown; fix: RegExp }[] = [
  { title: 'a MAC that does not match', error: new AppError('E_MAC_MISMATCH', 'MAC mismatch'), fix: /restore it from git/ },
  { title: 'a file that is not YAML', error: new AppError('E_PARSE', 'bad YAML at line 3'), fix: /^fix the file/ },
  { title: 'a missing sops binary (--engine sops)', error: new AppError('E_SOPS_CLI', 'sops binary not found', { hint: 'install sops' }), fix: /^install sops$/ },
  { title: 'a forbidden name', error: new AppError('E_FORBIDDEN_NAME', 'PATH is not allowed', { hint: 'rename it' }), fix: /^rename it$/ },
];
for (const b of bundleFailures) {
  test(`reports ${b.title} as a bundle failure with its fix`, async (t) => {
    const h = harness({
      openBundle: async () => {
        throw b.error;
      },
    });
    const checks = await doctorChecks(INPUT, h.deps);
    const c = check(checks, 'bundle');
    t.is(c.level, 'fail');
    t.true(c.message.startsWith('config/secrets.enc.yaml: E_'), c.message);
    t.regex(c.fix ?? '', b.fix);
    t.false(checks.some((x) => x.id === 'identity'), 'nothing is claimed about the identity');
  });
}

test('a bundle that cannot be read is a bundle failure pointing at --repo/--source; it is not opened', async (t) => {
  const h = harness({
    readBundle: async () => {
      throw new AppError('E_SOURCE_MISSING', 'bundle not found: /repo/config/secrets.enc.yaml');
    },
  });
  const c = check(await doctorChecks(INPUT, h.deps), 'bundle');
  t.is(c.level, 'fail');
  t.regex(c.fix ?? '', /--repo\/--source/);
  t.is(h.opens.length, 0);
});

test('no repo: the bundle check fails and the .gitignore check is a warning; outputs are the defaults', async (t) => {
  let askedFor: string | null | undefined;
  const h = harness({
    configuredOutputs: async (repo) => {
      askedFor = repo;
      return DEFAULT_OUTPUTS;
    },
  });
  const checks = await doctorChecks({ ...INPUT, repo: null }, h.deps);
  t.is(check(checks, 'bundle').level, 'fail');
  t.regex(check(checks, 'bundle').message, /no repo/);
  t.is(check(checks, 'gitignore').level, 'warn');
  t.is(askedFor, null);
  t.is(h.opens.length, 0);
});

test('a data key this machine has not accepted fails with the way to accept it', async (t) => {
  const h = harness({ openBundle: async () => opened({ pin: { digest: 'd', verdict: 'changed' } }) });
  const c = check(await doctorChecks(INPUT, h.deps), 'data-key');
  t.is(c.level, 'fail');
  t.regex(c.fix ?? '', /sync --accept-data-key/);
});

test('a bundle opened by the sops binary with other keys names the engine instead of an age identity', async (t) => {
  const h = harness({ openBundle: async () => opened({ metadata: { ageRecipients: [], otherKeyTypes: ['pgp'] } as unknown as OpenedBundle['metadata'], pin: null }) });
  const c = check(await doctorChecks({ ...INPUT, engine: 'sops' }, h.deps), 'identity');
  t.is(c.level, 'ok');
  t.regex(c.message, /the sops engine opens the bundle/);
});

test('the keychain: turned off is a warning, unusable is a failure with its hint, identities only the other backend holds are a warning with the copy command', async (t) => {
  t.is(check(await doctorChecks(INPUT, harness({ keychain: () => null }).deps), 'keychain').level, 'warn');

  const broken = new MemoryKeychain();
  broken.failWith('locked');
  const failed = check(await doctorChecks(INPUT, harness({ keychain: () => broken }).deps), 'keychain');
  t.is(failed.level, 'fail');
  t.regex(failed.message, /E_KEYCHAIN/);
  t.truthy(failed.fix);

  const other = new MemoryKeychain();
  await other.set(R2, 'AGE-SECRET-KEY-1OTHER');
  const hidden = check(await doctorChecks(INPUT, harness({ otherKeychain: () => ({ store: 'keytar', keychain: other }) }).deps), 'keychain');
  t.is(hidden.level, 'warn');
  t.true(hidden.message.includes(R2));
  t.regex(hidden.fix ?? '', /mcp-secrets identity copy --from keytar/);
});

test('home and outputs: not yours, not 700, a symlink, a wrong mode, missing; outputs from the record are checked too', async (t) => {
  const checks = await doctorChecks(
    INPUT,
    harness(
      { heldOutputs: async () => ['.env', 'old.json'], configuredOutputs: async () => [...DEFAULT_OUTPUTS] },
      {
        [HOME]: { mode: 0o755, uid: UID, symlink: false },
        [path.join(HOME, '.env')]: { mode: 0o644, uid: UID, symlink: false },
        [path.join(HOME, 'console-secrets.json')]: { mode: 0o777, uid: UID, symlink: true },
        '/run/u/mcp': { mode: 0o755, uid: UID, symlink: false },
      },
    ).deps,
  );
  t.regex(check(checks, 'home').fix ?? '', /^chmod 700 /);
  t.regex(check(checks, 'output:.env').fix ?? '', /^chmod 600 .*\.env$/);
  t.regex(check(checks, 'output:console-secrets.json').message, /is a symlink/);
  t.is(check(checks, 'output:old.json').level, 'warn');
  t.is(check(checks, 'socket-dir').level, 'fail');

  const foreign = await doctorChecks(INPUT, harness({}, { [HOME]: { mode: 0o700, uid: 0, symlink: false } }).deps);
  t.regex(check(foreign, 'home').message, /owned by uid 0/);
  const absent = await doctorChecks(INPUT, harness({}, { [HOME]: null, '/run/u/mcp': null }).deps);
  t.is(check(absent, 'home').level, 'warn');
  t.regex(check(absent, 'socket-dir').message, /will be created 700/);
});

test('an unreadable outputs record still checks the configured outputs', async (t) => {
  const checks = await doctorChecks(
    INPUT,
    harness({
      heldOutputs: async () => {
        throw new AppError('E_PARSE', 'the outputs record is not valid');
      },
    }).deps,
  );
  t.is(check(checks, 'output:.env').level, 'ok');
});

test('the daemon: none answering is a warning, one not fresh is a failure naming its error', async (t) => {
  const down = harness({
    daemonStatus: async () => {
      throw new AppError('E_DAEMON_UNREACHABLE', 'no daemon');
    },
  });
  const c = check(await doctorChecks(INPUT, down.deps), 'daemon');
  t.is(c.level, 'warn');
  t.regex(c.fix ?? '', /mcp-secrets service install/);
  t.is(await runDoctor(INPUT, down.deps), 0, 'warnings alone exit 0');

  const stale = harness({ daemonStatus: async () => ({ state: 'error', daemon: { pid: 1 }, secretsVersion: null, lastSync: { error: { code: 'E_MAC_MISMATCH', message: 'MAC mismatch' } } }) as unknown as StatusDocument });
  const s = check(await doctorChecks(INPUT, stale.deps), 'daemon');
  t.is(s.level, 'fail');
  t.regex(s.message, /daemon running but error \(E_MAC_MISMATCH: MAC mismatch\)/);
});

test('the service, the tools and .gitignore: each missing one is reported with its fix', async (t) => {
  const checks = await doctorChecks(
    INPUT,
    harness({ exists: async () => false, which: async (bin) => (bin === 'sops' ? '/usr/bin/sops' : null), isIgnored: async (_repo, probe) => probe !== '.env' && probe !== 'config/secrets.dec.yaml' }).deps,
  );
  t.is(check(checks, 'service').level, 'warn');
  t.is(check(checks, 'bin:sops').level, 'ok');
  t.is(check(checks, 'bin:age').level, 'warn');
  t.is(check(checks, 'bin:gitleaks').level, 'warn');
  const g = check(checks, 'gitignore');
  t.is(g.level, 'fail');
  t.is(g.fix, 'add to .gitignore: .env *.dec.*');

  const unsupported = await doctorChecks(
    INPUT,
    harness({
      serviceFile: () => {
        throw new AppError('E_USAGE', 'no login service on this platform');
      },
    }).deps,
  );
  t.is(check(unsupported, 'service').level, 'warn');
});

test('an old Node fails', async (t) => {
  t.is(check(await doctorChecks(INPUT, harness({ nodeVersion: '20.18.1' }).deps), 'node').level, 'fail');
  t.is(check(await doctorChecks(INPUT, harness({ nodeVersion: '20.19.0' }).deps), 'node').level, 'ok');
});

test('the CLI entry resolves --engine, --json and the paths; no repo is null, not an error', async (t) => {
  const resolved = await resolveDoctorInput({ values: { engine: 'native', json: true, home: '/tmp/x-home', socket: '/tmp/x.sock' }, positionals: [] }, { env: {}, cwd: '/' });
  t.is(resolved.engine, 'native');
  t.true(resolved.json);
  t.is(resolved.home, '/tmp/x-home');
  t.is(resolved.repo, null);
});
