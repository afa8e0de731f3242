package io.vmesh.operator;

import io.fabric8.kubernetes.api.model.HasMetadata;
import io.vmesh.operator.api.TrafficCapture;
import io.vmesh.operator.inject.InjectionDecision;
import io.vmesh.operator.inject.InjectionSettings;
import io.vmesh.operator.inject.Manifests;
import io.vmesh.operator.inject.WorkloadInjection;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code vmesh-operator inject}: what the webhook would do to a pod or a workload's pod template, offline. */
@Command(name = "inject",
    mixinStandardHelpOptions = true,
    description = {"Print the injected object (Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job, CronJob), or with",
        "--explain why it would or would not be injected. Exit 1 when an object would be refused."})
public final class InjectCommand implements Callable<Integer> {

  @Option(names = {"-f", "--filename"}, required = true, paramLabel = "FILE", description = "YAML of the objects to inject ('-' reads stdin).")
  String file;

  @Option(names = "--capture", paramLabel = "FILE",
      description = "YAML of the namespace's TrafficCaptures (repeatable); TrafficCaptures in -f count too.")
  List<Path> captureFiles = new ArrayList<>();

  @Option(names = "--explain", description = "Explain the decision instead of printing the object.")
  boolean explain;

  @Option(names = {"-n", "--namespace"}, paramLabel = "NS", defaultValue = "default",
      description = "Namespace of objects that name none (default: ${DEFAULT-VALUE}).")
  String namespace;

  @Option(names = "--cluster-version", paramLabel = "MAJOR.MINOR", defaultValue = "1.30",
      description = "Kubernetes version assumed for nativeSidecar Auto (default: ${DEFAULT-VALUE}).")
  String clusterVersion;

  @Option(names = "--image", paramLabel = "IMAGE", defaultValue = InjectionSettings.DEFAULT_IMAGE,
      description = "Proxy image when the TrafficCapture names none (default: ${DEFAULT-VALUE}).")
  String image;

  @Option(names = "--xds-address", paramLabel = "HOST:PORT", defaultValue = InjectionSettings.DEFAULT_XDS_ADDRESS,
      description = "The operator's xDS address given to the proxy (default: ${DEFAULT-VALUE}).")
  String xdsAddress;

  @Option(names = "--xds-ca-configmap", paramLabel = "NAME", defaultValue = InjectionSettings.DEFAULT_XDS_CA_CONFIGMAP,
      description = "ConfigMap with the xDS CA mounted into the proxy; empty for a plaintext --xds-address (default: ${DEFAULT-VALUE}).")
  String xdsCaConfigMap;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws IOException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    InjectionSettings settings;
    List<HasMetadata> objects;
    List<TrafficCapture> captures = new ArrayList<>();
    try {
      settings = InjectionSettings.of(image, xdsAddress, xdsCaConfigMap, clusterVersion, InjectionSettings.DEFAULT_SYSTEM_NAMESPACES);
      String text = "-".equals(file) ? new String(System.in.readAllBytes(), StandardCharsets.UTF_8) : Files.readString(Path.of(file));
      objects = Manifests.read(text, file);
      objects.stream().filter(TrafficCapture.class::isInstance).map(TrafficCapture.class::cast).forEach(captures::add);
      for (Path p : captureFiles) {
        for (HasMetadata o : Manifests.read(Files.readString(p), p.toString())) {
          if (!(o instanceof TrafficCapture tc)) {
            throw new IllegalArgumentException(p + ": " + o.getKind() + " " + o.getMetadata().getName() + " is not a TrafficCapture");
          }
          captures.add(tc);
        }
      }
      duplicates(captures);
    } catch (IllegalArgumentException | java.nio.file.NoSuchFileException e) {
      throw new CommandLine.ParameterException(spec.commandLine(), e instanceof java.nio.file.NoSuchFileException
          ? "no such file: " + e.getMessage() : e.getMessage());
    }
    int refused = 0;
    boolean first = true;
    for (HasMetadata o : objects) {
      if (o instanceof TrafficCapture) {
        continue;
      }
      WorkloadInjection.Result result;
      try {
        result = WorkloadInjection.inject(o, captures, settings, namespace);
      } catch (IllegalArgumentException e) {
        throw new CommandLine.ParameterException(spec.commandLine(), e.getMessage());
      }
      if (result.decision().outcome() == InjectionDecision.Outcome.REFUSE) {
        refused++;
        err.println("vmesh inject: " + o.getKind() + " " + o.getMetadata().getName() + " refused (" + result.decision().reason() + "): "
            + result.decision().message());
      }
      if (!first && !explain) {
        out.println("---");
      }
      first = false;
      out.print(explain ? WorkloadInjection.explain(result) : WorkloadInjection.render(result));
    }
    out.flush();
    err.flush();
    return refused == 0 ? 0 : 1;
  }

  /** A cluster cannot hold two TrafficCaptures of one name; given twice (in -f and --capture), it is a mistake, not a conflict. */
  private void duplicates(List<TrafficCapture> captures) {
    java.util.Set<String> seen = new java.util.HashSet<>();
    for (TrafficCapture c : captures) {
      String key = (c.getMetadata().getNamespace() == null ? namespace : c.getMetadata().getNamespace()) + "/" + c.getMetadata().getName();
      if (!seen.add(key)) {
        throw new IllegalArgumentException("TrafficCapture " + key + " is given twice (in -f and --capture, or twice in one file); give it once");
      }
    }
  }
}
