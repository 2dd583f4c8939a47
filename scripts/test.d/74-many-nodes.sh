#!/usr/bin/env bash
# Many nodes (issue 20, docs/DEPLOY.md): two `yaowasm serve` nodes behind
# nginx on loopback, sharing a counter in a Redis store.
#  1. 2000 increments from 8 parallel clients through nginx: every request
#     answers 200, both nodes serve, and the Redis counter is exactly 2000
#     (Store Incr is atomic).
#  2. Rolling reload: node 1's script is replaced (write beside, rename)
#     while traffic runs: no request fails, node 1 then serves the new one.
#  3. Node 2 is killed (SIGKILL) mid-run: only requests in flight on it may
#     fail (at most one per client), the rest go to node 1
#     (proxy_next_upstream), and the counter equals the successes plus at
#     most the failures.
# Needs nginx, redis-server, curl and wat2wasm (scripts/setup.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
root="$PWD"
for tool in redis-server curl wat2wasm; do
  command -v "$tool" >/dev/null || { echo "$tool is missing (scripts/setup.sh installs it)"; exit 1; }
done
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
[ -x "$nginx_bin" ] || { echo "nginx is missing: apt-get install nginx (scripts/setup.sh)"; exit 1; }
bin="$root/target/debug/yaowasm"
[ -x "$bin" ] || cargo build -q -p yaowasm-cli

