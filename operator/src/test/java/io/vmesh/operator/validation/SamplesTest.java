package io.vmesh.operator.validation;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.json.JsonMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLParser;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.utils.Serialization;
import io.vmesh.operator.api.MeshPolicySpec;
import io.vmesh.operator.api.TrafficCaptureSpec;
import io.vmesh.operator.crd.CrdManifests;
import io.vmesh.operator.install.CrdSchema;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every sample a user may copy is valid three times over: against the CRD's schema, its CEL rules, and the
 * operator's own validator (what a cluster's API server and the operator would say). The one sample meant to be
 * invalid must break exactly the rules its comment promises.
 */
class SamplesTest {

  private static final Path SAMPLES = Path.of("..", "samples");
  private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
  private static final ObjectMapper JSON = JsonMapper.builder().build();
  private static final String INVALID = "mesh-policy-invalid.yaml";

  static Stream<String> samples() throws IOException {
    try (Stream<Path> files = Files.walk(SAMPLES)) {
      List<String> names = files.filter(p -> p.toString().endsWith(".yaml")).map(p -> SAMPLES.relativize(p).toString()).sorted().toList();
      return names.stream().filter(n -> {
        try {
          return !objects(n).isEmpty();
        } catch (IOException e) {
          throw new IllegalStateException(e);
        }
      });
    }
  }

  @ParameterizedTest
  @MethodSource("samples")
  void isValidEverywhere(String sample) throws Exception {
    List<String> problems = new ArrayList<>();
    for (Map<String, Object> object : objects(sample)) {
      String kind = String.valueOf(object.get("kind"));
      String crdFile = kind.equals("TrafficCapture") ? "trafficcaptures.vmesh.io.yaml" : "meshpolicies.vmesh.io.yaml";
      CustomResourceDefinition crd = Serialization.unmarshal(CrdManifests.load().get(crdFile), CustomResourceDefinition.class);
      problems.addAll(CrdSchema.violations(CrdSchema.schemaOf(crd, "v1alpha1"), object));
      problems.addAll(new CelRules(crdFile).violations(JSON.writeValueAsString(object)));
      Object spec = object.get("spec");
      problems.addAll(kind.equals("TrafficCapture")
          ? SpecValidator.validate(JSON.convertValue(spec, TrafficCaptureSpec.class))
          : SpecValidator.validate(JSON.convertValue(spec, MeshPolicySpec.class)));
    }
    if (sample.equals(INVALID)) {
      assertThat(problems).as("%s breaks what its comment says, nothing else", sample).isNotEmpty()
          .allMatch(p -> p.startsWith("ports: each port may be declared only once") || p.startsWith("http[].route: the weights add up to 0"));
    } else {
      assertThat(problems).as("%s", sample).isEmpty();
    }
  }

  /** The vmesh resources of a sample file (other kinds, like the Services a route needs, are skipped). */
  @SuppressWarnings("unchecked")
  static List<Map<String, Object>> objects(String sample) throws IOException {
    List<Map<String, Object>> out = new ArrayList<>();
    try (YAMLParser parser = new YAMLFactory().createParser(SAMPLES.resolve(sample).toFile())) {
      for (var it = YAML.readValues(parser, Map.class); it.hasNext(); ) {
        Map<String, Object> doc = it.next();
        if (doc != null && String.valueOf(doc.get("apiVersion")).startsWith("vmesh.io/")) {
          out.add(doc);
        }
      }
    }
    return out;
  }
}
