/** mcp-secrets/sops: the public engine API (DESIGN.md "Library"). */
export * from './tree.js';
export { toOrderedJson } from './tree.js';
export { formatFromPath, type SopsFormat } from './format.js';
export type { SopsMetadataSummary } from './metadata.js';
export {
  decrypt,
  decryptDetailed,
  encrypt,
  inspect,
  parseBundle,
  ParsedBundle,
  serialize,
  updateRecipients,
  type DecryptOptions,
  type DecryptResult,
  type EncryptOptions,
  type UpdateRecipientsOptions,
} from './engine.js';
