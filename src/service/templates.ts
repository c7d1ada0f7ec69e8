/** The service file templates shipped in the package's `service/` directory (package.json "files"). */
import { access } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { ServiceManagerKind } from './platform.js';
import { READ_LIMITS, readBoundedText } from '../fsx/read-bounded.js';

const TEMPLATE_FILES: Record<ServiceManagerKind, string> = {
  systemd: path.join('systemd', 'mcp-secrets.service'),
  launchd: path.join('launchd', 'dev.mcp-secrets.daemon.plist'),
};

/** The package's `service/` directory: three levels up from dist/src/service/, two from src/service/. */
export async function findTemplateDir(): Promise<string> {
  const candidates = ['../../../service', '../../service'].map((rel) => fileURLToPath(new URL(rel, import.meta.url)));
  for (const dir of candidates) {
    try {
      await access(path.join(dir, TEMPLATE_FILES.systemd));
      return dir;
    } catch {
      // try the next layout
    }
  }
  throw new Error(`service templates not found next to ${fileURLToPath(import.meta.url)} (looked in ${candidates.join(', ')})`);
}

export async function readServiceTemplate(kind: ServiceManagerKind, templateDir?: string): Promise<string> {
  const file = path.join(templateDir ?? (await findTemplateDir()), TEMPLATE_FILES[kind]);
  return readBoundedText(file, { limit: READ_LIMITS.serviceFile, followSymlinks: true, what: 'the service template' });
}
