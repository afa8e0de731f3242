package io.vmesh.operator;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vmesh.operator.xds.SyncReport;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code vmesh-operator proxy-status [pod.ns]}: what {@code istioctl proxy-status} shows, read from the operator's {@value SyncReport#PATH}. */
@Command(name = "proxy-status",
    mixinStandardHelpOptions = true,
    description = {"The xDS sync state of every proxy connected to the operator (one line each), or, for one pod,",
        "per type the versions sent and acknowledged, the NACK's error, and the resources that differ."})
public final class ProxyStatusCommand implements Callable<Integer> {

  static final List<String> COLUMNS = List.of("CDS", "LDS", "EDS", "RDS");
  private static final ObjectMapper JSON = new ObjectMapper();

  @Parameters(index = "0", arity = "0..1", paramLabel = "POD.NAMESPACE", description = "One proxy, named <pod>.<namespace>.")
  String pod;

  @Option(names = "--operator", paramLabel = "URL", defaultValue = "http://127.0.0.1:8081",
      description = "The operator's health server, where " + SyncReport.PATH + " is served (default: ${DEFAULT-VALUE}).")
  URI operator;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws Exception {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (pod != null && !pod.matches("[^.]+\\.[^.]+")) {
      err.println("proxy-status: name the proxy as <pod>.<namespace>, got '" + pod + "'");
      return 2;
    }
    JsonNode report;
    try {
      report = fetch();
    } catch (IOException e) {
      err.println("proxy-status: cannot read " + operator.resolve(SyncReport.PATH) + ": " + e.getMessage()
          + " (is the operator running? --operator points at its health port)");
      return 1;
    }
    if (pod == null) {
      out.print(table(report.path("proxies")));
    } else {
      JsonNode proxy = null;
      for (JsonNode p : report.path("proxies")) {
        if (p.path("name").asText().equals(pod)) {
          proxy = p;
        }
      }
      if (proxy == null) {
        err.println("proxy-status: " + pod + " is not connected to the operator at " + operator);
        return 1;
      }
      out.print(detail(proxy));
    }
    out.flush();
    return 0;
  }

  private JsonNode fetch() throws IOException, InterruptedException {
    HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    HttpResponse<String> response = http.send(HttpRequest.newBuilder(operator.resolve(SyncReport.PATH)).timeout(Duration.ofSeconds(30)).GET().build(),
        HttpResponse.BodyHandlers.ofString());
    if (response.statusCode() != 200) {
      throw new IOException("HTTP " + response.statusCode());
    }
    return JSON.readTree(response.body());
  }

  /** One line per proxy: NAME, CDS, LDS, EDS, RDS, VERSION, columns aligned like kubectl's. */
  static String table(JsonNode proxies) {
    List<List<String>> rows = new ArrayList<>();
    List<String> header = new ArrayList<>(List.of("NAME"));
    header.addAll(COLUMNS);
    header.add("VERSION");
    rows.add(header);
    for (JsonNode p : proxies) {
      List<String> row = new ArrayList<>(List.of(p.path("name").asText()));
      for (String type : COLUMNS) {
        row.add(cell(p.path("types").path(type).path("state").asText()));
      }
      row.add(p.path("agent").asText("").isEmpty() ? "-" : p.path("agent").asText());
      rows.add(row);
    }
    int[] widths = new int[header.size()];
    rows.forEach(r -> {
      for (int i = 0; i < r.size(); i++) {
        widths[i] = Math.max(widths[i], r.get(i).length());
      }
    });
    StringBuilder b = new StringBuilder();
    for (List<String> r : rows) {
      for (int i = 0; i < r.size(); i++) {
        b.append(i == r.size() - 1 ? r.get(i) : String.format("%-" + (widths[i] + 3) + "s", r.get(i)));
      }
      b.append('\n');
    }
    return b.toString();
  }

  /** Per type: state and versions, the NACK's error, then the resources in which what was sent differs from what was acknowledged. */
  static String detail(JsonNode proxy) {
    StringBuilder b = new StringBuilder();
    b.append("Proxy ").append(proxy.path("name").asText()).append(" (node ").append(proxy.path("nodeId").asText())
        .append("), connected ").append(proxy.path("connectedAt").asText()).append(": ").append(cell(proxy.path("state").asText())).append('\n');
    for (String type : List.of("CDS", "EDS", "LDS", "RDS")) {
      JsonNode t = proxy.path("types").path(type);
      b.append(String.format("%s  %-9s sent %-16s acked %-16s%n", type, cell(t.path("state").asText()), dash(t.path("sentVersion").asText()),
          dash(t.path("ackedVersion").asText())));
      if (!t.path("error").isNull() && !t.path("error").asText().isEmpty()) {
        b.append("     rejected: ").append(t.path("error").asText()).append('\n');
      }
      List<String> diff = diff(t.path("sent"), t.path("acked"));
      if (diff.isEmpty()) {
        b.append("     sent and acked match (").append(t.path("sent").size()).append(" resources)\n");
      } else {
        b.append("     sent but not acked:\n");
        diff.forEach(line -> b.append("       ").append(line).append('\n'));
      }
    }
    return b.toString();
  }

  /** {@code + name} sent only, {@code - name} acked only, {@code ~ name} in both with different content. */
  static List<String> diff(JsonNode sent, JsonNode acked) {
    TreeSet<String> names = new TreeSet<>();
    sent.fieldNames().forEachRemaining(names::add);
    acked.fieldNames().forEachRemaining(names::add);
    List<String> lines = new ArrayList<>();
    for (String name : names) {
      if (!acked.has(name)) {
        lines.add("+ " + name);
      } else if (!sent.has(name)) {
        lines.add("- " + name);
      } else if (!sent.get(name).asText().equals(acked.get(name).asText())) {
        lines.add("~ " + name);
      }
    }
    return lines;
  }

  private static String cell(String state) {
    return state.equals("NOT_SENT") ? "NOT SENT" : state;
  }

  private static String dash(String version) {
    return version.isEmpty() ? "-" : version;
  }
}
