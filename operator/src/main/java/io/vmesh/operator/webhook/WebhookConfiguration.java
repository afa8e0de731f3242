package io.vmesh.operator.webhook;

import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfiguration;
import io.fabric8.kubernetes.api.model.admissionregistration.v1.MutatingWebhookConfigurationBuilder;
import io.vmesh.operator.inject.InjectionDecision;
import io.vmesh.operator.inject.InjectionStatus;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Set;

/** The MutatingWebhookConfiguration the operator keeps in place: pods CREATE, fail-closed, opt-in by namespace label. */
public final class WebhookConfiguration {

  public static final String NAMESPACE_LABEL = InjectionDecision.NAMESPACE_LABEL;
  public static final Set<String> FAILURE_POLICIES = Set.of("Fail", "Ignore");

  private WebhookConfiguration() {
  }

  /**
   * @param name of the configuration (cluster-scoped) and prefix of the webhook's name
   * @param serviceNamespace namespace of the operator's Service
   * @param serviceName the operator's Service, port {@code port}, path {@code /inject}
   * @param caPem the CA that signed the serving certificate
   * @param failurePolicy Fail (default: a pod is not created without its sidecar) or Ignore
   */
  public static MutatingWebhookConfiguration desired(String name, String serviceNamespace, String serviceName, int port, String caPem,
      String failurePolicy) {
    if (!FAILURE_POLICIES.contains(failurePolicy)) {
      throw new IllegalArgumentException("failure policy must be Fail or Ignore, got " + failurePolicy);
    }
    return new MutatingWebhookConfigurationBuilder()
        .withNewMetadata().withName(name).addToLabels("app.kubernetes.io/managed-by", "vmesh-operator").endMetadata()
        .addNewWebhook()
          .withName("inject.vmesh.io")
          .withAdmissionReviewVersions("v1")
          .withNewClientConfig()
            .withNewService().withNamespace(serviceNamespace).withName(serviceName).withPort(port).withPath(WebhookServer.PATH).endService()
            .withCaBundle(Base64.getEncoder().encodeToString(caPem.getBytes(StandardCharsets.US_ASCII)))
          .endClientConfig()
          .addNewRule()
            .withOperations("CREATE").withApiGroups("").withApiVersions("v1").withResources("pods").withScope("Namespaced")
          .endRule()
          .withSideEffects("None")
          .withFailurePolicy(failurePolicy)
          .withTimeoutSeconds(5)
          .withReinvocationPolicy("IfNeeded")
          .withMatchPolicy("Equivalent")
          .withNewNamespaceSelector().addToMatchLabels(NAMESPACE_LABEL, "enabled").endNamespaceSelector()
          .withNewObjectSelector()
            .addNewMatchExpression().withKey(InjectionStatus.INJECT_ANNOTATION).withOperator("NotIn").withValues("false").endMatchExpression()
          .endObjectSelector()
        .endWebhook()
        .build();
  }
}
