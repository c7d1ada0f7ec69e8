/**
 * A stand-in for the sops binary: a real executable (Node script) that checks its argv the way
 * our engine must call it, records argv and pid to a log, and behaves according to FAKE_SOPS_MODE.
 * Used because sops itself cannot be installed on this machine.
 *
 * Its settings (FAKE_SOPS_*) come from `settings.json` beside it, falling back to its environment:
 * the engine gives sops only an allowlist of variables, so a test cannot reach it through env.
 * With FAKE_SOPS_ENV_DUMP set, it writes the environment it was given to that file (to prove
 * what the allowlist lets through).
 */
import { writeFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

export const CANNED_JSON =
  '{\n\t"10": "ten",\n\t"2": "two",\n\t"b": {\n\t\t"1": "one",\n\t\t"a": 1\n\t},\n\t"list": [1, true, null, "x"],\n\t"MCP_SECRETS_VERSION": "2026.11.3"\n}\n';

const SCRIPT = `#!/usr/bin/env node
'use strict';
const fs = require('fs');
const path = require('path');
const args = process.argv.slice(2);
let settings = {};
try { settings = JSON.parse(fs.readFileSync(path.join(__dirname, 'settings.json'), 'utf8')); } catch (e) { settings = {}; }
const get = (name) => (settings[name] !== undefined ? settings[name] : process.env[name]);
if (get('FAKE_SOPS_ENV_DUMP')) fs.writeFileSync(get('FAKE_SOPS_ENV_DUMP'), JSON.stringify(process.env));
if (get('FAKE_SOPS_LOG')) fs.appendFileSync(get('FAKE_SOPS_LOG'), JSON.stringify({ argv: args, pid: process.pid }) + '\\n');
if (args.length === 1 && args[0] === '--version') { process.stdout.write('sops 3.9.0 (fake)\\n'); process.exit(0); }
const shapeOk = args.length === 6 && args[0] === '--decrypt' && args[1] === '--input-type' &&
  ['yaml', 'json', 'dotenv', 'ini', 'binary'].includes(args[2]) && args[3] === '--output-type' && args[4] === 'json' && path.isAbsolute(args[5]);
if (!shapeOk) { process.stderr.write('fake sops: unexpected argv\\n'); process.exit(2); }
const key = process.env.SOPS_AGE_KEY;
if (!key && get('FAKE_SOPS_NEED_AGE') !== '0') {
  process.stderr.write('Failed to get the data key required to decrypt the SOPS file.\\n\\nGroup 0: FAILED\\n  age1qqqq: FAILED\\n    - | no identity matched any of the recipients\\n\\nRecovery failed because no master key was able to decrypt the file.\\n');
  process.exit(128);
}
if (get('FAKE_SOPS_EXPECT_KEY') && key !== get('FAKE_SOPS_EXPECT_KEY')) { process.stderr.write('fake sops: SOPS_AGE_KEY differs from the expected identities\\n'); process.exit(3); }
switch (get('FAKE_SOPS_MODE') || 'ok') {
  case 'ok': process.stdout.write(fs.readFileSync(get('FAKE_SOPS_OUTPUT'), 'utf8')); break;
  case 'mac': process.stderr.write('\\u001b[31mMAC mismatch. File has 4E5F, computed 12AB\\u001b[0m\\n'); process.exit(51);
  case 'leak': process.stderr.write('Failed to get the data key required to decrypt the SOPS file.\\n\\nGroup 0: FAILED\\n  age1qqqq: FAILED\\n    - | failed to parse identity ' + key.split('\\n')[0] + ': bad checksum\\n'); process.exit(128);
  case 'garbage': process.stdout.write('{"TOKEN": "sk-live-PLAINTEXT-VALUE", '); break;
  case 'generic': process.stderr.write('Error unmarshalling input yaml: line 3: did not find expected key\\n'); process.exit(1);
  case 'hang': setInterval(() => {}, 1000); break;
  default: process.exit(99);
}
`;

export interface FakeSops {
  dir: string;
  binary: string;
  log: string;
  output: string;
  /** Writes settings.json (FAKE_SOPS_* values the fake reads whatever its environment). */
  configure(settings: Record<string, string>): void;
  /** Every recorded call: argv and pid. */
  calls(): Promise<{ argv: string[]; pid: number }[]>;
}

export async function makeFakeSops(): Promise<FakeSops> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcp-fake-sops-'));
  const binary = path.join(dir, 'sops');
  const log = path.join(dir, 'calls.log');
  const output = path.join(dir, 'output.json');
  await writeFile(binary, SCRIPT);
  await chmod(binary, 0o755);
  await writeFile(output, CANNED_JSON);
  return {
    dir,
    binary,
    log,
    output,
    configure: (settings) => writeFileSync(path.join(dir, 'settings.json'), JSON.stringify(settings)),
    calls: async () => {
      const text = await readFile(log, 'utf8').catch(() => '');
      return text
        .split('\n')
        .filter((l) => l.length > 0)
        .map((l) => JSON.parse(l) as { argv: string[]; pid: number });
    },
  };
}
