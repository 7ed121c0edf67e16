#!/usr/bin/env bash
# The main job on the embedded default: run ironlb on a copy of examples/ and show what it does.
# At this stage: the controller allocates addresses for the example Services, follows a live
# edit, and keeps every Service's address through a broken edit. Cleans up after itself.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bin="${IRONLB_BIN:-$root/build/bin}"
if [ ! -x "$bin/ironlb-agent" ] || [ ! -x "$bin/ironlbctl" ]; then
  echo "demo: building first (scripts/setup.sh + scripts/build.sh)"
  bash "$root/scripts/setup.sh"
  bash "$root/scripts/build.sh"
fi

work="$(mktemp -d /tmp/ironlb-demo.XXXXXX)"
agent_pid=""
cleanup() {
  if [ -n "$agent_pid" ] && kill -0 "$agent_pid" 2>/dev/null; then
    kill -TERM "$agent_pid"; wait "$agent_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

cp -r "$root/examples" "$work/config"
sock="$work/agent.sock"
ctl() { "$bin/ironlbctl" --api-socket "$sock" "$@"; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
settle() {  # wait until the controller has written n status files
  for _ in $(seq 1 100); do
    [ "$(ls "$work/config/status/"*.json 2>/dev/null | wc -l)" -ge "$1" ] && return 0
    sleep 0.1
  done
  echo "demo: controller did not settle; log:"; cat "$work/agent.log"; exit 1
}

step "starting ironlb-agent --role controller on a copy of examples/"
"$bin/ironlb-agent" --node node-a --config "$work/config" --role controller --no-dataplane \
  --no-bgp --api-socket "$sock" --metrics-addr 127.0.0.1:0 >"$work/agent.log" 2>&1 &
agent_pid=$!
settle 6
ctl config show || true
step "ironlbctl alloc show"
ctl alloc show

step "a team applies a new Service (live edit of the config directory)"
cat >"$work/config/shop.yaml" <<'YAML'
apiVersion: v1
kind: Service
metadata: {name: shop, namespace: demo}
spec: {type: LoadBalancer, ports: [{port: 443, protocol: TCP}]}
YAML
settle 7
ctl alloc show demo/shop

step "an operator makes a typo in a pool: the error names file, object and field"
sed -i 's/198.51.100.10-198.51.100.29/198.51.100.10-198.51.100.299/' "$work/config/pools.yaml"
sleep 0.5
ctl config show || true
step "... and no Service lost its address (the last valid pool stays in force)"
ctl alloc show

step "controller log"
cat "$work/agent.log"
