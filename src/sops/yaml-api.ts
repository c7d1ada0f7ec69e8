/**
 * yaml 2.x's Document API (the full composer and stringifier), loaded on first use: it is 72
 * modules, and decrypting a plain SOPS file needs only the CST parser (yaml3, ./stores/yaml-tree.ts).
 * Writing YAML and reading anchors, tags or complex keys use this.
 */
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

let api: typeof Yaml | undefined;

/** The `yaml` package (synchronous: its Node build is CommonJS). */
export function yamlApi(): typeof Yaml {
  return (api ??= createRequire(import.meta.url)('yaml') as typeof Yaml);
}
