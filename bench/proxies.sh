# Sourced by bench/http.sh and bench/tails.sh after bench/pods.sh: the two proxies under test in the client pod,
# dialled on 127.0.0.1 with the origin $SERVER:80 behind them.
#   HAProxy  tcp :8080, http :8081 (HAPROXY_PID)
#   vmesh    tcp_proxy :9080, http_connection_manager :9081 (VMESH_PID; READY_MS: exec to /healthz/ready 200)
# vmesh runs from $PROXY_JAR with the flags of proxy/jvm.options, then $VMESH_JVM_EXTRA, plus an AppCDS
# archive written by a first start as ./vmesh does. `start_proxies [JVM FLAGS...]` starts both; the flags go
# to the measured vmesh process only (not to the archive-writing start).
start_proxies() {
  # HAProxy: one process, one thread, a tcp and an http front; no logging (vmesh logs every request)
  cat > "$work/haproxy.cfg" <<HAP
global
  nbthread 1
  maxconn 4000
defaults
  timeout connect 5s
  timeout client 60s
  timeout server 60s
listen tcp
  mode tcp
  bind 127.0.0.1:8080
  server origin $SERVER:80
listen http
  mode http
  http-reuse always
  bind 127.0.0.1:8081
  server origin $SERVER:80
HAP
  ip netns exec "$C" haproxy -f "$work/haproxy.cfg" -db & pids+=($!)
  HAPROXY_PID=$!

  # vmesh: a static bootstrap with the two listeners
  # shellcheck source=bench/bootstrap.sh
  source bench/bootstrap.sh
  static_bootstrap "$SERVER" 80 > "$work/bootstrap.yaml"
  # shellcheck disable=SC2207
  jvm=($(grep -v '^ *#' proxy/jvm.options | sed 's/#.*//') ${VMESH_JVM_EXTRA:-})
  run_proxy() { # extra JVM flags... ; sets VMESH_PID and READY_MS (exec to /healthz/ready 200)
    rm -f "$work/proxy.err"
    local t0; t0=$(date +%s%N)
    ip netns exec "$C" env MALLOC_ARENA_MAX=2 java "${jvm[@]}" "$@" -jar "$PROXY_JAR" run --bootstrap "$work/bootstrap.yaml" \
      --concurrency 1 >/dev/null 2>"$work/proxy.err" &
    VMESH_PID=$!
    until ip netns exec "$C" curl -sf -o /dev/null http://127.0.0.1:15021/healthz/ready; do
      kill -0 "$VMESH_PID" 2>/dev/null || { cat "$work/proxy.err" >&2; exit 1; }
      sleep 0.01
    done
    READY_MS=$(( ($(date +%s%N) - t0) / 1000000 ))
  }
  # the AppCDS archive, as ./vmesh writes it on the first run
  run_proxy -XX:ArchiveClassesAtExit="$work/vmesh-proxy.jsa"
  kill -TERM "$VMESH_PID"; wait "$VMESH_PID" || true
  run_proxy -XX:SharedArchiveFile="$work/vmesh-proxy.jsa" "$@"
  pids+=("$VMESH_PID")
}
