#!/usr/bin/env bash
# Pulley (wasmtime's portable interpreter) against native code, same run:
# the example app's TS user.Check served by one runtime-only binary built
# with the `pulley` feature, twice: from a cache compiled natively and from
# one compiled for pulley64 (both by the full build's `yaowasm compile`).
# A keep-alive client alternates the two servers request by request, so
# load on the machine hits both alike. Prints per-request medians (client
# side: HTTP on loopback included) and the mean exec time from /stats
# (busy_us / calls: the call alone).
#
#   cli/bench/pulley.sh FULL_YAOWASM RUNTIME_PULLEY_YAOWASM [ROUNDS]
#
# e.g. with the release builds of docs/DEPLOY.md ("The edge build"):
#   cli/bench/pulley.sh target/release/yaowasm \
#     target/runtime-only/release/yaowasm 2000
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
full="${1:?usage: cli/bench/pulley.sh FULL RUNTIME_PULLEY [ROUNDS]}"
small="${2:?usage: cli/bench/pulley.sh FULL RUNTIME_PULLEY [ROUNDS]}"
rounds="${3:-1000}"
unset RUST_BACKTRACE
# $tmp, $pids (killed on exit), free_port.
source scripts/lib/background.sh

[ -f examples/app/scripts/ts/user.wasm ] || "$full" build -q examples/app/scripts/ts
mkdir -p "$tmp/app/scripts/ts"
cp -R examples/app/apis "$tmp/app/apis"
cp examples/app/scripts/ts/user.wasm "$tmp/app/scripts/ts/"
echo '{}' >"$tmp/native.json"
echo '{"target": "pulley64"}' >"$tmp/pulley.json"
declare -A port
for kind in native pulley; do
  "$full" compile "$tmp/app" --cache-dir "$tmp/cache-$kind" --config "@$tmp/$kind.json" >/dev/null
  port[$kind]="$(free_port)"
  "$small" serve "$tmp/app" --no-watch --listen "127.0.0.1:${port[$kind]}" --cache-dir "$tmp/cache-$kind" \
    --config "@$tmp/$kind.json" >"$tmp/$kind.log" 2>&1 &
  pids+=($!)
done
for kind in native pulley; do
  for _ in $(seq 200); do grep -q "listening on" "$tmp/$kind.log" && break; sleep 0.05; done
  grep -q "listening on" "$tmp/$kind.log" || { cat "$tmp/$kind.log"; exit 1; }
done
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "${port[native]}" "${port[pulley]}" "$rounds" <<'PY'
import http.client, json, statistics, sys, time
native, pulley, rounds = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
body = json.dumps({"name": "Ada", "email": "ada@example.com"})
conns = {k: http.client.HTTPConnection("127.0.0.1", p) for k, p in (("native", native), ("pulley", pulley))}
times = {k: [] for k in conns}
answers = {}
def call(kind):
    c = conns[kind]
    t = time.perf_counter()
    c.request("POST", "/api/user/check", body, {"Content-Type": "application/json"})
    r = c.getresponse(); data = r.read()
    times[kind].append(time.perf_counter() - t)
    assert r.status == 200, (kind, r.status, data)
    answers[kind] = json.loads(data)
for _ in range(20):  # warm up
    call("native"); call("pulley")
times = {k: [] for k in conns}
for _ in range(rounds):
    call("native"); call("pulley")
assert answers["native"] == answers["pulley"], answers
def stats(kind):
    c = conns[kind]; c.request("GET", "/stats"); s = json.loads(c.getresponse().read())
    for script in s.get("scripts", []):
        if script.get("id") == "ts.user":
            return script["busy_us"] / script["calls"]
    return float("nan")
med = {k: statistics.median(v) * 1e6 for k, v in times.items()}
p90 = {k: statistics.quantiles(v, n=10)[-1] * 1e6 for k, v in times.items()}
exec_mean = {k: stats(k) for k in conns}
print(f"{rounds} requests each, alternating; same answer: {answers['native']}")
print("| | request p50 | request p90 | exec mean (/stats) |")
print("|---|---:|---:|---:|")
for k in ("native", "pulley"):
    print(f"| {k} | {med[k]:.0f} µs | {p90[k]:.0f} µs | {exec_mean[k]:.0f} µs |")
print(f"pulley / native: request p50 {med['pulley'] / med['native']:.1f}×, exec mean {exec_mean['pulley'] / exec_mean['native']:.1f}×")
PY
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
