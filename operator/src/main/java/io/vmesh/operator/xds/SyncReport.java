package io.vmesh.operator.xds;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;
import java.util.Map;

/**
 * The JSON the operator serves at {@value #PATH} on its health port, and that {@code proxy-status} reads: every
 * connected proxy with, per type (CDS, EDS, LDS, RDS), its state, the versions sent and acknowledged, the nonce, the
 * NACK's error and the resources (name → content hash) of both versions.
 */
public final class SyncReport {

  public static final String PATH = "/debug/syncz";
  public static final Map<String, String> SHORT_NAMES = Map.of(ProxySnapshot.CLUSTER_TYPE, "CDS", ProxySnapshot.ENDPOINT_TYPE, "EDS",
      ProxySnapshot.LISTENER_TYPE, "LDS", ProxySnapshot.ROUTE_TYPE, "RDS");
  private static final ObjectMapper JSON = new ObjectMapper();

  private SyncReport() {
  }

  public static ObjectNode of(List<ProxySync> proxies) {
    ObjectNode doc = JSON.createObjectNode();
    var list = doc.putArray("proxies");
    for (ProxySync p : proxies) {
      ObjectNode proxy = list.addObject();
      proxy.put("name", p.proxy().podName() + "." + p.proxy().namespace());
      proxy.put("namespace", p.proxy().namespace());
      proxy.put("pod", p.proxy().podName());
      proxy.put("nodeId", p.nodeId());
      proxy.put("agent", p.agent());
      proxy.put("connectedAt", String.valueOf(p.connectedAt()));
      proxy.put("state", p.overall().name());
      ObjectNode types = proxy.putObject("types");
      for (String type : ProxySnapshot.PUSH_ORDER) {
        TypeSync t = p.type(type);
        ObjectNode node = types.putObject(SHORT_NAMES.get(type));
        node.put("typeUrl", type);
        node.put("state", t.state().name());
        node.put("sentVersion", t.sentVersion());
        node.put("ackedVersion", t.ackedVersion());
        node.put("nonce", t.nonce());
        node.put("sentAt", t.sentAt() == null ? null : t.sentAt().toString());
        node.put("error", t.error());
        node.set("sent", resources(t.sentResources()));
        node.set("acked", resources(t.ackedResources()));
      }
    }
    return doc;
  }

  private static JsonNode resources(Map<String, String> hashes) {
    ObjectNode n = JSON.createObjectNode();
    hashes.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e -> n.put(e.getKey(), e.getValue()));
    return n;
  }
}
