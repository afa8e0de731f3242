package io.vmesh.apiserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.ConfigMapBuilder;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceBuilder;
import io.fabric8.kubernetes.api.model.GenericKubernetesResourceList;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.apiextensions.v1.CustomResourceDefinition;
import io.fabric8.kubernetes.client.Config;
import io.fabric8.kubernetes.client.KubernetesClient;
import io.fabric8.kubernetes.client.KubernetesClientBuilder;
import io.fabric8.kubernetes.client.KubernetesClientException;
import io.fabric8.kubernetes.client.Watch;
import io.fabric8.kubernetes.client.Watcher;
import io.fabric8.kubernetes.client.WatcherException;
import io.fabric8.kubernetes.client.dsl.MixedOperation;
import io.fabric8.kubernetes.client.dsl.Resource;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.io.TempDir;

/** A fabric8 client built from the written kubeconfig, as the operator builds it, against the jar as a process. */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class Fabric8ClientIT {

  private ApiServerProcess server;
  private KubernetesClient client;

  @BeforeAll
  void start(@TempDir Path dir) throws Exception {
    server = ApiServerProcess.start(dir);
    Config config = Config.fromKubeconfig(Files.readString(server.kubeconfig));
    client = new KubernetesClientBuilder().withConfig(config).build();
    assertThat(client.getMasterUrl().toString()).startsWith(server.url);
    CustomResourceDefinition crd = client.apiextensions().v1().customResourceDefinitions()
        .load(Fabric8ClientIT.class.getResourceAsStream("/widget-crd.yaml")).item();
    client.apiextensions().v1().customResourceDefinitions().resource(crd).create();
  }

  @AfterAll
  void stop() throws Exception {
    if (client != null) {
      client.close();
    }
    if (server != null) {
      server.close();
    }
  }

  @Test
  void selfSubjectReviewsAnswerThatEverythingIsAllowed() {
    var rules = client.authorization().v1().selfSubjectRulesReview().create(
        new io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectRulesReviewBuilder()
            .withNewSpec().withNamespace("default").endSpec().build());
    assertThat(rules.getStatus().getIncomplete()).isFalse();
    assertThat(rules.getStatus().getResourceRules()).singleElement().satisfies(r -> {
      assertThat(r.getVerbs()).containsExactly("*");
      assertThat(r.getResources()).containsExactly("*");
    });
    var access = client.authorization().v1().selfSubjectAccessReview().create(
        new io.fabric8.kubernetes.api.model.authorization.v1.SelfSubjectAccessReviewBuilder()
            .withNewSpec().withNewResourceAttributes().withGroup("coordination.k8s.io").withResource("leases")
            .withVerb("update").withNamespace("vmesh-system").endResourceAttributes().endSpec().build());
    assertThat(access.getStatus().getAllowed()).isTrue();
  }

  @Test
  void watchSeesWidgetsAddedModifiedAndDeleted() throws Exception {
    MixedOperation<GenericKubernetesResource, GenericKubernetesResourceList, Resource<GenericKubernetesResource>>
        widgets = client.genericKubernetesResources("test.vmesh.io/v1alpha1", "Widget");
    BlockingQueue<String> events = new LinkedBlockingQueue<>();
    try (Watch ignored = widgets.inNamespace("default").watch(recordingTo(events))) {
      widgets.inNamespace("default").resource(widget("spring", 2)).create();
      assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("ADDED spring");

      GenericKubernetesResource withStatus = widgets.inNamespace("default").withName("spring").get();
      withStatus.setAdditionalProperty("status",
          Map.of("conditions", List.of(Map.of("type", "Ready", "status", "True", "reason", "Ready"))));
      widgets.inNamespace("default").resource(withStatus).updateStatus();
      assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("MODIFIED spring");
      // a status update from a stale copy is a conflict, as on a real cluster
      assertThatThrownBy(() -> widgets.inNamespace("default").resource(withStatus).updateStatus())
          .isInstanceOfSatisfying(KubernetesClientException.class, e -> assertThat(e.getCode()).isEqualTo(409));

      // a main-resource update without status keeps the status the status subresource wrote
      GenericKubernetesResource edited = widgets.inNamespace("default").withName("spring")
          .edit(w -> {
            w.getAdditionalProperties().remove("status");
            w.setAdditionalProperty("spec", Map.of("replicas", 4));
            return w;
          });
      assertThat(edited.get("spec", "replicas").toString()).isEqualTo("4");
      assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("MODIFIED spring");
      GenericKubernetesResource stored = widgets.inNamespace("default").withName("spring").get();
      assertThat(stored.<Object>get("status", "conditions", 0, "status")).isEqualTo("True");
      assertThat(widgets.inNamespace("default").list().getItems()).extracting(w -> w.getMetadata().getName())
          .containsExactly("spring");

      widgets.inNamespace("default").withName("spring").delete();
      assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("DELETED spring");
    }
  }

  @Test
  void builtInKindsCreateListAndWatch() throws Exception {
    BlockingQueue<String> events = new LinkedBlockingQueue<>();
    try (Watch ignored = client.configMaps().inNamespace("demo").watch(recordingTo(events))) {
      client.configMaps().inNamespace("demo").resource(new ConfigMapBuilder()
          .withNewMetadata().withName("settings").withNamespace("demo").endMetadata()
          .addToData("mode", "REDIRECT").build()).create();
      assertThat(events.poll(10, TimeUnit.SECONDS)).isEqualTo("ADDED settings");
    }
    assertThat(client.configMaps().inNamespace("demo").list().getItems()).singleElement()
        .satisfies(cm -> assertThat(cm.getData()).containsEntry("mode", "REDIRECT"));
    assertThat(client.namespaces().list().getItems()).extracting(ns -> ns.getMetadata().getName())
        .contains("default", "kube-system");
  }

  /** A watcher that records "ACTION name" for each event. */
  private static <T extends HasMetadata> Watcher<T> recordingTo(BlockingQueue<String> events) {
    return new Watcher<>() {
      @Override
      public void eventReceived(Action action, T resource) {
        events.add(action + " " + resource.getMetadata().getName());
      }

      @Override
      public void onClose(WatcherException cause) {
        events.add("CLOSED " + cause);
      }
    };
  }

  private static GenericKubernetesResource widget(String name, int replicas) {
    return new GenericKubernetesResourceBuilder()
        .withApiVersion("test.vmesh.io/v1alpha1")
        .withKind("Widget")
        .withNewMetadata().withName(name).withNamespace("default").endMetadata()
        .withAdditionalProperties(Map.of("spec", Map.of("replicas", replicas)))
        .build();
  }
}
