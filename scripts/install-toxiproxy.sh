#!/usr/bin/env bash
# Installs toxiproxy-server v2.12.0 to /usr/local/bin, built with `go install`.
# Skips the build when the installed binary was already built from that module version.
# Needs Go 1.22 or later and write access to /usr/local/bin (run as root or with sudo).
# Usage: bash scripts/install-toxiproxy.sh
set -euo pipefail

VERSION="v2.12.0"
MODULE="github.com/Shopify/toxiproxy/v2"
TARGET="/usr/local/bin/toxiproxy-server"

installed_version() {
  # `toxiproxy-server -version` prints "git" for binaries built by `go install`, so read the
  # module version that Go embeds in the binary instead.
  go version -m "$1" 2>/dev/null | awk -v module="$MODULE" '$1 == "mod" && $2 == module { print $3 }'
}

if ! command -v go >/dev/null 2>&1; then
  echo "install-toxiproxy: go not found on PATH; install Go 1.22+ (https://go.dev/dl/) and retry" >&2
  exit 1
fi

if [[ -x "$TARGET" ]] && [[ "$(installed_version "$TARGET")" == "$VERSION" ]]; then
  echo "install-toxiproxy: $TARGET is already $VERSION, nothing to do"
  exit 0
fi

GOBIN_DIR="$(mktemp -d "${TMPDIR:-/tmp}/toxiproxy-gobin.XXXXXX")"
trap 'rm -rf "$GOBIN_DIR"' EXIT

echo "install-toxiproxy: building $MODULE/cmd/server@$VERSION"
GOBIN="$GOBIN_DIR" go install "$MODULE/cmd/server@$VERSION"
install -m755 "$GOBIN_DIR/server" "$TARGET"
echo "install-toxiproxy: installed $TARGET ($(installed_version "$TARGET"))"
