package io.vmesh.sandbox.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vmesh.sandbox.demo.DemoCommand.StepFailed;
import io.vmesh.sandbox.topology.SystemCommand;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The demo's view of a namespace's pods, read with kubectl: who is who (by the {@code app} label or by address), and
 * running a program inside a pod's network namespace as its application's uid, as {@code kubectl exec} would.
 */
final class Pods {

  private static final ObjectMapper JSON = new ObjectMapper();

  /** One running pod: its name, labels, address, the uid its containers run as, and its network namespace. */
  record PodInfo(String name, Map<String, String> labels, String ip, int appUid, List<String> initContainers,
                 List<String> containers, String netns) {
    String app() {
      return labels.getOrDefault("app", "");
    }
  }

  private final DemoCommand demo;
  private final String namespace;
  private final List<PodInfo> pods;

  private Pods(DemoCommand demo, String namespace, List<PodInfo> pods) {
    this.demo = demo;
    this.namespace = namespace;
    this.pods = pods;
  }

  /** Waits until exactly {@code count} pods of {@code namespace} are Running and Ready. */
  static Pods awaitReady(DemoCommand demo, String namespace, int count, Duration limit) {
    JsonNode list = DemoCommand.await(count + " pods Running and Ready in namespace " + namespace, () -> {
      JsonNode all = demo.kubectlJson("get", "pods", "-n", namespace, "-o", "json");
      int ready = 0;
      for (JsonNode p : all.path("items")) {
        boolean running = p.path("status").path("phase").asText().equals("Running");
        for (JsonNode c : p.path("status").path("conditions")) {
          if (running && c.path("type").asText().equals("Ready") && c.path("status").asText().equals("True")) {
            ready++;
          }
        }
      }
      return ready == count && all.path("items").size() == count ? all : null;
    }, () -> "kubectl get pods -n " + namespace + ":\n" + demo.box().kubectl("get", "pods", "-n", namespace).stdout());
    List<PodInfo> pods = new ArrayList<>();
    for (JsonNode p : list.path("items")) {
      String name = p.path("metadata").path("name").asText();
      Map<String, String> labels = new HashMap<>();
      p.path("metadata").path("labels").fields().forEachRemaining(e -> labels.put(e.getKey(), e.getValue().asText()));
      // the app's uid: what its securityContext says (root when it says nothing, as a container runtime would)
      int uid = p.path("spec").path("securityContext").path("runAsUser").asInt(0);
      pods.add(new PodInfo(name, labels, p.path("status").path("podIP").asText(), uid, names(p.path("spec").path("initContainers")),
          names(p.path("spec").path("containers")), demo.box().netnsOf(namespace, name)));
    }
    return new Pods(demo, namespace, pods);
  }

  private static List<String> names(JsonNode containers) {
    List<String> out = new ArrayList<>();
    containers.forEach(c -> out.add(c.path("name").asText()));
    return out;
  }

  /** Waits until the endpoint controller lists the given number of ready endpoints per Service. */
  void awaitEndpoints(Map<String, Integer> readyPerService, Duration limit) {
    DemoCommand.await("ready endpoints " + readyPerService, () -> {
      JsonNode slices = demo.kubectlJson("get", "endpointslices", "-n", namespace, "-o", "json");
      Map<String, Integer> seen = readyEndpoints(slices);
      return readyPerService.entrySet().stream().allMatch(e -> e.getValue().equals(seen.getOrDefault(e.getKey(), 0))) ? seen : null;
    }, () -> "EndpointSlices say " + readyEndpoints(demo.kubectlJson("get", "endpointslices", "-n", namespace, "-o", "json")));
  }

  private static Map<String, Integer> readyEndpoints(JsonNode slices) {
    Map<String, Integer> out = new HashMap<>();
    for (JsonNode s : slices.path("items")) {
      String service = s.path("metadata").path("labels").path("kubernetes.io/service-name").asText();
      for (JsonNode e : s.path("endpoints")) {
        if (e.path("conditions").path("ready").asBoolean(true)) {
          out.merge(service, 1, Integer::sum);
        }
      }
    }
    return out;
  }

  /** Every pod carries the webhook's init container and sidecar. */
  void checkInjected() {
    for (PodInfo p : pods) {
      List<String> all = new ArrayList<>(p.initContainers());
      all.addAll(p.containers());
      if (!all.contains("vmesh-init") || !all.contains("vmesh-proxy")) {
        throw new StepFailed("pod " + p.name() + " was not injected: expected containers vmesh-init and vmesh-proxy, it has " + all);
      }
    }
  }

  PodInfo byApp(String app) {
    return pods.stream().filter(p -> p.app().equals(app)).findFirst()
        .orElseThrow(() -> new StepFailed("no pod with label app=" + app + " in namespace " + namespace));
  }

  PodInfo byIp(String ip) {
    return pods.stream().filter(p -> p.ip().equals(ip)).findFirst()
        .orElseThrow(() -> new StepFailed("no pod of namespace " + namespace + " has address " + ip));
  }

  /** The sidecar's log (its stdout is the access log), as the kubelet writes it. */
  Path proxyLog(PodInfo pod) {
    return demo.box().podLogs(namespace, pod.name()).resolve("vmesh-proxy.log");
  }

  /** Runs Python code inside the pod's network namespace as the pod's application uid. */
  SystemCommand.Result pythonAsApp(PodInfo pod, String code) {
    return demo.box().execInPod(pod.netns(), Duration.ofSeconds(60), List.of("setpriv", "--reuid=" + pod.appUid(),
        "--regid=" + pod.appUid(), "--clear-groups", "/usr/bin/python3", "-c", code));
  }

  /** Runs a command inside the pod's network namespace as root (an operator's view: iptables, the admin port). */
  SystemCommand.Result asRoot(PodInfo pod, String... command) {
    return demo.box().execInPod(pod.netns(), Duration.ofSeconds(30), List.of(command));
  }

  /** The sidecar's {@code /config_dump} (admin, loopback only), read from inside the pod. */
  JsonNode configDump(PodInfo pod) {
    SystemCommand.Result r = asRoot(pod, "/usr/bin/python3", "-c", Http.GET_CODE
        + "print(get('http://127.0.0.1:15000/config_dump'))");
    try {
      JsonNode answer = JSON.readTree(r.stdout());
      if (answer.path("status").asInt() != 200) {
        throw new StepFailed("the sidecar of " + pod.name() + " did not serve /config_dump: " + answer);
      }
      return JSON.readTree(answer.path("body").asText());
    } catch (java.io.IOException e) {
      throw new StepFailed("cannot read the config_dump of " + pod.name() + ": " + r.stdout() + r.stderr());
    }
  }
}
