#!/usr/bin/env bash
# TCP passthrough benchmark, side by side in one run: direct vs vmesh (iptables REDIRECT -> vmesh-proxy
# virtualOutbound -> original destination) vs HAProxy (tcp mode), interleaved rounds, medians reported.
#
# Runs as root in a closed network of its own (two network namespaces on a veth pair, never attached to
# this machine's network): pod "client" runs wrk (and the proxy under test), pod "server" runs nginx.
#   bench/tcp-passthrough.sh [ROUNDS] [SECONDS]     (defaults: 5 rounds of 10 s per case)
# Needs: wrk, nginx, haproxy (apt-get install -y wrk nginx-light haproxy), the built proxy jar.
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${1:-5}"
SECS="${2:-10}"
CONNS=50
PROXY_JAR="$PWD/proxy/target/vmesh-proxy.jar"
for tool in wrk nginx haproxy ip iptables-restore; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install -y wrk nginx-light haproxy iptables iproute2)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench: needs root (network namespaces, iptables)" >&2; exit 1; }
[ -f "$PROXY_JAR" ] || { echo "bench: build first: ./mvnw -B -q package -DskipTests" >&2; exit 1; }

# the two pods and nginx
# shellcheck source=bench/pods.sh
source bench/pods.sh

# HAProxy in the client pod, tcp mode, one thread: the app dials it explicitly
cat > "$work/haproxy.cfg" <<HAP
global
  nbthread 1
  maxconn 4000
defaults
  mode tcp
  timeout connect 5s
  timeout client 60s
  timeout server 60s
listen tcp
  bind 127.0.0.1:8080
  server origin $SERVER:80
HAP
ip netns exec "$C" haproxy -f "$work/haproxy.cfg" -db & pids+=($!)
HAPROXY_PID=$!

# vmesh in the client pod: capture rules, then the proxy as uid 1337 with one event loop
cp "$PROXY_JAR" "$work/vmesh-proxy.jar"; chmod 644 "$work/vmesh-proxy.jar"
ip netns exec "$C" java -jar "$work/vmesh-proxy.jar" capture >/dev/null
start_ns=$(date +%s%N)
ip netns exec "$C" setpriv --reuid=1337 --regid=1337 --clear-groups \
  java -XX:+UseSerialGC -Xms16m -Xmx64m \
  -jar "$work/vmesh-proxy.jar" run --concurrency 1 >"$work/proxy.out" 2>"$work/proxy.err" &
pids+=($!)
VMESH_PID=$!
until grep -q "vmesh-proxy ready" "$work/proxy.err" 2>/dev/null; do sleep 0.02; done
ready_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
sleep 1
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
VMESH_RSS_IDLE=$(rss_kb "$VMESH_PID"); HAPROXY_RSS_IDLE=$(rss_kb "$HAPROXY_PID")

# wrk as an ordinary app uid: uid 1337 would bypass the capture rules
run_wrk() { # url extra-args... -> "req/s p50_us p99_us requests"
  local url="$1"; shift
  ip netns exec "$C" setpriv --reuid=1000 --regid=1000 --clear-groups \
    wrk -t1 -c"$CONNS" -d"${SECS}s" --latency "$@" "$url" 2>&1 | awk '
      function us(v) { if (v ~ /us$/) return v+0; if (v ~ /ms$/) return (v+0)*1000; if (v ~ /s$/) return (v+0)*1000000; return v }
      /Requests\/sec/ {rps=$2} /^ +50%/ {p50=us($2)} /^ +99%/ {p99=us($2)} /requests in/ {n=$1}
      END {printf "%d %d %d %d\n", rps, p50, p99, n}'
}

declare -A results
cases=("direct http://$SERVER/1k" "vmesh http://$SERVER/1k" "haproxy http://127.0.0.1:8080/1k")
HZ=$(getconf CLK_TCK)
for mode in keepalive close; do
  extra=(); [ "$mode" = close ] && extra=(-H "Connection: close")
  for r in $(seq 1 "$ROUNDS"); do
    for c in "${cases[@]}"; do
      name="${c%% *}"; url="${c#* }"
      pid=""; [ "$name" = vmesh ] && pid=$VMESH_PID; [ "$name" = haproxy ] && pid=$HAPROXY_PID
      t0=0; [ -n "$pid" ] && t0=$(cpu_ticks "$pid")
      read -r rps p50 p99 n < <(run_wrk "$url" "${extra[@]}")
      # CPU per request in ns, to keep resolution at these rates
      cpu_ns=0; [ -n "$pid" ] && [ "$n" -gt 0 ] && cpu_ns=$(( ($(cpu_ticks "$pid") - t0) * 1000000000 / HZ / n ))
      results["$mode,$name,rps"]+="$rps "; results["$mode,$name,p50"]+="$p50 "; results["$mode,$name,p99"]+="$p99 "
      results["$mode,$name,cpu"]+="$cpu_ns "
      echo "round $r $mode $name: $rps req/s p50 ${p50}us p99 ${p99}us cpu/req ${cpu_ns}ns" >&2
    done
  done
done
VMESH_RSS_LOAD=$(rss_kb "$VMESH_PID"); HAPROXY_RSS_LOAD=$(rss_kb "$HAPROXY_PID")

echo
echo "## TCP passthrough ($(date -u +%Y-%m-%d), $ROUNDS rounds x ${SECS}s, wrk -t1 -c$CONNS, 1 KiB body, medians)"
echo
echo "| connections | case | req/s | ratio to direct | p50 µs | p99 µs | proxy CPU/req µs |"
echo "| --- | --- | ---: | ---: | ---: | ---: | ---: |"
for mode in keepalive close; do
  d=$(echo "${results[$mode,direct,rps]}" | median)
  for name in direct vmesh haproxy; do
    rps=$(echo "${results[$mode,$name,rps]}" | median)
    cpu=$(echo "${results[$mode,$name,cpu]}" | median)
    printf "| %s | %s | %d | %.2f | %d | %d | %s |\n" "$mode" "$name" "$rps" "$(echo "$rps / $d" | bc -l)" \
      "$(echo "${results[$mode,$name,p50]}" | median)" "$(echo "${results[$mode,$name,p99]}" | median)" \
      "$([ "$name" = direct ] && echo - || printf %.1f "$(echo "$cpu / 1000" | bc -l)")"
  done
done
echo
echo "| | vmesh-proxy | HAProxy |"
echo "| --- | ---: | ---: |"
echo "| RSS idle | $((VMESH_RSS_IDLE / 1024)) MiB | $((HAPROXY_RSS_IDLE / 1024)) MiB |"
echo "| RSS after load | $((VMESH_RSS_LOAD / 1024)) MiB | $((HAPROXY_RSS_LOAD / 1024)) MiB |"
echo "| start to ready | ${ready_ms} ms | - |"
