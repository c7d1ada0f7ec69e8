#!/usr/bin/env bash
# The whole test suite on a fresh machine, with all its own set-up:
#   system packages (apt, when missing) → npm ci → keytar (the optional keychain backend, for its
#   own tests) → a private D-Bus session with an unlocked gnome-keyring (a real Secret Service for
#   the keychain tests) → npm test.
# Usage: bash scripts/test.sh [--no-install] [ava args…]
#        bash scripts/test.sh --system-packages   (only the apt step; .ci/run uses it)
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
T0=$SECONDS

INSTALL=1
SYSTEM_ONLY=0
if [[ "${1:-}" == "--no-install" ]]; then INSTALL=0; shift; fi
if [[ "${1:-}" == "--system-packages" ]]; then SYSTEM_ONLY=1; shift; fi

PKGS=(libsecret-1-dev pkg-config gnome-keyring dbus-x11 age python3-dotenv socat git tmux)
MISSING=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || MISSING+=("$p")
done
if ((${#MISSING[@]})); then
  if [[ $(id -u) -eq 0 ]]; then
    apt-get update -qq && apt-get install -y -qq "${MISSING[@]}" >/dev/null
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq "${MISSING[@]}" >/dev/null
  fi
fi
echo "test: system packages ready in $((SECONDS - T0))s"
((SYSTEM_ONLY)) && exit 0

if ((INSTALL)); then
  T1=$SECONDS
  npm ci --no-audit --no-fund
  echo "test: npm ci done in $((SECONDS - T1))s"
  # keytar is an optional PEER dependency: `npm ci` never installs it (and npm will not add a
  # declared peer with --no-save), so it goes into its own folder, linked where Node finds it.
  # npm ci wipes node_modules, so this never outlives the next install.
  T1=$SECONDS
  mkdir -p node_modules/.keytar
  printf '{"name":"keytar-for-tests","private":true,"allowScripts":{"keytar":true}}\n' >node_modules/.keytar/package.json
  (cd node_modules/.keytar && npm install --no-audit --no-fund --no-package-lock --silent keytar@7.9.0)
  ln -sfn .keytar/node_modules/keytar node_modules/keytar
  echo "test: keytar installed in $((SECONDS - T1))s"
fi
# The keytar backend's tests fail (never skip) when keytar cannot load here.
export MCP_SECRETS_REQUIRE_KEYTAR=1

# A private keyring: its own data and runtime dirs. HOME is left alone (npm's ~/.npmrc lives there).
KR=$(mktemp -d /tmp/mcp-secrets-keyring.XXXXXX)
trap 'rm -rf "$KR"' EXIT
mkdir -m 700 "$KR/data" "$KR/run"
T2=$SECONDS
set +e
XDG_DATA_HOME="$KR/data" XDG_RUNTIME_DIR="$KR/run" MCP_SECRETS_KEYRING_PASSWORD="test-keyring-password" \
  dbus-run-session -- bash -c '
    set -e
    # an empty password would need a GUI prompt; any non-empty one unlocks the login collection
    printf "%s" "$MCP_SECRETS_KEYRING_PASSWORD" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
    for i in $(seq 50); do
      dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
        org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q "boolean true" && break
      sleep 0.1
    done
    export MCP_SECRETS_KEYRING=1
    npm test -- "$@"
  ' bash "$@" 2> >(grep -v "Failed to set fd limit" >&2) | tee "$KR/out.log"
RC=${PIPESTATUS[0]}
set -e
echo "test: suite finished in $((SECONDS - T2))s (total $((SECONDS - T0))s), exit $RC"
# the closing line CI reads: "ava: N passed, N failed, N skipped" (or a failure when ava never ran)
SUMMARY=$(grep -E '^ava: [0-9]+ passed, [0-9]+ failed' "$KR/out.log" | tail -1)
echo "${SUMMARY:-ava: 0 passed, 1 failed, 0 skipped}"
exit $RC
