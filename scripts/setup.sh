#!/usr/bin/env bash
# Installs the system tools the fault drivers and tests use, on Debian or Ubuntu, as root:
# iptables and nftables (packet loss), stress-ng (CPU saturation), libfaketime (clock skew),
# Prometheus (baseline capture from a Prometheus server), Docker and Compose (the Docker driver)
# and Toxiproxy (network faults). Safe to run again: it skips what is already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(iptables nftables iproute2 util-linux stress-ng faketime libfaketime prometheus docker.io docker-compose)
missing=()
for package in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done

if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "setup: missing packages: ${missing[*]}" >&2
    echo "setup: run as root, or install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
  fi
  echo "setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

bash scripts/install-toxiproxy.sh
echo "setup: done"
