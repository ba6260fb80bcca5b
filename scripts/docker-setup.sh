#!/usr/bin/env bash
# Starts a Docker engine that has no bridge network, for the Docker driver and its tests.
#
# Idempotent: writes /etc/docker/daemon.json when it is missing or different, starts dockerd in
# the background (log in $DOCKER_SETUP_LOG) when the engine does not respond, waits for the
# socket, and fails when `docker network ls` lists any bridge network. Needs root.
#
# Environment:
#   DOCKER_SETUP_LOG        dockerd log file (default /var/log/vitest-chaos-dockerd.log)
#   DOCKER_SETUP_TIMEOUT_S  seconds to wait for the socket (default 30)
set -euo pipefail

daemon_json=/etc/docker/daemon.json
socket=/var/run/docker.sock
log_file=${DOCKER_SETUP_LOG:-/var/log/vitest-chaos-dockerd.log}
timeout_s=${DOCKER_SETUP_TIMEOUT_S:-30}
wanted_config='{"bridge":"none","iptables":false,"ip-masq":false}'

fail() {
  echo "docker-setup: $*" >&2
  exit 1
}

[[ $(id -u) -eq 0 ]] || fail "must run as root (dockerd and its socket need root); rerun with sudo"
command -v dockerd >/dev/null || fail "dockerd not found; install it with: apt-get install -y docker.io"
command -v docker >/dev/null || fail "docker CLI not found; install it with: apt-get install -y docker.io"

engine_responds() {
  [[ -S $socket ]] && docker version --format '{{.Server.Version}}' >/dev/null 2>&1
}

# The config is compared in its compact form, so whitespace differences do not count as a change.
current_config=''
if [[ -f $daemon_json ]]; then
  current_config=$(node -e 'process.stdout.write(JSON.stringify(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))))' "$daemon_json" 2>/dev/null || echo invalid)
fi
config_changed=no
if [[ $current_config != "$wanted_config" ]]; then
  mkdir -p /etc/docker
  echo "$wanted_config" >"$daemon_json"
  config_changed=yes
  echo "docker-setup: wrote $daemon_json"
fi

if engine_responds && [[ $config_changed == yes ]]; then
  # A running engine keeps its old bridge settings until it restarts. This script never stops
  # an engine that it did not start, so it exits with the steps to take.
  fail "dockerd is running with a different config; stop it, then rerun this script"
fi

if ! engine_responds; then
  echo "docker-setup: starting dockerd (log: $log_file)"
  mkdir -p "$(dirname "$log_file")"
  nohup dockerd >>"$log_file" 2>&1 &
  echo "docker-setup: dockerd pid $!"
  deadline=$((SECONDS + timeout_s))
  until engine_responds; do
    if ((SECONDS >= deadline)); then
      tail -n 20 "$log_file" >&2 || true
      fail "dockerd did not respond on $socket within ${timeout_s}s; see $log_file"
    fi
    sleep 0.2
  done
fi

bridges=$(docker network ls --filter driver=bridge --format '{{.Name}}')
if [[ -n $bridges ]]; then
  fail "bridge networks exist: $bridges. Remove them (docker network rm NAME) and keep \"bridge\": \"none\" in $daemon_json"
fi

echo "docker-setup: engine $(docker version --format '{{.Server.Version}}') ready on $socket, networks: $(docker network ls --format '{{.Name}}' | tr '\n' ' ')"
