package io.vmesh.operator;

import io.vmesh.operator.crd.CrdManifests;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code vmesh-operator crds}: the CustomResourceDefinitions, as checked in under {@code crds/}. */
@Command(name = "crds",
    mixinStandardHelpOptions = true,
    description = {"Print the CustomResourceDefinitions (YAML), or write one file per CRD into a directory.",
        "Install them with: vmesh-operator crds | kubectl apply -f -"})
public final class CrdsCommand implements Callable<Integer> {

  @Option(names = "--output-dir", paramLabel = "DIR", description = "Write <plural>.<group>.yaml files here instead of printing.")
  Path outputDir;

  @Spec
  CommandSpec spec;

  @Override
  public Integer call() throws IOException {
    Map<String, String> files = CrdManifests.load();
    if (outputDir == null) {
      PrintWriter out = spec.commandLine().getOut();
      files.values().forEach(yaml -> out.print(yaml.startsWith("---") ? yaml : "---\n" + yaml));
      out.flush();
      return 0;
    }
    Files.createDirectories(outputDir);
    for (Map.Entry<String, String> file : files.entrySet()) {
      Files.writeString(outputDir.resolve(file.getKey()), file.getValue());
      spec.commandLine().getOut().println(outputDir.resolve(file.getKey()));
    }
    return 0;
  }
}
