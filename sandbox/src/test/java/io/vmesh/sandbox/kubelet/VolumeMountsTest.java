package io.vmesh.sandbox.kubelet;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.ContainerBuilder;
import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class VolumeMountsTest {

  private static final List<String> COMMAND = List.of("setpriv", "--reuid=1337", "--regid=1337", "--clear-groups", "proxy");

  private static Container mounting(String volume, String path) {
    return new ContainerBuilder().withName("c").addNewVolumeMount().withName(volume).withMountPath(path).endVolumeMount().build();
  }

  @Test
  void aPathUnderRunIsMadeOnAFreshTmpfsAndBoundReadOnly() throws IOException {
    List<String> line = VolumeMounts.wrap(mounting("token", "/var/run/secrets/tokens"), Map.of("token", Path.of("/tmp/v/token")), COMMAND);
    assertThat(line).startsWith("unshare", "--mount", "--propagation", "private", "/bin/sh", "-c").endsWith(COMMAND.toArray(String[]::new));
    assertThat(line.get(6)).isEqualTo("mount -t tmpfs -o mode=755 tmpfs /run && mkdir -p '/run/secrets/tokens' && "
        + "mount --bind '/tmp/v/token' '/run/secrets/tokens' && mount -o remount,bind,ro '/run/secrets/tokens' && exec \"$@\"");
  }

  @Test
  void containersWithoutFilledVolumesRunAsTheyAre() throws IOException {
    assertThat(VolumeMounts.wrap(mounting("config", "/etc/app"), Map.of(), COMMAND)).isEqualTo(COMMAND);
  }

  @Test
  void aPathThatWouldHaveToBeCreatedOnTheMachineIsRefused() {
    assertThatThrownBy(() -> VolumeMounts.wrap(mounting("token", "/opt/nowhere-vmesh/tokens"), Map.of("token", Path.of("/tmp/v")), COMMAND))
        .hasMessageContaining("cannot mount at /opt/nowhere-vmesh/tokens");
  }
}
