#!/usr/bin/env bash
# Builds the offline image for the embedded stack: FROM scratch with this machine's Node, stress-ng
# and every library `ldd` lists for them, plus /etc/passwd, /etc/group and a writable /tmp.
# No registry is needed. The image is reused when it exists and was built from the same Node
# and stress-ng binaries; pass --force to rebuild anyway.
#
# Usage: scripts/docker-build-image.sh [--force] [TAG]   (default tag vitest-chaos/node:local)
set -euo pipefail

force=no
if [[ ${1:-} == --force ]]; then
  force=yes
  shift
fi
tag=${1:-vitest-chaos/node:local}

fail() {
  echo "docker-build-image: $*" >&2
  exit 1
}

command -v docker >/dev/null || fail "docker CLI not found; install it with: apt-get install -y docker.io"
docker version --format '{{.Server.Version}}' >/dev/null 2>&1 ||
  fail "the Docker engine does not respond; start it with: sudo scripts/docker-setup.sh"

node_bin=$(readlink -f "$(command -v node)") || fail "node not found on PATH"
stress_bin=$(readlink -f "$(command -v stress-ng)" 2>/dev/null) ||
  fail "stress-ng not found; install it with: apt-get install -y stress-ng"

# The fingerprint is stored as an image label, so a changed binary triggers a rebuild.
fingerprint=$(sha256sum "$node_bin" "$stress_bin" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)
existing=$(docker image inspect --format '{{index .Config.Labels "vitest-chaos.fingerprint"}}' "$tag" 2>/dev/null || true)
if [[ $force == no && $existing == "$fingerprint" ]]; then
  echo "docker-build-image: $tag is up to date (fingerprint $fingerprint)"
  exit 0
fi

context=$(mktemp -d "${TMPDIR:-/tmp}/vitest-chaos-image.XXXXXX")
trap 'rm -rf "$context"' EXIT
rootfs=$context/rootfs

# Copies a file to the same path under the rootfs, following symlinks so the copy is a real file.
copy_file() {
  mkdir -p "$rootfs$(dirname "$1")"
  cp -L "$1" "$rootfs$1"
}

# Copies a binary and every library it loads, at the paths the dynamic loader looks for them.
copy_with_libraries() {
  copy_file "$1"
  local library
  while read -r library; do
    [[ -n $library ]] && copy_file "$library"
  done < <(ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
}

copy_with_libraries "$node_bin"
copy_with_libraries "$stress_bin"
# Every container gets the same binary paths, whatever the host's paths are.
mkdir -p "$rootfs/usr/local/bin"
[[ $node_bin == /usr/local/bin/node ]] || ln -s "$node_bin" "$rootfs/usr/local/bin/node"
[[ $stress_bin == /usr/local/bin/stress-ng ]] || ln -s "$stress_bin" "$rootfs/usr/local/bin/stress-ng"

mkdir -p "$rootfs/etc" "$rootfs/tmp" "$rootfs/data" "$rootfs/app"
chmod 1777 "$rootfs/tmp"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' >"$rootfs/etc/group"

cat >"$context/Dockerfile" <<EOF
FROM scratch
COPY rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin
LABEL vitest-chaos.fingerprint="$fingerprint"
WORKDIR /app
ENTRYPOINT ["/usr/local/bin/node"]
EOF

started=$SECONDS
# The legacy builder needs no buildx plugin, which Debian's docker.io does not ship.
if ! output=$(DOCKER_BUILDKIT=0 docker build --quiet --tag "$tag" "$context" 2>&1); then
  echo "$output" >&2
  fail "docker build failed for $tag"
fi
size=$(docker image inspect --format '{{.Size}}' "$tag")
echo "docker-build-image: built $tag in $((SECONDS - started))s ($((size / 1024 / 1024)) MiB, fingerprint $fingerprint)"
