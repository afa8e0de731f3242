package io.vmesh.operator;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Every per-feature sample in samples/features/, applied with the real kubectl the way its comment says (each into
 * a namespace of its own), is reconciled by the operator to Ready=True.
 */
class SamplesIT {

  private static final Logger LOG = LoggerFactory.getLogger(SamplesIT.class);
  private static final Path REPO = Path.of(System.getProperty("vmesh.repo.dir", ".."));
  private static final Duration READY_WITHIN = Duration.ofSeconds(60);

  @TempDir
  Path dir;

  @Test
  void everyFeatureSampleIsReconciledToReady() throws Exception {
    Kubectl.requireOnPath();
    List<Path> samples;
    try (Stream<Path> files = Files.list(REPO.resolve("samples/features"))) {
      samples = files.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
    }
    assertThat(samples).as("samples/features/*.yaml").hasSizeGreaterThanOrEqualTo(10);
    try (JarProcess apiserver = JarProcess.start("apiserver", Path.of(System.getProperty("vmesh.apiserver.jar")), dir, Map.of(),
        "--port", "0", "--kubeconfig-out", dir.resolve("kubeconfig").toString())) {
      apiserver.await(Pattern.compile("vmesh-apiserver ready: "), Duration.ofSeconds(30));
      Kubectl kubectl = new Kubectl(dir.resolve("kubeconfig"));
      kubectl.ok("apply", "--validate=false", "-f", REPO.resolve("crds").toString());
      List<String> namespaces = new ArrayList<>();
      for (Path sample : samples) {
        namespaces.add("s-" + sample.getFileName().toString().replace(".yaml", ""));
      }
      // kubectl create namespace sends protobuf, which the embedded API server does not read: apply JSON instead
      StringBuilder manifests = new StringBuilder("# namespaces\n");
      for (String ns : Stream.concat(Stream.of("vmesh-system"), namespaces.stream()).toList()) {
        manifests.append("---\n{\"apiVersion\": \"v1\", \"kind\": \"Namespace\", \"metadata\": {\"name\": \"").append(ns).append("\"}}\n");
      }
      kubectl.ok("apply", "--validate=false", "-f", Files.writeString(dir.resolve("namespaces.yaml"), manifests).toString());
      for (int i = 0; i < samples.size(); i++) {
        kubectl.ok("apply", "--validate=false", "-n", namespaces.get(i), "-f", samples.get(i).toString());
      }
      try (JarProcess operator = JarProcess.start("operator", Path.of(System.getProperty("vmesh.operator.jar")), dir,
          Map.of("KUBECONFIG", dir.resolve("kubeconfig").toString()),
          "run", "--no-leader-election", "--no-webhook", "--no-xds", "--namespace", "vmesh-system",
          "--health-address", "127.0.0.1", "--health-port", "0")) {
        Instant deadline = Instant.now().plus(READY_WITHIN);
        List<String> notReady = List.of("not checked yet");
        String last = "";
        while (Instant.now().isBefore(deadline) && !notReady.isEmpty()) {
          notReady = new ArrayList<>();
          StringBuilder all = new StringBuilder();
          for (String ns : namespaces) {
            String out = kubectl.ok("get", "tc,mp", "-n", ns);
            all.append("# ").append(ns).append('\n').append(out);
            Map<String, Map<String, String>> rows = Kubectl.table(out);
            if (rows.isEmpty()) {
              notReady.add(ns + ": no resource");
            }
            for (var row : rows.entrySet()) {
              if (!"True".equals(row.getValue().get("READY"))) {
                notReady.add(ns + "/" + row.getKey() + " READY=" + row.getValue().get("READY") + " REASON=" + row.getValue().get("REASON"));
              }
            }
          }
          last = all.toString();
          if (!notReady.isEmpty()) {
            Thread.sleep(500);
          }
        }
        LOG.info("kubectl get tc,mp per sample namespace:\n{}", last);
        assertThat(notReady).as("samples not Ready within %s; operator log:\n%s", READY_WITHIN, operator.log()).isEmpty();
      }
    }
  }
}
