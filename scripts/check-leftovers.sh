#!/usr/bin/env bash
# Fails when a run left something behind: a journal entry (an active fault), a process of the
# stack, the pipeline, Toxiproxy or stress-ng, an iptables chain, a cgroup or a mount whose
# name carries the vitest-chaos prefix, or a container named after it.
# It only reads; `npx vitest-chaos cleanup` repairs faults.
set -uo pipefail
cd "$(dirname "$0")/.."

# Processes may take a moment to exit after the run that stopped them, so the check is repeated
# for up to this many seconds before anything counts as left behind.
grace_seconds=${CHECK_LEFTOVERS_GRACE_S:-15}

report() {
  findings+=("leftover: $1")
}

check() {
findings=()

if [ -d .chaos/journal ] && [ -n "$(ls -A .chaos/journal 2>/dev/null)" ]; then
  report "journal entries in .chaos/journal: $(ls .chaos/journal | tr '\n' ' ')"
fi

own_pid=$$
while read -r pid args; do
  [ "$pid" = "$own_pid" ] && continue
  case "$args" in
    *check-leftovers*) ;;
    *toxiproxy-server*|*stress-ng*|*fixtures/pipeline/main.ts*|*vitest-chaos-stack*|*.chaos/runs/*|*watchdog-main.ts*)
      report "process $pid: $args" ;;
  esac
done < <(ps -eo pid=,args=)

if command -v iptables-save >/dev/null 2>&1; then
  chains=$(iptables-save 2>/dev/null | grep -i -E '^:(chaos|vchaos|vitest)' || true)
  [ -z "$chains" ] || report "iptables chains: $chains"
fi

for controller in cpu memory freezer pids; do
  found=$(find "/sys/fs/cgroup/$controller" -maxdepth 3 -type d -iname '*chaos*' 2>/dev/null || true)
  [ -z "$found" ] || report "cgroups: $found"
done

if [ "$docker_ok" = yes ]; then
  containers=$(docker ps -a --format '{{.Names}}' 2>/dev/null | grep -i chaos || true)
  [ -z "$containers" ] || report "containers: $(echo "$containers" | tr '\n' ' ')"
fi

mounts=$(grep -i chaos /proc/mounts || true)
[ -z "$mounts" ] || report "mounts: $mounts"
}

docker_ok=no
if command -v docker >/dev/null 2>&1; then
  if docker info >/dev/null 2>&1; then
    docker_ok=yes
  else
    echo "check-leftovers: the Docker engine did not respond, so containers were not checked"
  fi
fi

for ((second = 0; ; second++)); do
  check
  [ "${#findings[@]}" -eq 0 ] && break
  [ "$second" -ge "$grace_seconds" ] && break
  sleep 1
done

if [ "${#findings[@]}" -gt 0 ]; then
  printf '%s\n' "${findings[@]}"
  echo "check-leftovers: ${#findings[@]} leftover(s) after ${grace_seconds}s; run 'npx vitest-chaos cleanup' and stop the processes above"
  exit 1
fi
echo "check-leftovers: nothing left behind"
