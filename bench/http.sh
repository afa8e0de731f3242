#!/usr/bin/env bash
# HTTP benchmark, side by side in one run (issue 6, "Benchmark"): nginx as the origin, reached
#   direct        wrk -> nginx
#   vmesh-tcp     wrk -> vmesh-proxy listener with tcp_proxy -> STATIC cluster -> nginx
#   vmesh-http    wrk -> vmesh-proxy listener with http_connection_manager, route / -> same cluster
#   haproxy-tcp   wrk -> HAProxy `mode tcp`  -> nginx
#   haproxy-http  wrk -> HAProxy `mode http` -> nginx
# Both proxies get one thread (vmesh --concurrency 1, HAProxy nbthread 1) and are dialled explicitly
# (no iptables; bench/tcp-passthrough.sh measures the REDIRECT path). vmesh runs with the JVM flags of
# proxy/jvm.options, the same file ./vmesh and the image use, plus an AppCDS archive written first.
#
# Per round: a throughput run of each case (wrk -t1 -c50, keep-alive), then one fixed-rate run of all five cases
# at 1000 req/s with bench's own open-loop generator (io.vmesh.bench.FixedRateLoad, in bench/target/vmesh-benchmarks.jar):
# request i is due at start + i ms whatever the answers do, each case over its own 10 keep-alive connections
# (a request waits for a free one when all 10 are busy), and its latency is counted from when it was due
# (wrk2's coordinated-omission correction, HdrHistogram). The cases take turns in blocks of 1 s (direct,
# vmesh-tcp, vmesh-http, haproxy-tcp, haproxy-http, direct, ...) until each has had FIXED_SECS (default 20 s:
# 20 000 requests, the p99 on 200 of them), so a change in the machine's load lands on all of them alike and
# every case's "added p99" is its p99 minus direct's from the same run, the same minute (paired); the table
# gives the median of those differences over the rounds and their range. During the fixed-rate run the
# generator, nginx and both proxies run at real-time priority (SCHED_RR 10, every thread; BENCH_RT=0: not):
# at normal priority the generator's and nginx's wake-ups wait behind other processes (builds), which
# put 1-45 ms into direct nginx's own p99 at a load average of 2-3 (bench/RESULTS.md, "tails2"); the
# throughput runs keep normal priority. The generator prints its own send delay (due to sent) too.
# One warm-up pass of every case is not recorded (wrk for WARM seconds on the vmesh cases, SECONDS on
# the others, then a short fixed-rate run of all): with less, C2 is still compiling the HTTP path during the
# measured runs and its CPU is taken from the event loop (bench/tails.sh shows it).
# Proxy CPU per request = utime+stime over the throughput run / requests; RSS idle before any load and
# the highest VmRSS sampled in the middle of throughput runs.
#
# Runs as root in a closed network of its own: two network namespaces on a veth pair.
#   bench/http.sh [ROUNDS] [SECONDS] [WARM]     (defaults: 3 rounds of 10 s per wrk run, 30 s of warm-up)
#   FIXED_SECS=30 bench/http.sh                 (seconds of fixed rate per case and round; default 20)
#   VMESH_JVM_EXTRA="-XX:TieredStopAtLevel=4 -XX:CICompilerCount=2" bench/http.sh   (added after proxy/jvm.options: C2 back)
#   VMESH_PROXY_JAR=/tmp/old/proxy/target/vmesh-proxy.jar bench/http.sh      (another build, e.g. one per commit)
#   VMESH_ALLOC=1 bench/http.sh 2 8    (also garbage per request on the HTTP path: JFR, see the end)
# Needs: wrk, nginx, haproxy, curl (apt-get install -y wrk nginx-light haproxy curl), the built proxy and bench jars
# (./mvnw -B -q -Pbench -pl proxy,bench package -DskipTests).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS="${1:-3}"
SECS="${2:-10}"
WARM="${3:-30}"
FIXED_SECS="${FIXED_SECS:-20}"
PROXY_JAR="$(realpath "${VMESH_PROXY_JAR:-proxy/target/vmesh-proxy.jar}")"
BENCH_JAR="$PWD/bench/target/vmesh-benchmarks.jar"
for tool in wrk nginx haproxy ip curl bc chrt; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install -y wrk nginx-light haproxy curl bc)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench: needs root (network namespaces)" >&2; exit 1; }
[ -f "$PROXY_JAR" ] && [ -f "$BENCH_JAR" ] || { echo "bench: build first: ./mvnw -B -q -Pbench -pl proxy,bench package -DskipTests" >&2; exit 1; }

# the two pods and nginx
# shellcheck source=bench/pods.sh
source bench/pods.sh
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)" >&2

