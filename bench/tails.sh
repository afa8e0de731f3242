#!/usr/bin/env bash
# Where the latency tail at 1000 req/s comes from (issue 6, "added p99"): the fixed-rate run of bench/http.sh
# alone, longer, with vmesh's safepoints (GC and others) logged on the generator's clock and lined up with
# the slow requests, and every proxy thread's CPU and wake-ups counted.
#
# Setup as bench/http.sh (bench/pods.sh, bench/proxies.sh): direct nginx, vmesh tcp_proxy and HTTP, HAProxy
# tcp and http, one thread each. vmesh additionally runs with -Xlog:safepoint,gc,jit+compilation (decoration `tn` =
# System.nanoTime, the clock of FixedRateLoad --trace). Warm-up: wrk -t1 -c50 for WARM seconds on every
# case (the JIT), not recorded. Then per proxied case: FixedRateLoad at 1000 req/s over 10 connections, the case
# interleaved with direct nginx in 1 s blocks for SECONDS each (so the added p99 is paired within the run), at
# real-time priority like bench/http.sh's fixed-rate run (BENCH_RT=0: normal); each trace fed to
# io.vmesh.bench.TailReport with the JVM log (which slow requests were in flight during a safepoint; the p99
# with the pauses taken out; the generator's send delay apart; the same against the generator's own
# safepoints), per proxy thread, CPU ms and context switches (voluntary = went to sleep and was woken) over
# the run (the direct blocks included: the proxy idles through them).
#
#   bench/tails.sh [SECONDS] [WARM]     (defaults 20 and 30, as bench/http.sh; root)
#   VMESH_PROXY_JAR=... VMESH_JVM_EXTRA="..." bench/tails.sh      (another build; flags after proxy/jvm.options)
#   TAIL_THRESHOLD_US=1000                                         (what counts as a slow request)
#   TAIL_OUT=DIR                                                   (keep the JVM log and each case's trace there)
set -euo pipefail
cd "$(dirname "$0")/.."

SECS="${1:-20}"
WARM="${2:-30}"
PROXY_JAR="$(realpath "${VMESH_PROXY_JAR:-proxy/target/vmesh-proxy.jar}")"
BENCH_JAR="$PWD/bench/target/vmesh-benchmarks.jar"
THRESHOLD="${TAIL_THRESHOLD_US:-1000}"
for tool in wrk nginx haproxy ip curl chrt; do
  command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install -y wrk nginx-light haproxy curl)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "bench: needs root (network namespaces)" >&2; exit 1; }
[ -f "$PROXY_JAR" ] && [ -f "$BENCH_JAR" ] || { echo "bench: build first: ./mvnw -B -q -Pbench -pl proxy,bench package -DskipTests" >&2; exit 1; }

# shellcheck source=bench/pods.sh
source bench/pods.sh
echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
# shellcheck source=bench/proxies.sh
source bench/proxies.sh
start_proxies "-Xlog:safepoint=info,gc=info,jit+compilation=debug:file=$work/jvm.log:tn,tags"
sleep 1

threads() { # pid -> "tid name utime+stime(ticks) voluntary nonvoluntary" per thread
  for t in /proc/"$1"/task/*; do
    printf '%s %s %s %s %s\n' "${t##*/}" "$(tr ' ' _ < "$t/comm")" "$(awk '{print $14 + $15}' "$t/stat")" \
      "$(awk '/^voluntary_ctxt/ {print $2}' "$t/status")" "$(awk '/^nonvoluntary_ctxt/ {print $2}' "$t/status")"
  done 2>/dev/null
}
HZ=$(getconf CLK_TCK)

cases=("direct http://$SERVER/1k" "vmesh-tcp http://127.0.0.1:9080/1k" "vmesh-http http://127.0.0.1:9081/1k"
       "haproxy-tcp http://127.0.0.1:8080/1k" "haproxy-http http://127.0.0.1:8081/1k")
for c in "${cases[@]}"; do ip netns exec "$C" wrk -t1 -c50 -d"${WARM}s" "${c#* }" >/dev/null; done
echo "vmesh RSS after warm-up: $(( $(awk '/VmRSS/ {print $2}' /proc/"$VMESH_PID"/status) / 1024 )) MiB"
codecache() { jcmd "$VMESH_PID" Compiler.codecache 2>/dev/null | grep -m2 -i 'size=\|full' | tr -s ' ' || true; }
echo "vmesh code cache after warm-up: $(codecache)"

