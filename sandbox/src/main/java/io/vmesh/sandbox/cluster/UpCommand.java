package io.vmesh.sandbox.cluster;

import io.vmesh.sandbox.Artifacts;
import io.vmesh.sandbox.topology.SandboxException;
import io.vmesh.sandbox.topology.SystemCommand;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code vmesh-sandbox up}: starts mesh-in-a-box, applies bookinfo-lite (unless told not to), prints how to use
 * kubectl against it, and keeps it running until Ctrl-C, which removes everything.
 */
@Command(name = "up", mixinStandardHelpOptions = true,
    description = {"Start mesh-in-a-box (API server, operator, kubelet) with bookinfo-lite and keep it running until Ctrl-C.",
        "Needs root: it makes network namespaces. Everything it creates is removed when it ends."})
public final class UpCommand implements Callable<Integer> {

  @Option(names = "--no-samples", description = "Do not apply samples/bookinfo-lite/.")
  boolean noSamples;

  @Option(names = "--webhook-failure-policy", defaultValue = "Fail", paramLabel = "Fail|Ignore",
      description = "The injection webhook's failurePolicy (default: ${DEFAULT-VALUE}).")
  String failurePolicy;

  @CommandLine.Spec
  CommandLine.Model.CommandSpec spec;

  @Override
  public Integer call() throws InterruptedException {
    PrintWriter out = spec.commandLine().getOut();
    PrintWriter err = spec.commandLine().getErr();
    if (!"0".equals(SystemCommand.check("id", "-u").stdout().strip())) {
      err.println("vmesh-sandbox up: needs root, since it creates network namespaces and iptables rules");
      return 1;
    }
    MeshInABox.Settings base = MeshInABox.Settings.beside(Artifacts.sandboxJar());
    MeshInABox.Settings settings = new MeshInABox.Settings(base.apiserverJar(), base.operatorJar(), base.proxyJar(),
        base.sandboxJar(), base.repo(), failurePolicy);
    CountDownLatch forever = new CountDownLatch(1);
    try {
      MeshInABox box = MeshInABox.start(settings);
      out.println("mesh-in-a-box is up: API server " + MeshInABox.API_ADDRESS + " in network namespace " + box.topology().nodeNetns());
      if (!noSamples) {
        Path bookinfo = settings.repo().resolve("samples/bookinfo-lite");
        box.kubectlOk("apply", "--validate=false", "-f", bookinfo.resolve("00-namespace.yaml").toString(),
            "-f", bookinfo.resolve("10-traffic-capture.yaml").toString());
        // the webhook reads TrafficCaptures from its informer cache: let it see this one before pods are made
        Thread.sleep(2000);
        out.print(box.kubectlOk("apply", "--validate=false", "-k", bookinfo.toString()).stdout());
      }
      out.println("use it with:");
      out.println("  ip netns exec " + box.topology().nodeNetns() + " kubectl --kubeconfig " + box.kubeconfig() + " get pods,svc,tc -A");
      out.println("pod logs: " + box.topology().workDir().resolve("pods") + "/<namespace>_<pod>_<uid>/<container>.log");
      out.println("Ctrl-C stops it and removes everything.");
      out.flush();
      forever.await();
      return 0;
    } catch (SandboxException e) {
      err.println("vmesh-sandbox up: " + e.getMessage());
      return 1;
    }
  }
}
