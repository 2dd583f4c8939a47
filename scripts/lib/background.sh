# Sourced by the scripts that start servers in the background
# (scripts/test.d/74-many-nodes.sh, scripts/test.d/76-edge.sh,
# cli/bench/pulley.sh): a scratch folder $tmp, the $pids killed on exit
# (after $tmp/stop is created, which ends client loops at their next
# batch), and free_port.
tmp="$(mktemp -d)"
pids=()
cleanup() {
  touch "$tmp/stop" 2>/dev/null || true
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