direct_url="${cases[0]#* }"
for c in "${cases[@]:1}"; do
  name="${c%% *}"; url="${c#* }"
  pid=""; case "$name" in vmesh*) pid=$VMESH_PID ;; haproxy*) pid=$HAPROXY_PID ;; esac
  threads "$pid" > "$work/before"
  cpu0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  load0=$(cut -d' ' -f1 /proc/loadavg)
  rt=(); [ "${BENCH_RT:-1}" = 0 ] || { rt=(chrt -r 10); realtime 10; }
  ip netns exec "$C" "${rt[@]}" java "${generator_jvm[@]}" \
      -Xlog:safepoint=info,jit+compilation=debug:file="$work/generator.log":tn,tags -cp "$BENCH_JAR" io.vmesh.bench.FixedRateLoad \
    --rate 1000 --duration "$SECS" --block-ms 1000 --warmup 1 --connections 10 --trace "$work/trace" "$direct_url" "$url" > "$work/result"
  [ "${BENCH_RT:-1}" = 0 ] || realtime 0
  threads "$pid" > "$work/after"
  cpu1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
  echo
  echo "== $name ($url) interleaved with direct ($direct_url) in 1 s blocks, ${SECS} s each, $([ "${BENCH_RT:-1}" = 0 ] && echo normal || echo real-time) priority; load average $load0 -> $(cut -d' ' -f1 /proc/loadavg)"
  grep -v '^RESULT' "$work/result"
  log=(); case "$name" in vmesh*) log=(--jvm-log "$work/jvm.log") ;; esac
  [ -z "${TAIL_OUT:-}" ] || { mkdir -p "$TAIL_OUT"; cp "$work/trace.1" "$TAIL_OUT/$name.trace"; cp "$work/trace.0" "$TAIL_OUT/direct-with-$name.trace"
                              cp "$work/generator.log" "$TAIL_OUT/$name.generator.log"; }
  echo "-- $name"
  java -cp "$BENCH_JAR" io.vmesh.bench.TailReport --trace "$work/trace.1" "${log[@]}" --threshold-us "$THRESHOLD" | tee "$work/tail.case"
  echo "-- direct, the same run"
  java -cp "$BENCH_JAR" io.vmesh.bench.TailReport --trace "$work/trace.0" "${log[@]}" --threshold-us "$THRESHOLD" | tee "$work/tail.direct"
  p99() { awk '/^TAIL/ { for (i = 2; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "p99") print kv[2] } }' "$1"; }
  echo "added p99 (paired, this run): $(( $(p99 "$work/tail.case") - $(p99 "$work/tail.direct") )) µs"
  # the generator's own pauses, against the same requests (its tail is in every case's figures)
  echo "the generator's JVM: $(java -cp "$BENCH_JAR" io.vmesh.bench.TailReport --trace "$work/trace.1" --jvm-log "$work/generator.log" \
    --threshold-us "$THRESHOLD" | grep '^TAIL' | cut -d' ' -f4-)"
  # the run includes the generator's 1 s warm-ups: per-second figures divide by the run's length
  s=$((2 * SECS + 2))
  echo "process CPU over the run ($s s, half of it direct's blocks): $(( (cpu1 - cpu0) * 1000 / HZ )) ms = $(( (cpu1 - cpu0) * 1000000 / HZ / (SECS + 1) / 1000 )) µs per request of $name"
  echo "per thread: CPU ms, wake-ups/s (voluntary context switches), preempted/s, over the $s s"
  # threads started during the run (C2 compiler threads come and go) count from 0
  join -a2 -e0 -o 2.1,2.2,1.3,1.4,1.5,2.2,2.3,2.4,2.5 <(sort "$work/before") <(sort "$work/after") | awk -v hz="$HZ" -v s="$s" '
    { cpu = ($7 - $3) * 1000 / hz; v = ($8 - $4) / s; n = ($9 - $5) / s
      if (cpu > 0 || v > 0.05) printf "  %-28s %8.0f ms %9.1f /s %7.1f /s\n", $2, cpu, v, n }'
done
[ -z "${TAIL_OUT:-}" ] || cp "$work/jvm.log" "$TAIL_OUT/vmesh-jvm.log"
echo
echo "vmesh code cache at the end: $(codecache)"
echo "vmesh RSS at the end: $(( $(awk '/VmRSS/ {print $2}' /proc/"$VMESH_PID"/status) / 1024 )) MiB; load average at the end $(cut -d' ' -f1-3 /proc/loadavg)"
