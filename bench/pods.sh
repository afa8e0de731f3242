# Sourced by the HTTP benchmarks: two network namespaces on a veth pair (pod "client" 10.89.0.1, pod
# "server" 10.89.0.2), never attached to this machine's network, with nginx as the origin in "server"
# (one worker, a 1 KiB body at /1k). Sets C, S, SERVER, work (a temporary folder), pids (processes to
# stop) and a trap that removes all of it on exit. Also: median (of numbers on stdin), generator_jvm, realtime.
tag="vmb$$"
C="$tag-client"; S="$tag-server"
work="$(mktemp -d /tmp/vmesh-bench.XXXXXX)"; chmod 755 "$work"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for ns in "$C" "$S"; do
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM

ip netns add "$C"; ip netns add "$S"
ip link add eth0 netns "$C" type veth peer name eth0 netns "$S"
ip -n "$C" addr add 10.89.0.1/24 dev eth0; ip -n "$S" addr add 10.89.0.2/24 dev eth0
for ns in "$C" "$S"; do ip -n "$ns" link set lo up; ip -n "$ns" link set eth0 up; done
SERVER=10.89.0.2

mkdir -p "$work/www"; head -c 1024 /dev/zero | tr '\0' 'x' > "$work/www/1k"
cat > "$work/nginx.conf" <<NGX
worker_processes 1; daemon off; pid $work/nginx.pid; error_log $work/nginx.err;
events { worker_connections 4096; }
http { access_log off; keepalive_requests 1000000;
  server { listen 80 reuseport; root $work/www; } }
NGX
ip netns exec "$S" nginx -c "$work/nginx.conf" & pids+=($!)

# The JVM of the fixed-rate generator (io.vmesh.bench.FixedRateLoad, run in the client pod): a young generation
# that does not fill during a run (it makes ~5 MB of garbage a second at 1000 req/s; with the 21 MiB of a 64 MiB
# heap it collected every 3-4 s, 10-35 ms a pause on a loaded machine, charged to ~0.3 % of every case's requests:
# bench/RESULTS.md, "Where the tail at 1000 req/s comes from"), touched up front so no page fault lands mid-run.
generator_jvm=(-XX:+UseSerialGC -Xms512m -Xmx512m -Xmn448m -XX:+AlwaysPreTouch -XX:TieredStopAtLevel=1)

median() { tr ' ' '\n' | grep -v '^$' | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : int((a[NR/2]+a[NR/2+1])/2))}'; }

# Every thread of nginx (master and workers) and of the proxies started by bench/proxies.sh (if any) to SCHED_RR
# at priority $1, or back to normal with 0: for the fixed-rate runs, whose tails otherwise measure how long a
# woken thread waits behind other processes on this shared machine (bench/RESULTS.md, "tails2").
realtime() {
  local p master
  master=$(cat "$work/nginx.pid")
  for p in "$master" $(pgrep -P "$master") ${HAPROXY_PID:-} ${VMESH_PID:-}; do
    if [ "$1" = 0 ]; then chrt -o -a -p 0 "$p" >/dev/null; else chrt -r -a -p "$1" "$p" >/dev/null; fi
  done
}
