#!/usr/bin/env bash
# The runbook's entry point (`make secrets-sync`), kept so existing habits and pipelines keep
# working: one `mcp-secrets sync`, with every argument passed through
# (e.g. `scripts/secrets-sync.sh --skip-without-identity`).
# Nothing is decrypted here: no key handling, no temp files. The CLI does it all in memory and
# writes only the outputs under $MCP_HOME (default ~/.mcp).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cli="$here/../dist/src/main.js"

if [[ -f "$cli" ]]; then
  exec node "$cli" sync "$@"
fi
if command -v mcp-secrets >/dev/null 2>&1; then
  exec mcp-secrets sync "$@"
fi

echo "secrets-sync: mcp-secrets not found: neither $cli nor mcp-secrets on PATH" >&2
echo "hint: run \`npm run build\` in the mcp-secrets checkout, or install it (\`npm install -g mcp-secrets\`)" >&2
exit 2
