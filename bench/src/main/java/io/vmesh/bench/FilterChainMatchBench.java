package io.vmesh.bench;

import io.envoyproxy.envoy.config.core.v3.CidrRange;
import io.envoyproxy.envoy.config.listener.v3.FilterChainMatch;
import io.vmesh.proxy.listener.FilterChainMatcher;
import io.vmesh.proxy.listener.FilterChainMatcher.Connection;
import com.google.protobuf.UInt32Value;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Filter-chain selection on a virtualInbound-like listener with 10, 1 000 or 10 000 chains: per chain
 * a destination port, and for a third of them also a destination prefix, a server name and the
 * {@code tls} transport (Istio's per-port TLS / plaintext pairs). Each call matches the next of 4 096
 * pre-built connections, half of which hit a chain, half fall through to no match, so the cost is the
 * index walk and not one cached path.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
public class FilterChainMatchBench {

  @Param({"10", "1000", "10000"})
  int chains;

  private FilterChainMatcher<Integer> matcher;
  private Connection[] connections;
  private int next;

  @Setup(Level.Trial)
  public void build() throws Exception {
    List<Integer> ids = new ArrayList<>();
    List<FilterChainMatch> matches = new ArrayList<>();
    for (int i = 0; i < chains; i++) {
      int port = 1024 + i;
      FilterChainMatch.Builder m = FilterChainMatch.newBuilder().setDestinationPort(UInt32Value.of(port));
      if (i % 3 == 0) {
        // a TLS twin on the same port: more specific by transport, address and SNI
        ids.add(ids.size());
        matches.add(m.build());
        m.setTransportProtocol("tls").addServerNames("svc-" + i + ".example.com")
            .addPrefixRanges(CidrRange.newBuilder().setAddressPrefix("10." + (i % 250) + ".0.0").setPrefixLen(UInt32Value.of(16)));
      }
      ids.add(ids.size());
      matches.add(m.build());
    }
    matcher = FilterChainMatcher.build(ids, matches, "bench");
    Random r = new Random(42);
    connections = new Connection[4096];
    InetSocketAddress source = new InetSocketAddress(InetAddress.getByAddress(new byte[] {10, 1, 2, 3}), 40000);
    for (int k = 0; k < connections.length; k++) {
      int i = r.nextInt(chains);
      boolean hit = r.nextBoolean();
      int port = hit ? 1024 + i : 1024 + chains + r.nextInt(1000);
      boolean tls = i % 3 == 0 && r.nextBoolean();
      connections[k] = new Connection(address("10." + (i % 250) + ".7.9", port), source, source,
          tls ? "svc-" + i + ".example.com" : "", tls ? "tls" : "raw_buffer", List.of());
    }
  }

  private static InetSocketAddress address(String ip, int port) throws UnknownHostException {
    return new InetSocketAddress(InetAddress.getByName(ip), port);
  }

  @Benchmark
  public Optional<Integer> match() {
    Connection c = connections[next];
    next = (next + 1) & (connections.length - 1);
    return matcher.match(c);
  }
}
