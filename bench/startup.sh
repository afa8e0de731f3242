#!/usr/bin/env bash
# Start-to-ready and idle RSS of `vmesh-proxy run` (built-in bootstrap, or a file: BOOTSTRAP below) under several JVM flag sets.
# Each run is a fresh network namespace of its own (the proxy binds its fixed ports there), removed
# afterwards. "ready" = from the exec to the first 200 of GET /healthz/ready (polled every 10 ms with
# curl); CPU = the JVM's user + system time at that moment (steadier than the wall clock on a loaded
# machine); RSS = VmRSS 3 s after it; classes = the classes loaded then (jcmd VM.class_hierarchy).
#   JAR=/path/to/other/vmesh-proxy.jar OPTIONS=/path/to/other/jvm.options SETS="6 7" ./bench/startup.sh 3
#                                   # another build and flag file (sets 6, 7), e.g. main's, to compare
#   ./mvnw -B -q -pl proxy package -DskipTests
#   ./bench/startup.sh 5            # runs per flag set (as root)
#   SETS="6 7" ./bench/startup.sh 5 # only some sets, by number
#   BOOTSTRAP=yaml ./bench/startup.sh 3   # from a bootstrap file (bench/http.sh's: a tcp_proxy and an HTTP
#   BOOTSTRAP=json ./bench/startup.sh 3   # listener, one STATIC cluster) instead of the built-in bootstrap
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}"
jar="${JAR:-$PWD/proxy/target/vmesh-proxy.jar}"
work="$(mktemp -d /tmp/vmesh-startup.XXXXXX)"
ns="vmesh-startup-$$"
pid=""
cleanup() {
  if [ -n "$pid" ]; then kill -9 "$pid" 2>/dev/null || true; fi
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# --bootstrap FILE, or nothing (the built-in bootstrap)
run_args=(run)
case "${BOOTSTRAP:-}" in
  "") ;;
  yaml|json)
    # shellcheck source=bench/bootstrap.sh
    source bench/bootstrap.sh
    static_bootstrap 127.0.0.1 8080 > "$work/bootstrap.yaml"
    if [ "$BOOTSTRAP" = json ]; then
      python3 -c 'import json, sys, yaml; json.dump(yaml.safe_load(open(sys.argv[1])), open(sys.argv[2], "w"), indent=2)' \
        "$work/bootstrap.yaml" "$work/bootstrap.json"
    fi
    run_args=(run --bootstrap "$work/bootstrap.$BOOTSTRAP") ;;
  *) echo "startup: BOOTSTRAP is yaml, json or unset, got $BOOTSTRAP" >&2; exit 1 ;;
esac

base="-XX:+UseSerialGC -Xms16m -Xmx64m"
small="$base -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -Xss256k -XX:ReservedCodeCacheSize=24m -XX:MaxMetaspaceSize=64m -XX:+UseCompressedOops"
# what ./vmesh proxy run used before proxy/jvm.options (C2 kept)
launcher="-XX:+UseSerialGC -Xms8m -Xmx64m -Xss256k -XX:ReservedCodeCacheSize=32m -XX:-UsePerfData"
options="@${OPTIONS:-$PWD/proxy/jvm.options}"
lean="-XX:+UseSerialGC -Xms8m -Xmx48m -XX:TieredStopAtLevel=1 -XX:CICompilerCount=1 -Xss256k -XX:ReservedCodeCacheSize=16m -XX:MaxMetaspaceSize=64m -XX:-UsePerfData"
# each set is the command that starts the JVM, flags included
declare -A sets=(
  [1-heap-only]="java $base"
  [2-c1-only-small-stacks]="java $small"
  [3-small+appcds]="java $small -XX:SharedArchiveFile=$work/vmesh-proxy.jsa"
  [4-lean+appcds+malloc-arenas-2]="env MALLOC_ARENA_MAX=2 java $lean -XX:SharedArchiveFile=$work/vmesh-proxy.jsa"
  [5-launcher-c2]="env MALLOC_ARENA_MAX=2 java $launcher -XX:SharedArchiveFile=$work/vmesh-proxy.jsa"
  [6-jvm.options]="env MALLOC_ARENA_MAX=2 java $options"
  [7-jvm.options+appcds]="env MALLOC_ARENA_MAX=2 java $options -XX:SharedArchiveFile=$work/options.jsa"
)
[ -z "${SETS:-}" ] || for name in "${!sets[@]}"; do [[ " $SETS " == *" ${name%%-*} "* ]] || unset "sets[$name]"; done

# the AppCDS archives: one run that records the classes it loaded, as the image would do at build time;
# one per flag family, since an archive is only used with compatible flags
dump() { # archive flags...
  local archive=$1; shift
  ip netns add "$ns"; ip netns exec "$ns" ip link set lo up
  ip netns exec "$ns" java "$@" -XX:ArchiveClassesAtExit="$archive" -jar "$jar" "${run_args[@]}" >/dev/null 2>"$work/dump.err" &
  pid=$!
  until grep -q "vmesh-proxy ready" "$work/dump.err" 2>/dev/null; do sleep 0.05; done
  kill -TERM "$pid"; wait "$pid" || true; pid=""
  ip netns del "$ns"
}
# shellcheck disable=SC2086
dump "$work/vmesh-proxy.jsa" $small
dump "$work/options.jsa" "$options"

echo "bootstrap: ${BOOTSTRAP:-built-in}; load average at the start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "| flags | run | start to ready ms | CPU to ready ms | RSS idle MiB | classes |"
echo "| --- | ---: | ---: | ---: | ---: | ---: |"
for name in $(printf '%s\n' "${!sets[@]}" | sort); do
  for i in $(seq "$runs"); do
    ip netns add "$ns"; ip netns exec "$ns" ip link set lo up
    rm -f "$work/run.err" # else the wait below could read the previous run's "ready"
    start_ns=$(date +%s%N)
    # shellcheck disable=SC2086
    ip netns exec "$ns" ${sets[$name]} -jar "$jar" "${run_args[@]}" >/dev/null 2>"$work/run.err" &
    pid=$!
    until ip netns exec "$ns" curl -sf -o /dev/null http://127.0.0.1:15021/healthz/ready; do
      kill -0 "$pid" 2>/dev/null || { cat "$work/run.err" >&2; exit 1; }
      sleep 0.01
    done
    ready_ms=$(( ($(date +%s%N) - start_ns) / 1000000 ))
    cpu_ms=$(awk -v hz="$(getconf CLK_TCK)" '{print int(($14 + $15) * 1000 / hz)}' "/proc/$pid/stat")
    sleep 3
    rss_kb=$(awk '/VmRSS/ {print $2}' "/proc/$pid/status")
    classes=$(jcmd "$pid" VM.class_hierarchy 2>/dev/null | grep -c -- '-' || true)
    kill -TERM "$pid"; wait "$pid" || true; pid=""
    ip netns del "$ns"
    echo "| $name | $i | $ready_ms | $cpu_ms | $((rss_kb / 1024)) | $classes |"
  done
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
