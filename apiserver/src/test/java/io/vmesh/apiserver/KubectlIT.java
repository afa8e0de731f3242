package io.vmesh.apiserver;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

/** The real kubectl against the built jar run as a process: a custom resource's whole life, step by step. */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class KubectlIT extends AgainstServer {

  private static final String AGE = "\\d+s";
  private static final String READY_TRUE = """
      {"status":{"conditions":[{"type":"Ready","status":"True","reason":"AllGood"}]}}""";

  private String crd;
  private String widget;

  @BeforeAll
  void start() throws Exception {
    crd = resource("widget-crd.yaml");
    widget = resource("widget.yaml");
  }

  @Test
  @Order(1)
  void kubeconfigPointsAtTheServer() throws Exception {
    assertThat(Files.readString(server.kubeconfig)).contains("server: " + server.url);
    assertThat(kubectl.ok("version", "-o", "json").out()).contains("\"gitVersion\": \"v1.32.0-vmesh\"");
    assertThat(kubectl.ok("get", "namespaces").rows()).extracting(r -> r.get(0))
        .contains("NAME", "default", "kube-system");
  }

  @Test
  @Order(2)
  void discoveryListsBuiltInResources() throws Exception {
    // every group version once, or kubectl finds "multiple kinds"
    assertThat(kubectl.ok("api-versions").out().lines()).doesNotHaveDuplicates().contains("apps/v1", "v1");
    assertThat(kubectl.ok("get", "all").err()).contains("No resources found");
    String resources = kubectl.ok("api-resources").out();
    assertThat(resources).containsPattern("deployments\\s+deploy\\s+apps/v1\\s+true\\s+Deployment")
        .containsPattern("leases\\s+coordination.k8s.io/v1\\s+true\\s+Lease")
        .containsPattern("customresourcedefinitions\\s+crd,crds\\s+apiextensions.k8s.io/v1\\s+false");
  }

  @Test
  @Order(3)
  void crdAddsItsGroupToDiscovery() throws Exception {
    assertThat(kubectl.ok("apply", "--validate=false", "-f", crd).out())
        .contains("customresourcedefinition.apiextensions.k8s.io/widgets.test.vmesh.io created");
    assertThat(kubectl.ok("api-resources", "--api-group=test.vmesh.io").out())
        .containsPattern("widgets\\s+wdg\\s+test.vmesh.io/v1alpha1\\s+true\\s+Widget");
    assertThat(kubectl.ok("wait", "--for=condition=Established", "--timeout=10s", "crd/widgets.test.vmesh.io")
        .out()).contains("condition met");
  }

  @Test
  @Order(4)
  void customResourceShowsItsPrinterColumns() throws Exception {
    assertThat(kubectl.ok("apply", "--validate=false", "-f", widget).out())
        .contains("widget.test.vmesh.io/gear created");
    List<List<String>> rows = kubectl.ok("get", "widgets").rows();
    assertThat(rows.get(0)).containsExactly("NAME", "READY", "REPLICAS", "AGE");
    // no status yet: READY is blank, so the row has one cell less
    assertThat(rows.get(1)).hasSize(3).startsWith("gear", "3");
    assertThat(rows.get(1).get(2)).matches(AGE);
  }

  @Test
  @Order(5)
  void statusSubresourcePatchShowsInTheColumns() throws Exception {
    assertThat(kubectl.ok("patch", "widget", "gear", "--subresource=status", "--type=merge", "-p", READY_TRUE).out())
        .contains("widget.test.vmesh.io/gear patched");
    List<List<String>> rows = kubectl.ok("get", "widgets").rows();
    assertThat(rows.get(1)).startsWith("gear", "True", "3");
    assertThat(rows.get(1).get(3)).matches(AGE);
  }

  @Test
  @Order(6)
  void wideShowsPriorityColumns() throws Exception {
    List<List<String>> rows = kubectl.ok("get", "widgets", "-o", "wide").rows();
    assertThat(rows.get(0)).containsExactly("NAME", "READY", "REPLICAS", "REASON", "APP", "AGE");
    assertThat(rows.get(1)).startsWith("gear", "True", "3", "AllGood", "gearbox");
  }

  @Test
  @Order(7)
  void allNamespacesAndLabels() throws Exception {
    List<List<String>> rows = kubectl.ok("get", "widgets", "-A", "--show-labels").rows();
    assertThat(rows.get(0)).containsExactly("NAMESPACE", "NAME", "READY", "REPLICAS", "AGE", "LABELS");
    assertThat(rows.get(1)).startsWith("default", "gear", "True", "3");
    assertThat(rows.get(1).get(5)).isEqualTo("app.kubernetes.io/name=gearbox,tier=backend");
  }

  @Test
  @Order(8)
  void shortNameCategoryAndSingleObject() throws Exception {
    assertThat(kubectl.ok("get", "wdg").rows().get(1)).startsWith("gear", "True", "3");
    // one type in the category, so kubectl prints plain names
    assertThat(kubectl.ok("get", "vmesh").rows().get(1)).startsWith("gear", "True", "3");
    List<List<String>> one = kubectl.ok("get", "widget", "gear").rows();
    assertThat(one).hasSize(2);
    assertThat(one.get(1)).startsWith("gear", "True", "3");
  }

  @Test
  @Order(9)
  void reapplyingTheResourceKeepsItsStatus() throws Exception {
    Path changed = dir.resolve("widget-5.yaml");
    Files.writeString(changed, Files.readString(Path.of(widget)).replace("replicas: 3", "replicas: 5"));
    assertThat(kubectl.ok("apply", "--validate=false", "-f", changed.toString()).out())
        .contains("widget.test.vmesh.io/gear configured");
    assertThat(kubectl.ok("get", "widgets").rows().get(1)).startsWith("gear", "True", "5");
    assertThat(kubectl.ok("apply", "--validate=false", "-f", changed.toString()).out())
        .contains("widget.test.vmesh.io/gear unchanged");
  }

  @Test
  @Order(10)
  void statusAndSpecWritesStayInTheirLanes() throws Exception {
    // a main-resource patch cannot touch status ...
    kubectl.ok("patch", "widget", "gear", "--type=merge", "-p", "{\"status\":{\"conditions\":[]}}");
    // ... and a status patch cannot touch spec
    kubectl.ok("patch", "widget", "gear", "--subresource=status", "--type=merge", "-p",
        "{\"spec\":{\"replicas\":9},\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\","
            + "\"reason\":\"Broken\"}]}}");
    assertThat(kubectl.ok("get", "widgets", "-o", "wide").rows().get(1))
        .startsWith("gear", "False", "5", "Broken", "gearbox");
  }

  @Test
  @Order(11)
  void builtInStatusIsKeptByMainWrites() throws Exception {
    kubectl.ok("patch", "namespace", "default", "--type=merge", "-p",
        "{\"metadata\":{\"labels\":{\"team\":\"mesh\"}},\"status\":{\"phase\":\"Terminating\"}}");
    assertThat(kubectl.ok("get", "namespace", "default", "-o", "jsonpath={.metadata.labels.team} {.status.phase}")
        .out()).isEqualTo("mesh Active");
  }

  @Test
  @Order(12)
  void strategicMergePatchMergesBuiltInListsByTheirKeys() throws Exception {
    Kubectl.Result cr = kubectl.run("patch", "widget", "gear", "--type=strategic", "-p", "{\"spec\":{}}");
    assertThat(cr.exit()).isNotZero();
    assertThat(cr.err()).contains("strategic merge patch is not supported for custom resources");

    // kubectl apply of a changed built-in object sends a strategic merge patch
    Path settings = dir.resolve("settings.yaml");
    Files.writeString(settings, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  mode: REDIRECT\n");
    kubectl.ok("apply", "--validate=false", "-f", settings.toString());
    Files.writeString(settings, Files.readString(settings).replace("REDIRECT", "TPROXY"));
    assertThat(kubectl.ok("apply", "--validate=false", "-f", settings.toString()).out())
        .contains("configmap/settings configured");
    assertThat(kubectl.ok("get", "configmap", "settings", "-o", "jsonpath={.data.mode}").out()).isEqualTo("TPROXY");

    // a Deployment whose container env changed: kubectl's patch carries lists and $setElementOrder
    Path web = dir.resolve("web.yaml");
    String deployment = String.join("\n", "apiVersion: apps/v1", "kind: Deployment", "metadata:", "  name: web", "spec:",
        "  selector: {matchLabels: {app: web}}", "  template:", "    metadata: {labels: {app: web}}", "    spec:",
        "      containers:", "      - name: web", "        image: web:1", "        env:", "        - {name: A, value: '1'}",
        "        - {name: VERSION, value: v1}", "      - name: helper", "        image: helper:1", "");
    Files.writeString(web, deployment);
    kubectl.ok("apply", "--validate=false", "-f", web.toString());
    Files.writeString(web, deployment.replace("value: v1", "value: v2").replace("helper:1", "helper:2"));
    assertThat(kubectl.ok("apply", "--validate=false", "-f", web.toString()).out()).contains("deployment.apps/web configured");
    assertThat(kubectl.ok("get", "deployment", "web", "-o",
        "jsonpath={.spec.template.spec.containers[*].name} {.spec.template.spec.containers[0].env[*].value} {.spec.template.spec.containers[1].image}")
        .out()).isEqualTo("web helper 1 v2 helper:2");

    kubectl.ok("patch", "configmap", "settings", "--type=strategic", "-p", "{\"metadata\":{\"finalizers\":[\"vmesh.io/x\"]}}");
    assertThat(kubectl.ok("get", "configmap", "settings", "-o", "jsonpath={.metadata.finalizers}").out()).contains("vmesh.io/x");
    Kubectl.Result noKey = kubectl.run("patch", "deployment", "web", "--type=strategic", "-p",
        "{\"spec\":{\"template\":{\"spec\":{\"containers\":[{\"image\":\"x\"}]}}}}");
    assertThat(noKey.exit()).isNotZero();
    assertThat(noKey.err()).contains("list containers has no merge key name");
    kubectl.ok("patch", "configmap", "settings", "--type=json", "-p", "[{\"op\":\"remove\",\"path\":\"/metadata/finalizers\"}]");
  }

  @Test
  @Order(13)
  void podsPrintReadyStatusAndRestarts() throws Exception {
    Path pod = dir.resolve("pod.yaml");
    Files.writeString(pod, String.join("\n", "apiVersion: v1", "kind: Pod", "metadata:", "  name: client",
        "spec:", "  containers:", "  - {name: app, image: app}", "  - {name: vmesh-proxy, image: proxy}", ""));
    kubectl.ok("apply", "--validate=false", "-f", pod.toString());
    kubectl.ok("patch", "pod", "client", "--subresource=status", "--type=merge", "-p",
        "{\"status\":{\"phase\":\"Running\",\"podIP\":\"10.88.0.10\",\"containerStatuses\":["
            + "{\"name\":\"app\",\"ready\":true,\"restartCount\":0},"
            + "{\"name\":\"vmesh-proxy\",\"ready\":false,\"restartCount\":2}]}}");
    List<List<String>> rows = kubectl.ok("get", "pods", "-o", "wide").rows();
    assertThat(rows.get(0)).containsExactly("NAME", "READY", "STATUS", "RESTARTS", "AGE", "IP", "NODE");
    assertThat(rows.get(1)).startsWith("client", "1/2", "Running", "2");
    assertThat(rows.get(1).get(5)).isEqualTo("10.88.0.10");
    assertThat(kubectl.ok("get", "namespace", "kube-system").rows().get(1)).startsWith("kube-system", "Active");
  }

  @Test
  @Order(14)
  void jsonPatch() throws Exception {
    kubectl.ok("patch", "widget", "gear", "--type=json", "-p",
        "[{\"op\":\"replace\",\"path\":\"/spec/replicas\",\"value\":7}]");
    assertThat(kubectl.ok("get", "widget", "gear", "-o", "jsonpath={.spec.replicas} {.metadata.generation}").out())
        .isEqualTo("7 3");
  }

  @Test
  @Order(15)
  void watchOverHttpIsRefusedWithAReason() throws Exception {
    Kubectl.Result r = kubectl.run("get", "widgets", "-w");
    assertThat(r.exit()).isNotZero();
    assertThat(r.err()).contains("WebSocket only");
  }

  @Test
  @Order(16)
  void waitSeesAConditionMetLaterByListingAgain() throws Exception {
    kubectl.ok("patch", "widget", "gear", "--subresource=status", "--type=merge", "-p",
        "{\"status\":{\"conditions\":[{\"type\":\"Ready\",\"status\":\"False\"}]}}");
    Thread later = new Thread(() -> {
      try {
        Thread.sleep(1500);
        kubectl.ok("patch", "widget", "gear", "--subresource=status", "--type=merge", "-p", READY_TRUE);
      } catch (Exception e) {
        throw new IllegalStateException(e);
      }
    });
    later.start();
    Kubectl.Result r = kubectl.run("wait", "--for=condition=Ready", "--timeout=20s", "widget/gear");
    later.join();
    assertThat(r.exit()).as(r.err()).isZero();
    assertThat(r.out()).contains("widget.test.vmesh.io/gear condition met");
    assertThat(r.err()).doesNotContain("Unhandled Error");
  }

  @Test
  @Order(17)
  void deleteRemovesTheResource() throws Exception {
    assertThat(kubectl.ok("delete", "widget", "gear").out()).contains("widget.test.vmesh.io \"gear\" deleted");
    Kubectl.Result empty = kubectl.ok("get", "widgets");
    assertThat(empty.out()).isEmpty();
    assertThat(empty.err()).contains("No resources found in default namespace.");
  }

  @Test
  @Order(18)
  void deletingTheCrdDeletesItsResources() throws Exception {
    kubectl.ok("apply", "--validate=false", "-f", widget);
    kubectl.ok("delete", "-f", crd);
    assertThat(kubectl.ok("api-resources").out()).doesNotContain("widgets");
    kubectl.ok("apply", "--validate=false", "-f", crd);
    assertThat(kubectl.ok("get", "widgets", "-A").err()).contains("No resources found");
  }

  private static String resource(String name) throws Exception {
    return Paths.get(KubectlIT.class.getResource("/" + name).toURI()).toString();
  }
}
