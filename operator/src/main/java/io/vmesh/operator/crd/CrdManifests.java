package io.vmesh.operator.crd;

import io.fabric8.crd.generator.annotation.AdditionalPrinterColumn;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceColumnDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinitionVersion;
import io.fabric8.kubernetes.client.CustomResource;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.vmesh.operator.api.MeshPolicy;
import io.vmesh.operator.api.TrafficCapture;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The CRDs that fabric8's crd-generator-maven-plugin writes at build time, with the printer columns put back
 * in the order the annotations declare them (the generator sorts them by JSON path, fabric8 issue 7454).
 */
public final class CrdManifests {

  public static final List<Class<? extends CustomResource<?, ?>>> KINDS = List.of(TrafficCapture.class, MeshPolicy.class);

  private CrdManifests() {
  }

  /** File name ({@code <plural>.<group>.yaml}) to YAML, in {@link #KINDS} order. */
  public static Map<String, String> load() {
    Map<String, String> files = new LinkedHashMap<>();
    for (Class<? extends CustomResource<?, ?>> kind : KINDS) {
      String crdName = CustomResource.getCRDName(kind);
      CustomResourceDefinition crd = Serialization.unmarshal(generated(crdName), CustomResourceDefinition.class);
      for (CustomResourceDefinitionVersion version : crd.getSpec().getVersions()) {
        version.setAdditionalPrinterColumns(declaredOrder(kind, version.getAdditionalPrinterColumns()));
      }
      files.put(crdName + ".yaml", Serialization.asYaml(crd));
    }
    return files;
  }

  private static String generated(String crdName) {
    String resource = "/META-INF/fabric8/" + crdName + "-v1.yml";
    try (InputStream in = CrdManifests.class.getResourceAsStream(resource)) {
      if (in == null) {
        throw new IllegalStateException(resource + " is missing: the build's crd-generator-maven-plugin writes it");
      }
      return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  private static List<CustomResourceColumnDefinition> declaredOrder(Class<?> kind, List<CustomResourceColumnDefinition> columns) {
    List<String> names = Arrays.stream(kind.getAnnotationsByType(AdditionalPrinterColumn.class)).map(AdditionalPrinterColumn::name).toList();
    List<CustomResourceColumnDefinition> ordered = new ArrayList<>(columns);
    ordered.sort((a, b) -> Integer.compare(rank(names, a.getName()), rank(names, b.getName())));
    return ordered;
  }

  private static int rank(List<String> names, String name) {
    int i = names.indexOf(name);
    return i < 0 ? Integer.MAX_VALUE : i;
  }
}