# HAProxy (tcp :8080, http :8081) and vmesh (tcp_proxy :9080, HTTP :9081), both one thread
# shellcheck source=bench/proxies.sh
source bench/proxies.sh
start_proxies
sleep 2
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
VMESH_RSS_IDLE=$(rss_kb "$VMESH_PID"); HAPROXY_RSS_IDLE=$(rss_kb "$HAPROXY_PID")
for url in "http://$SERVER/1k" http://127.0.0.1:8080/1k http://127.0.0.1:8081/1k http://127.0.0.1:9080/1k http://127.0.0.1:9081/1k; do
  ip netns exec "$C" curl -sf -o /dev/null "$url" || { echo "bench: $url does not answer" >&2; cat "$work/proxy.err" >&2; exit 1; }
done

us() { awk 'function us(v) { if (v ~ /us$/) return v+0; if (v ~ /ms$/) return (v+0)*1000; if (v ~ /s$/) return (v+0)*1000000; return v } {print us($1)}'; }
throughput() { # url [seconds] -> "req/s requests"
  ip netns exec "$C" wrk -t1 -c50 -d"${2:-$SECS}s" "$1" 2>&1 | awk '/Requests\/sec/ {rps=$2} /requests in/ {n=$1} END {printf "%d %d\n", rps, n}'
}
# the fixed-rate run of every case at once, interleaved in 1 s blocks (see above) -> one line per case, in the
# cases' order: "p50 p99 p99.9 rate errors send-delay-p99" (µs, req/s)
paced() { # seconds url...
  local secs=$1; shift
  local rt=(); [ "${BENCH_RT:-1}" = 0 ] || rt=(chrt -r 10)
  [ "${BENCH_RT:-1}" = 0 ] || realtime 10
  ip netns exec "$C" "${rt[@]}" java "${generator_jvm[@]}" -cp "$BENCH_JAR" io.vmesh.bench.FixedRateLoad \
      --rate 1000 --duration "$secs" --block-ms 1000 --warmup 1 --connections 10 "$@" 2>&1 \
    | awk '/^RESULT/ { delete r; for (i = 2; i <= NF; i++) { split($i, kv, "="); r[kv[1]] = kv[2] }
                       printf "%d %d %d %d %d %d\n", r["p50"], r["p99"], r["p999"], r["rate"], r["errors"], r["late99"] }'
  [ "${BENCH_RT:-1}" = 0 ] || realtime 0
}

declare -A results
cases=("direct http://$SERVER/1k" "vmesh-tcp http://127.0.0.1:9080/1k" "vmesh-http http://127.0.0.1:9081/1k"
       "haproxy-tcp http://127.0.0.1:8080/1k" "haproxy-http http://127.0.0.1:8081/1k")
HZ=$(getconf CLK_TCK)
urls=(); for c in "${cases[@]}"; do urls+=("${c#* }"); done
# warm-up, not recorded: the JIT compiles the proxy's paths, pools and caches fill
for c in "${cases[@]}"; do
  w=$SECS; case "$c" in vmesh*) w=$WARM ;; esac
  throughput "${c#* }" "$w" >/dev/null
done
paced 3 "${urls[@]}" >/dev/null
VMESH_RSS_LOAD=0; HAPROXY_RSS_LOAD=0
for r in $(seq 1 "$ROUNDS"); do
  for c in "${cases[@]}"; do
    name="${c%% *}"; url="${c#* }"
    pid=""; case "$name" in vmesh*) pid=$VMESH_PID ;; haproxy*) pid=$HAPROXY_PID ;; esac
    t0=0; [ -n "$pid" ] && t0=$(cpu_ticks "$pid")
    sampler=""
    if [ -n "$pid" ]; then (sleep "$((SECS / 2))"; rss_kb "$pid" > "$work/rss.mid") & sampler=$!; fi
    read -r rps n < <(throughput "$url")
    [ -z "$sampler" ] || wait "$sampler"
    cpu_ns=0; [ -n "$pid" ] && [ "$n" -gt 0 ] && cpu_ns=$(( ($(cpu_ticks "$pid") - t0) * 1000000000 / HZ / n ))
    if [ -n "$pid" ]; then
      mid=$(cat "$work/rss.mid")
      case "$name" in vmesh*) [ "$mid" -gt "$VMESH_RSS_LOAD" ] && VMESH_RSS_LOAD=$mid ;; *) [ "$mid" -gt "$HAPROXY_RSS_LOAD" ] && HAPROXY_RSS_LOAD=$mid ;; esac
    fi
    results["$name,rps"]+="$rps "; results["$name,cpu"]+="$cpu_ns "
    echo "round $r $name: $rps req/s, cpu/req ${cpu_ns}ns; load $(cut -d' ' -f1 /proc/loadavg)" >&2
  done
  load0=$(cut -d' ' -f1 /proc/loadavg)
  paced "$FIXED_SECS" "${urls[@]}" > "$work/paced"
  [ "$(wc -l < "$work/paced")" = "${#cases[@]}" ] || { echo "bench: the fixed-rate run gave no result for every case" >&2; exit 1; }
  i=0; d99=0
  while read -r p50 p99 p999 rate errors late99; do
    name="${cases[$i]%% *}"; i=$((i + 1))
    [ "$name" = direct ] && d99=$p99
    results["$name,p50"]+="$p50 "; results["$name,p99"]+="$p99 "; results["$name,p999"]+="$p999 "
    results["$name,rate"]+="$rate "; results["$name,late"]+="$late99 "; results["$name,errors"]+="$errors "
    [ "$name" = direct ] || results["$name,added"]+="$((p99 - d99)) "
    echo "round $r $name: fixed-rate $rate req/s ($errors errors) p50 ${p50}us p99 ${p99}us p99.9 ${p999}us (generator send delay p99 ${late99}us), added p99 $([ "$name" = direct ] && echo - || echo "$((p99 - d99))us"); load $load0 -> $(cut -d' ' -f1 /proc/loadavg)" >&2
  done < "$work/paced"
