/**
 * The Node binary the service runs, resolved at install time. A service manager has none of the
 * shell's version-manager set-up, so the unit gets an absolute path with every symlink resolved
 * (a shim or per-shell symlink, e.g. fnm's multishell links, may be gone by the next login).
 * When that real path belongs to a version manager or Homebrew's versioned Cellar, it moves when
 * Node is upgraded: the caller warns that `service install` must be run again then.
 */
import { realpath as fsRealpath } from 'node:fs/promises';
import path from 'node:path';

export interface NodeBinary {
  /** Absolute path, symlinks resolved. */
  path: string;
  /** The version manager the path belongs to, or null for a system-wide install. */
  manager: string | null;
}

const MANAGED: readonly { name: string; test: (p: string, home: string) => boolean }[] = [
  { name: 'nvm', test: (p, home) => p.startsWith(path.join(home, '.nvm') + path.sep) || p.includes(`${path.sep}nvm${path.sep}versions${path.sep}`) },
  { name: 'volta', test: (p, home) => p.startsWith(path.join(home, '.volta') + path.sep) },
  { name: 'asdf', test: (p, home) => p.startsWith(path.join(home, '.asdf') + path.sep) },
  { name: 'fnm', test: (p) => /[/\\]fnm(_multishells)?[/\\]/.test(p) },
  { name: 'mise', test: (p) => /[/\\](mise|rtx)[/\\]installs[/\\]/.test(p) },
  { name: 'n', test: (p) => /[/\\]n[/\\]versions[/\\]node[/\\]/.test(p) },
  { name: 'homebrew', test: (p) => /[/\\]Cellar[/\\]node(@\d+)?[/\\]/.test(p) },
];

/** Which version manager owns a (real) node path, if any. */
export function versionManagerOf(realPath: string, userHome: string): string | null {
  return MANAGED.find((m) => m.test(realPath, userHome))?.name ?? null;
}

export async function resolveNodeBinary(
  execPath: string,
  userHome: string,
  realpath: (p: string) => Promise<string> = fsRealpath,
): Promise<NodeBinary> {
  const real = await realpath(path.resolve(execPath));
  return { path: real, manager: versionManagerOf(real, userHome) };
}

/** The warning printed at install when the node path will move on upgrade. */
export function nodeUpgradeWarning(node: NodeBinary): string | null {
  if (node.manager === null) return null;
  return `the service runs Node from ${node.manager} at ${node.path}; that path changes when you upgrade or remove this Node version: run \`mcp-secrets service install\` again afterwards`;
}
