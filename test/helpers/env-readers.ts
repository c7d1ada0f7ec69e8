/**
 * The three readers a rendered `.env` must satisfy, run for real: npm dotenv in-process, bash
 * (`set -a; . file`) and python-dotenv (`dotenv_values(path, interpolate=False)`) as child
 * processes. Values travel over pipes only, never argv.
 */

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { readFile } from 'node:fs/promises';
import dotenv from 'dotenv';

const run = promisify(execFile);

/** The system python that has python-dotenv 0.21 (TOOLCHAIN.md); pyenv's python3 may not. */
export const SYSTEM_PYTHON = '/usr/bin/python3';

export async function readWithDotenv(path: string): Promise<Record<string, string>> {
  return dotenv.parse(await readFile(path));
}

/** Sources the file in a clean bash and prints each named variable as `set\0value\0` (or `\0\0`). */
export async function readWithBash(path: string, names: readonly string[]): Promise<Record<string, string | undefined>> {
  const script = 'set -a; . "$1" || exit 97; shift; for n in "$@"; do printf "%s\\0%s\\0" "${!n+set}" "${!n}"; done';
  const { stdout, stderr } = await run('bash', ['--noprofile', '--norc', '-c', script, 'bash', path, ...names], {
    encoding: 'buffer',
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C.UTF-8' },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (stderr.length > 0) throw new Error(`bash complained while sourcing ${path}: ${stderr.toString('utf8').slice(0, 300)}`);
  const fields = splitNul(stdout);
  const out: Record<string, string | undefined> = {};
  names.forEach((name, i) => {
    out[name] = fields[2 * i] === 'set' ? fields[2 * i + 1] : undefined;
  });
  return out;
}

function splitNul(buffer: Buffer): string[] {
  const fields: string[] = [];
  let start = 0;
  for (let i = 0; i < buffer.length; i++) {
    if (buffer[i] === 0) {
      fields.push(buffer.subarray(start, i).toString('utf8'));
      start = i + 1;
    }
  }
  return fields;
}

/**
 * python-dotenv's reading, as JSON over stdout: `interpolate=False` (what docs/output-formats.md
 * tells python users to pass) and, from the same process, the default `interpolate=True`.
 */
export async function readWithPythonBothWays(
  path: string,
): Promise<{ plain: Record<string, string | null>; interpolated: Record<string, string | null> }> {
  const code = [
    'import json, sys',
    'from dotenv import dotenv_values',
    'plain = dotenv_values(sys.argv[1], interpolate=False)',
    'interpolated = dotenv_values(sys.argv[1])',
    'sys.stdout.write(json.dumps({"plain": plain, "interpolated": interpolated}, ensure_ascii=True))',
  ].join('\n');
  const { stdout, stderr } = await run(SYSTEM_PYTHON, ['-c', code, path], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C.UTF-8', PYTHONIOENCODING: 'utf-8' },
    maxBuffer: 64 * 1024 * 1024,
  });
  // python-dotenv warns on stderr about lines it could not parse.
  if (stderr.length > 0) throw new Error(`python-dotenv complained about ${path}: ${stderr.slice(0, 300)}`);
  return JSON.parse(stdout) as { plain: Record<string, string | null>; interpolated: Record<string, string | null> };
}

/** python-dotenv's reading with `dotenv_values(path, interpolate=False)`. */
export async function readWithPython(path: string): Promise<Record<string, string | null>> {
  return (await readWithPythonBothWays(path)).plain;
}
