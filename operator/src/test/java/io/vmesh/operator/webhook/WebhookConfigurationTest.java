package io.vmesh.operator.webhook;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhook;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Map;
import org.junit.jupiter.api.Test;

class WebhookConfigurationTest {

  @Test
  void podsCreateOnlyFailClosedOptInByNamespaceOptOutByLabel() {
    MutatingWebhook w = WebhookConfiguration.desired("vmesh-injector", "vmesh-system", "vmesh-operator", 9443, "PEM", "Fail")
        .getWebhooks().get(0);
    assertThat(w.getRules()).singleElement().satisfies(r -> {
      assertThat(r.getOperations()).containsExactly("CREATE");
      assertThat(r.getApiGroups()).containsExactly("");
      assertThat(r.getResources()).containsExactly("pods");
    });
    assertThat(w.getSideEffects()).isEqualTo("None");
    assertThat(w.getFailurePolicy()).isEqualTo("Fail");
    assertThat(w.getTimeoutSeconds()).isEqualTo(5);
    assertThat(w.getReinvocationPolicy()).isEqualTo("IfNeeded");
    assertThat(w.getAdmissionReviewVersions()).containsExactly("v1");
    assertThat(w.getNamespaceSelector().getMatchLabels()).isEqualTo(Map.of("vmesh.io/injection", "enabled"));
    assertThat(w.getObjectSelector().getMatchExpressions()).singleElement().satisfies(e -> {
      assertThat(e.getKey()).isEqualTo("vmesh.io/inject");
      assertThat(e.getOperator()).isEqualTo("NotIn");
      assertThat(e.getValues()).containsExactly("false");
    });
    assertThat(w.getClientConfig().getService().getPath()).isEqualTo("/inject");
    assertThat(w.getClientConfig().getService().getPort()).isEqualTo(9443);
    assertThat(new String(Base64.getDecoder().decode(w.getClientConfig().getCaBundle()), StandardCharsets.US_ASCII)).isEqualTo("PEM");
  }

  @Test
  void onlyFailOrIgnore() {
    assertThat(WebhookConfiguration.desired("n", "ns", "svc", 9443, "PEM", "Ignore").getWebhooks().get(0).getFailurePolicy()).isEqualTo("Ignore");
    assertThatThrownBy(() -> WebhookConfiguration.desired("n", "ns", "svc", 9443, "PEM", "fail"))
        .hasMessage("failure policy must be Fail or Ignore, got fail");
  }
}
