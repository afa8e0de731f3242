#!/usr/bin/env bash
# Syscalls and CPU per request of the vmesh-http case (wrk -t1 -c50 -> http_connection_manager -> nginx),
# for one or more proxy builds in turn — written for the buffered access log (bench/RESULTS.md,
# "HTTP connection manager: profiled and fixed"). Root; everything runs in a network namespace of its
# own (loopback only), removed at exit.
#   bench/accesslog-syscalls.sh [SECONDS] JAR...      e.g. bench/accesslog-syscalls.sh 10 /work/main/proxy/target/vmesh-proxy.jar proxy/target/vmesh-proxy.jar
set -euo pipefail
secs=${1:?seconds}; shift
ns=vmesh-alog-$$
work=$(mktemp -d)
cleanup() { ip netns pids "$ns" 2>/dev/null | xargs -r kill 2>/dev/null || true; sleep 0.5; ip netns del "$ns" 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
cat > "$work/nginx.conf" <<CONF
worker_processes 1; daemon on; pid $work/nginx.pid; error_log /dev/null;
events { worker_connections 1024; }
http { access_log off; server { listen 127.0.0.1:80; location / { return 200 "hello\n"; } } }
CONF
ip netns exec "$ns" nginx -c "$work/nginx.conf"
# shellcheck source=bench/bootstrap.sh
source "$(dirname "$0")/bootstrap.sh"
static_bootstrap 127.0.0.1 80 > "$work/bootstrap.yaml"  # its HTTP listener, 127.0.0.1:9081, is the one measured
# shellcheck disable=SC2207
jvm=($(grep -v '^ *#' "$(dirname "$0")/../proxy/jvm.options" | sed 's/#.*//'))
for jar in "$@"; do
  ip netns exec "$ns" env MALLOC_ARENA_MAX=2 java "${jvm[@]}" -jar "$jar" run --bootstrap "$work/bootstrap.yaml" --concurrency 1 \
    >"$work/access.log" 2>"$work/proxy.err" &
  pid=$!
  until ip netns exec "$ns" curl -sf -o /dev/null http://127.0.0.1:15021/healthz/ready; do sleep 0.2; done
  ip netns exec "$ns" wrk -t1 -c50 -d5s http://127.0.0.1:9081/ >/dev/null # warm-up
  echo "== $jar  loadavg before: $(cat /proc/loadavg)"
  # CPU per request over a run without strace (it slows the proxy down)
  ticks0=$(awk '{print $14+$15}' "/proc/$pid/stat")
  ip netns exec "$ns" wrk -t1 -c50 -d"${secs}s" http://127.0.0.1:9081/ >"$work/wrk.out"
  ticks1=$(awk '{print $14+$15}' "/proc/$pid/stat")
  reqs=$(awk '/requests in/ {print $1}' "$work/wrk.out")
  echo "   $(grep -E 'Requests/sec' "$work/wrk.out")   loadavg after: $(cat /proc/loadavg)"
  echo "   CPU/request: $(awk -v t=$((ticks1 - ticks0)) -v r="$reqs" -v hz="$(getconf CLK_TCK)" 'BEGIN {printf "%.1f µs", t / hz / r * 1e6}')"
  # then syscalls: strace -c for 4 s in the middle of a second run; requests counted by the access log
  ip netns exec "$ns" wrk -t1 -c50 -d"${secs}s" http://127.0.0.1:9081/ >/dev/null &
  wrk=$!
  sleep $((secs / 3))
  lines0=$(wc -l <"$work/access.log")
  timeout -s INT 4 strace -c -f -p "$pid" -o "$work/strace.out" 2>/dev/null || true
  lines1=$(wc -l <"$work/access.log")
  wait "$wrk"
  n=$((lines1 - lines0))
  echo "   syscalls per request under strace (~$n requests, by the access log):"
  awk -v n="$n" '$NF ~ /^(write|writev|sendto|recvfrom|epoll_wait|read)$/ {printf "     %-10s %.3f\n", $NF, $4 / n}' "$work/strace.out"
  kill "$pid"; wait "$pid" 2>/dev/null || true
done
