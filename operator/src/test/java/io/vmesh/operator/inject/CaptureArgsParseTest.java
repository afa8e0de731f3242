package io.vmesh.operator.inject;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.batch.v1.CronJob;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.vmesh.proxy.capture.CaptureCommand;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/** The vmesh-init arguments of every injected golden file are accepted by the proxy's own capture parser and validation. */
class CaptureArgsParseTest {

  static List<String> injectedCases() throws IOException {
    List<String> cases = new ArrayList<>();
    for (String name : InjectionGoldenTest.cases().toList()) {
      if (Files.readString(InjectionGoldenTest.DIR.resolve("out-" + name + ".yaml")).contains("name: vmesh-init")) {
        cases.add(name);
      }
    }
    return cases;
  }

  @ParameterizedTest
  @MethodSource("injectedCases")
  void proxyParsesTheInitArguments(String name) throws IOException {
    List<HasMetadata> out = Manifests.read(Files.readString(InjectionGoldenTest.DIR.resolve("out-" + name + ".yaml")), name);
    PodSpec spec = podSpec(out.get(0));
    Container init = spec.getInitContainers().get(0);
    assertThat(init.getName()).isEqualTo(SidecarContainers.INIT_NAME);
    assertThat(init.getArgs().get(0)).isEqualTo("capture");
    List<String> flags = init.getArgs().subList(1, init.getArgs().size());

    CommandLine.ParseResult parsed = new CommandLine(new CaptureCommand()).parseArgs(flags.toArray(String[]::new));
    assertThat(parsed.unmatched()).isEmpty();
    assertThat(parsed.matchedOptions()).hasSize(flags.size());

    // a dry run goes through the proxy's full option validation and renders the rules
    List<String> dryRun = new ArrayList<>(flags);
    dryRun.add("--dry-run");
    dryRun.add("--ipv6=OFF");
    StringWriter stdout = new StringWriter();
    StringWriter stderr = new StringWriter();
    int exit = new CommandLine(new CaptureCommand()).setOut(new PrintWriter(stdout)).setErr(new PrintWriter(stderr))
        .execute(dryRun.toArray(String[]::new));
    assertThat(exit).as("capture %s: %s", dryRun, stderr).isZero();
    assertThat(stdout.toString()).contains("REDIRECT --to-ports 15001");
  }

  @ParameterizedTest
  @MethodSource("injectedCases")
  void reinjectingTheOutputChangesNothing(String name) throws IOException {
    List<HasMetadata> in = Manifests.read(Files.readString(InjectionGoldenTest.DIR.resolve("in-" + name + ".yaml")), name);
    var captures = in.stream().filter(io.vmesh.operator.api.TrafficCapture.class::isInstance)
        .map(io.vmesh.operator.api.TrafficCapture.class::cast).toList();
    InjectionSettings settings = InjectionSettings.of(InjectionSettings.DEFAULT_IMAGE, InjectionSettings.DEFAULT_XDS_ADDRESS,
        InjectionGoldenTest.CLUSTER.getOrDefault(name, "1.30"), InjectionSettings.DEFAULT_SYSTEM_NAMESPACES);
    HasMetadata once = WorkloadInjection.inject(in.get(0), captures, settings, "shop").object();
    HasMetadata twice = WorkloadInjection.inject(once, captures, settings, "shop").object();
    assertThat(Manifests.yaml(twice)).isEqualTo(Manifests.yaml(once));
    PodSpec spec = podSpec(twice);
    assertThat(spec.getInitContainers().stream().filter(c -> c.getName().startsWith("vmesh-")).count()
        + spec.getContainers().stream().filter(c -> c.getName().startsWith("vmesh-")).count()).isEqualTo(2);
  }

  static PodSpec podSpec(HasMetadata o) {
    if (o instanceof Pod p) {
      return p.getSpec();
    }
    if (o instanceof Deployment d) {
      return d.getSpec().getTemplate().getSpec();
    }
    if (o instanceof CronJob c) {
      return c.getSpec().getJobTemplate().getSpec().getTemplate().getSpec();
    }
    return ((Job) o).getSpec().getTemplate().getSpec();
  }
}
