package io.vmesh.operator;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** {@code vmesh-operator inject} in process, as {@code main} runs it. */
class InjectCommandTest {

  static final Path DIR = Path.of("src/test/resources/inject");

  record Run(int exit, String out, String err) {
  }

  static Run run(String... args) {
    StringWriter out = new StringWriter();
    StringWriter err = new StringWriter();
    int exit = new CommandLine(new OperatorMain()).setOut(new PrintWriter(out)).setErr(new PrintWriter(err)).execute(args);
    return new Run(exit, out.toString(), err.toString());
  }

  @Test
  void printsWhatTheGoldenFileSays(@TempDir Path tmp) throws Exception {
    String[] docs = Files.readString(DIR.resolve("in-deployment.yaml")).split("(?m)^---$");
    Path deployment = Files.writeString(tmp.resolve("deployment.yaml"), docs[0]);
    Path capture = Files.writeString(tmp.resolve("tc.yaml"), docs[1]);
    Run run = run("inject", "-f", deployment.toString(), "--capture", capture.toString(), "-n", "shop");
    assertThat(run.exit()).as(run.err()).isZero();
    assertThat(run.out()).isEqualTo(Files.readString(DIR.resolve("out-deployment.yaml")));
  }

  @Test
  void explainsWhyAndWithWhichArguments() {
    Path in = DIR.resolve("in-outbound-annotations.yaml");
    Run run = run("inject", "--explain", "-f", in.toString());
    assertThat(run.exit()).isZero();
    assertThat(run.out()).startsWith("Pod web: inject (Injected)")
        .contains("vmesh-init: vmesh-proxy capture --mode=REDIRECT")
        .contains("--exclude-outbound-ports=3306,5432,6379")
        .contains("vmesh-proxy: initContainers[1], restartPolicy Always");

    Path conflict = DIR.resolve("in-conflicting-captures.yaml");
    Run skipped = run("inject", "--explain", "-f", conflict.toString());
    assertThat(skipped.out()).contains("Pod web: skip (ConflictingCaptures)").contains("[front, web]");
  }

  @Test
  void aRefusedPodExitsOneWithTheReason() {
    Path in = DIR.resolve("in-port-collision.yaml");
    Run run = run("inject", "-f", in.toString());
    assertThat(run.exit()).isEqualTo(1);
    assertThat(run.err()).contains("Pod web refused (PortCollision): container web port 15090");
  }

  @Test
  void badInputIsAUsageErrorNamingTheProblem(@TempDir Path tmp) throws Exception {
    Path service = tmp.resolve("svc.yaml");
    Files.writeString(service, "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n");
    Run run = run("inject", "-f", service.toString(), "--capture", DIR.resolve("in-plain-pod.yaml").toString());
    assertThat(run.exit()).isEqualTo(2);
    assertThat(run.err()).contains("document 1: kind 'Service' is not injectable");

    Path empty = Files.writeString(tmp.resolve("deploy.yaml"), "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n");
    Run noTemplate = run("inject", "-f", empty.toString());
    assertThat(noTemplate.exit()).isEqualTo(2);
    assertThat(noTemplate.err()).contains("Deployment web has no pod template at .spec.template");

    Run notCapture = run("inject", "-f", DIR.resolve("in-plain-pod.yaml").toString(), "--capture", DIR.resolve("in-plain-pod.yaml").toString());
    assertThat(notCapture.exit()).isEqualTo(2);
    assertThat(notCapture.err()).contains("Pod web is not a TrafficCapture");

    Run missing = run("inject", "-f", tmp.resolve("nope.yaml").toString());
    assertThat(missing.exit()).isEqualTo(2);
    assertThat(missing.err()).contains("no such file").contains("nope.yaml");

    Path capture = Files.writeString(tmp.resolve("tc.yaml"), Files.readString(DIR.resolve("in-plain-pod.yaml")).split("(?m)^---$")[1]);
    Run twice = run("inject", "-f", DIR.resolve("in-plain-pod.yaml").toString(), "--capture", capture.toString());
    assertThat(twice.exit()).isEqualTo(2);
    assertThat(twice.err()).contains("TrafficCapture shop/web is given twice");

    Run version = run("inject", "-f", DIR.resolve("in-plain-pod.yaml").toString(), "--cluster-version", "latest");
    assertThat(version.exit()).isEqualTo(2);
    assertThat(version.err()).contains("cluster version 'latest' is not MAJOR.MINOR");
  }
}