done

echo
echo "### Run ($(date -u '+%Y-%m-%d %H:%M') UTC, $ROUNDS rounds, wrk ${SECS}s and fixed rate ${FIXED_SECS}s per case and round, 1 KiB body, medians of the rounds; fixed rate at $([ "${BENCH_RT:-1}" = 0 ] && echo "normal" || echo "real-time") priority; load average at the end $(cut -d' ' -f1-3 /proc/loadavg))"
echo
echo "| case | req/s (wrk -c50) | ratio to direct | proxy CPU/req µs | fixed-rate req/s | p50 µs | p99 µs | p99.9 µs | added p99 µs (range over rounds) | generator send delay p99 µs |"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
d=$(echo "${results[direct,rps]}" | median)
range() { tr ' ' '\n' | grep -v '^$' | sort -n | sed -n '1p;$p' | paste -sd' ' | awk '{printf "%d..%d", $1, $2}'; }
for c in "${cases[@]}"; do
  name="${c%% *}"
  rps=$(echo "${results[$name,rps]}" | median); cpu=$(echo "${results[$name,cpu]}" | median)
  printf "| %s | %d | %.2f | %s | %d | %d | %d | %d | %s | %d |\n" "$name" "$rps" "$(echo "$rps / $d" | bc -l)" \
    "$([ "$name" = direct ] && echo - || printf %.1f "$(echo "$cpu / 1000" | bc -l)")" \
    "$(echo "${results[$name,rate]}" | median)" "$(echo "${results[$name,p50]}" | median)" "$(echo "${results[$name,p99]}" | median)" \
    "$(echo "${results[$name,p999]}" | median)" \
    "$([ "$name" = direct ] && echo - || echo "$(echo "${results[$name,added]}" | median) ($(echo "${results[$name,added]}" | range))")" \
    "$(echo "${results[$name,late]}" | median)"
done
echo
echo "Added p99 by round (case minus direct, same fixed-rate run): $(for c in "${cases[@]:1}"; do printf '%s %s; ' "${c%% *}" "${results[${c%% *},added]}"; done)"
echo
echo "| | vmesh-proxy | HAProxy |"
echo "| --- | ---: | ---: |"
echo "| RSS idle | $((VMESH_RSS_IDLE / 1024)) MiB | $((HAPROXY_RSS_IDLE / 1024)) MiB |"
echo "| RSS under load (highest mid-run sample) | $((VMESH_RSS_LOAD / 1024)) MiB | $((HAPROXY_RSS_LOAD / 1024)) MiB |"
echo "| RSS after the runs | $(($(rss_kb "$VMESH_PID") / 1024)) MiB | $(($(rss_kb "$HAPROXY_PID") / 1024)) MiB |"
echo "| start to /healthz/ready 200 (AppCDS) | ${READY_MS} ms | - |"

# VMESH_ALLOC=1: garbage per request on the vmesh-http path, after the rounds (the JIT warm): a JFR
# recording around one more throughput run; jdk.ThreadAllocationStatistics (exact bytes per thread, taken
# at the recording's start and end) of the proxy's Vert.x threads, difference over the requests wrk made.
if [ -n "${VMESH_ALLOC:-}" ]; then
  ip netns exec "$C" jcmd "$VMESH_PID" JFR.start name=alloc settings=default >/dev/null
  read -r rps n < <(throughput http://127.0.0.1:9081/1k)
  ip netns exec "$C" jcmd "$VMESH_PID" JFR.stop name=alloc filename="$work/alloc.jfr" >/dev/null
  bytes=$(jfr print --events jdk.ThreadAllocationStatistics "$work/alloc.jfr" | awk '
    /allocated = / {u=$4; v=$3 * (u ~ /^kB/ ? 1024 : u ~ /^MB/ ? 1048576 : u ~ /^GB/ ? 1073741824 : 1)}
    /thread = "vert\.x/ {t=$3; if (!(t in lo) || v < lo[t]) lo[t]=v; if (v > hi[t]) hi[t]=v}
    END {s=0; for (t in hi) s+=hi[t]-lo[t]; printf "%d", s}')
  echo
  echo "| allocation (vmesh-http, one more ${SECS}s wrk run, JFR thread allocation of the Vert.x threads) | $n requests | $((bytes / 1024 / 1024)) MiB | $((bytes / n)) bytes/request |"
fi
