/** mcp-secrets/sops: the public engine API (DESIGN.md "Library"). */
export * from './tree.js';