# $tmp, $pids (killed on exit), free_port.
source scripts/lib/background.sh
fail() { echo "74-many-nodes: FAIL: $*"; for f in "$tmp"/*.log; do echo "--- $f"; tail -20 "$f"; done; exit 1; }

# ---- Redis
rport="$(free_port)"
redis-server --port "$rport" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.05; done
redis-cli -p "$rport" ping | grep -q PONG || fail "redis-server did not start"

# ---- The app: Hit increments "hits" in the Redis store "counter"; Version answers v1/v2.
guest() { # $1: two-character version, $2: output .wasm
  cat >"$tmp/counter.wat" <<EOF
(module
  (import "yao" "store" (func \$store (param i32 i32 i32 i32 i32 i32) (result i64)))
  (memory (export "memory") 1)
  (data (i32.const 16) "counter")
  (data (i32.const 32) "Incr")
  (data (i32.const 48) "\\91\\a4hits")
  (data (i32.const 64) "\\a2$1")
  (func (export "yao_alloc") (param i32) (result i32) (i32.const 1024))
  (func (export "Hit") (param i32 i32) (result i64)
    (call \$store (i32.const 16) (i32.const 7) (i32.const 32) (i32.const 4) (i32.const 48) (i32.const 6)))
  (func (export "Version") (param i32 i32) (result i64)
    (i64.or (i64.shl (i64.const 64) (i64.const 32)) (i64.const 3))))
EOF
  wat2wasm "$tmp/counter.wat" -o "$2"
}
for n in 1 2; do
  mkdir -p "$tmp/node$n/scripts" "$tmp/node$n/apis"
  guest v1 "$tmp/node$n/scripts/counter.wasm"
  cat >"$tmp/node$n/apis/counter.http.yao" <<'EOF'
{ "group": "counter", "paths": [
    { "path": "/hit", "method": "POST", "process": "scripts.counter.Hit" },
    { "path": "/version", "method": "GET", "process": "scripts.counter.Version" } ] }
EOF
done
config="{\"stores\": {\"counter\": {\"backend\": \"redis\", \"url\": \"redis://127.0.0.1:$rport/0\"}}}"

# ---- Two nodes
start_node() { # $1: node number; sets node_pid
  "$bin" serve "$tmp/node$1" --listen "127.0.0.1:${ports[$1]}" --config "$config" >"$tmp/node$1.log" 2>&1 &
  node_pid=$!
  pids+=("$node_pid")
  for _ in $(seq 200); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:${ports[$1]}/health")" = 200 ] && return 0
    sleep 0.05
  done
  fail "node $1 did not become ready"
}
declare -A ports
ports[1]="$(free_port)"
ports[2]="$(free_port)"
start_node 1; node1="$node_pid"
start_node 2; node2="$node_pid"

# ---- nginx in front (the config of docs/DEPLOY.md)
nport="$(free_port)"
mkdir -p "$tmp/nginx"
user_line=""; [ "$(id -u)" = 0 ] && user_line="user root;"
cat >"$tmp/nginx/nginx.conf" <<EOF
$user_line
worker_processes 1;
daemon off;
pid $tmp/nginx/nginx.pid;
error_log $tmp/nginx.log warn;
events { worker_connections 512; }
http {
  access_log off;
  client_body_temp_path $tmp/nginx/body;
  proxy_temp_path $tmp/nginx/proxy;
  fastcgi_temp_path $tmp/nginx/fastcgi;
  uwsgi_temp_path $tmp/nginx/uwsgi;
  scgi_temp_path $tmp/nginx/scgi;
  upstream yaowasm {
    server 127.0.0.1:${ports[1]} max_fails=1 fail_timeout=5s;
    server 127.0.0.1:${ports[2]} max_fails=1 fail_timeout=5s;
  }
  server {
    listen 127.0.0.1:$nport;
    location / {
      proxy_pass http://yaowasm;
      proxy_http_version 1.1;
      proxy_set_header Host \$host;
      proxy_next_upstream error timeout http_502 http_503;
      proxy_next_upstream_tries 2;
      proxy_connect_timeout 1s;
      proxy_read_timeout 30s;
    }
  }
}
EOF
"$nginx_bin" -p "$tmp/nginx" -c "$tmp/nginx/nginx.conf" -e "$tmp/nginx.log" &
pids+=($!)
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$nport/health" && break; sleep 0.05; done

# 8 clients, 250 increments each (one curl per client, keep-alive to nginx);
# each status on its own line, all in $tmp/statuses once done.
run_clients() {
  curl_pids=()
  local c
  for c in $(seq 8); do
    curl -s -X POST -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$nport/api/counter/hit?c=$c&i=[1-250]" >"$tmp/statuses.$c" &
    curl_pids+=($!)
  done
}
wait_clients() {
  local p
  for p in "${curl_pids[@]}"; do wait "$p" || true; done
  cat "$tmp"/statuses.? >"$tmp/statuses"
}
# 8 clients sending batches of 25 increments until stop_clients: traffic
# that lasts as long as the event it must span, however fast the machine.
run_clients_until_stopped() {
  rm -f "$tmp/stop" "$tmp"/statuses.?
  curl_pids=()
  local c
  for c in $(seq 8); do
    (while [ -d "$tmp" ] && [ ! -e "$tmp/stop" ]; do
      curl -s -X POST -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$nport/api/counter/hit?c=$c&i=[1-25]" >>"$tmp/statuses.$c"
    done) &
    curl_pids+=($!)
  done
}
answered_so_far() { cat "$tmp"/statuses.? 2>/dev/null | wc -l; }
stop_clients() {
  touch "$tmp/stop"
  wait_clients
}
# The counter as Redis holds it (MessagePack, decoded on the server).
counter() { redis-cli -p "$rport" --raw EVAL "return cmsgpack.unpack(redis.call('GET', KEYS[1]))" 1 'yao:store:7:counter:hits'; }
ok_count() { grep -c '^200$' "$tmp/statuses" || true; }
bad_count() { grep -vc '^200$' "$tmp/statuses" || true; }
calls_of() { curl -s "http://127.0.0.1:${ports[$1]}/stats" | python3 -c 'import sys, json; print(sum(s["calls"] for s in json.load(sys.stdin)["scripts"]))'; }

started=$SECONDS
# ---- 1. exact counter
run_clients
wait_clients
[ "$(ok_count)" = 2000 ] || fail "phase 1: $(ok_count) of 2000 answered 200 ($(sort "$tmp/statuses" | uniq -c | tr '\n' ' '))"
[ "$(counter)" = 2000 ] || fail "phase 1: the Redis counter is $(counter), not 2000"
c1="$(calls_of 1)"; c2="$(calls_of 2)"
[ "$c1" -gt 0 ] && [ "$c2" -gt 0 ] || fail "phase 1: both nodes serve ($c1 and $c2 calls)"
echo "74-many-nodes: 1. 2000 increments through nginx, 8 clients: counter 2000 (node 1: $c1 calls, node 2: $c2)"

# ---- 2. rolling reload of node 1 under traffic
run_clients_until_stopped
sleep 0.3
guest v2 "$tmp/node1/scripts/counter.wasm.upload"
mv "$tmp/node1/scripts/counter.wasm.upload" "$tmp/node1/scripts/counter.wasm"
for _ in $(seq 250); do grep -q "scripts reloaded" "$tmp/node1.log" && break; sleep 0.02; done
grep -q "scripts reloaded" "$tmp/node1.log" || { stop_clients; fail "phase 2: node 1 did not log its reload"; }
at_reload="$(answered_so_far)"
sleep 0.5
stop_clients
ok="$(ok_count)"; bad="$(bad_count)"
[ "$at_reload" -gt 0 ] && [ $((ok + bad)) -gt "$at_reload" ] ||
  fail "phase 2: the traffic did not span the reload ($at_reload answers before it, $((ok + bad)) in all)"
[ "$bad" = 0 ] || fail "phase 2: $bad of $((ok + bad)) requests failed during the rolling reload"
[ "$(counter)" = $((2000 + ok)) ] || fail "phase 2: the counter is $(counter), not $((2000 + ok))"
for _ in $(seq 100); do
  [ "$(curl -s "http://127.0.0.1:${ports[1]}/api/counter/version")" = '"v2"' ] && break
  sleep 0.05
done
[ "$(curl -s "http://127.0.0.1:${ports[1]}/api/counter/version")" = '"v2"' ] || fail "phase 2: node 1 does not serve v2"
echo "74-many-nodes: 2. rolling reload of node 1 under $ok requests ($at_reload before it): none failed, counter $((2000 + ok)), node 1 serves v2"

# ---- 3. kill node 2 mid-run
base="$(counter)"
run_clients_until_stopped
sleep 0.3
at_kill="$(answered_so_far)"
kill -9 "$node2"
{ wait "$node2"; } 2>/dev/null || true
sleep 0.5
stop_clients
ok="$(ok_count)"; bad="$(bad_count)"
[ "$at_kill" -gt 0 ] && [ $((ok + bad)) -gt "$at_kill" ] ||
  fail "phase 3: the traffic did not span the kill ($at_kill answers before it, $((ok + bad)) in all)"
[ "$bad" -le 8 ] || fail "phase 3: $bad requests failed when node 2 died (at most the 8 in flight may)"
now="$(counter)"
[ "$now" -ge $((base + ok)) ] && [ "$now" -le $((base + ok + bad)) ] ||
  fail "phase 3: the counter is $now, expected $((base + ok)) to $((base + ok + bad))"
echo "74-many-nodes: 3. node 2 killed mid-run: $bad of $((ok + bad)) failed (in flight), counter $now (successes: $ok)"
echo "74-many-nodes: ok in $((SECONDS - started)) s"
