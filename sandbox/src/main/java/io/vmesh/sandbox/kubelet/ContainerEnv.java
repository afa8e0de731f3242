package io.vmesh.sandbox.kubelet;

import io.fabric8.kubernetes.api.model.ConfigMap;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvFromSource;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.EnvVarSource;
import io.fabric8.kubernetes.api.model.Pod;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.client.KubernetesClient;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A container's environment as the kubelet makes it: plain values, the downward API ({@code fieldRef}),
 * ConfigMap and Secret keys and {@code envFrom}, with {@code $(VAR)} references to earlier variables expanded
 * (also in command and args). A reference that cannot be resolved is an error naming it, as on a cluster
 * (CreateContainerConfigError), unless the source is optional.
 */
final class ContainerEnv {

  private static final Pattern REF = Pattern.compile("\\$\\(([A-Za-z_][A-Za-z0-9_.-]*)\\)|\\$\\$");
  private static final Pattern LABEL_FIELD = Pattern.compile("^metadata\\.(labels|annotations)\\['(.+)'\\]$");

  private ContainerEnv() {
  }

  /** The base every container gets, then the spec's variables in order. */
  static Map<String, String> of(Pod pod, Container c, String podIp, String nodeIp, KubernetesClient client) {
    Map<String, String> env = new LinkedHashMap<>();
    env.put("PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
    env.put("HOSTNAME", pod.getMetadata().getName());
    env.put("HOME", "/tmp");
    String ns = pod.getMetadata().getNamespace();
    if (c.getEnvFrom() != null) {
      for (EnvFromSource from : c.getEnvFrom()) {
        String prefix = from.getPrefix() == null ? "" : from.getPrefix();
        if (from.getConfigMapRef() != null) {
          ConfigMap cm = client.configMaps().inNamespace(ns).withName(from.getConfigMapRef().getName()).get();
          if (cm == null) {
            if (!Boolean.TRUE.equals(from.getConfigMapRef().getOptional())) {
              throw new IllegalStateException("configmap \"" + from.getConfigMapRef().getName() + "\" not found");
            }
          } else if (cm.getData() != null) {
            cm.getData().forEach((k, v) -> env.put(prefix + k, v));
          }
        }
        if (from.getSecretRef() != null) {
          Secret s = client.secrets().inNamespace(ns).withName(from.getSecretRef().getName()).get();
          if (s == null) {
            if (!Boolean.TRUE.equals(from.getSecretRef().getOptional())) {
              throw new IllegalStateException("secret \"" + from.getSecretRef().getName() + "\" not found");
            }
          } else if (s.getData() != null) {
            s.getData().forEach((k, v) -> env.put(prefix + k, decode(v)));
          }
        }
      }
    }
    if (c.getEnv() != null) {
      for (EnvVar v : c.getEnv()) {
        String value = v.getValueFrom() != null ? valueFrom(pod, v, podIp, nodeIp, client) : expand(v.getValue() == null ? "" : v.getValue(), env);
        if (value != null) {
          env.put(v.getName(), value);
        }
      }
    }
    return env;
  }

  private static String valueFrom(Pod pod, EnvVar v, String podIp, String nodeIp, KubernetesClient client) {
    EnvVarSource from = v.getValueFrom();
    String ns = pod.getMetadata().getNamespace();
    if (from.getFieldRef() != null) {
      return field(pod, from.getFieldRef().getFieldPath(), podIp, nodeIp);
    }
    if (from.getConfigMapKeyRef() != null) {
      ConfigMap cm = client.configMaps().inNamespace(ns).withName(from.getConfigMapKeyRef().getName()).get();
      String value = cm == null || cm.getData() == null ? null : cm.getData().get(from.getConfigMapKeyRef().getKey());
      if (value == null && !Boolean.TRUE.equals(from.getConfigMapKeyRef().getOptional())) {
        throw new IllegalStateException("couldn't find key " + from.getConfigMapKeyRef().getKey() + " in ConfigMap "
            + ns + "/" + from.getConfigMapKeyRef().getName() + " (env " + v.getName() + ")");
      }
      return value;
    }
    if (from.getSecretKeyRef() != null) {
      Secret s = client.secrets().inNamespace(ns).withName(from.getSecretKeyRef().getName()).get();
      String value = s == null || s.getData() == null ? null : s.getData().get(from.getSecretKeyRef().getKey());
      if (value == null && !Boolean.TRUE.equals(from.getSecretKeyRef().getOptional())) {
        throw new IllegalStateException("couldn't find key " + from.getSecretKeyRef().getKey() + " in Secret "
            + ns + "/" + from.getSecretKeyRef().getName() + " (env " + v.getName() + ")");
      }
      return value == null ? null : decode(value);
    }
    // resourceFieldRef (limits, requests): no resources are emulated
    throw new IllegalStateException("env " + v.getName() + ": only fieldRef, configMapKeyRef and secretKeyRef are supported here");
  }

  /** The downward API fields the kubelet fills in. */
  static String field(Pod pod, String path, String podIp, String nodeIp) {
    Matcher m = LABEL_FIELD.matcher(path);
    if (m.matches()) {
      Map<String, String> map = m.group(1).equals("labels") ? pod.getMetadata().getLabels() : pod.getMetadata().getAnnotations();
      return map == null ? "" : map.getOrDefault(m.group(2), "");
    }
    return switch (path) {
      case "metadata.name" -> pod.getMetadata().getName();
      case "metadata.namespace" -> pod.getMetadata().getNamespace();
      case "metadata.uid" -> pod.getMetadata().getUid();
      case "spec.nodeName" -> pod.getSpec().getNodeName() == null ? "" : pod.getSpec().getNodeName();
      case "spec.serviceAccountName" -> serviceAccount(pod);
      case "status.podIP", "status.podIPs" -> podIp;
      case "status.hostIP", "status.hostIPs" -> nodeIp;
      default -> throw new IllegalStateException("unsupported fieldRef fieldPath " + path);
    };
  }

  static String serviceAccount(Pod pod) {
    String sa = pod.getSpec().getServiceAccountName();
    return sa == null || sa.isEmpty() ? "default" : sa;
  }

  /** {@code $(VAR)} → its value when defined (else left as is), {@code $$} → {@code $}. */
  static String expand(String text, Map<String, String> env) {
    Matcher m = REF.matcher(text);
    StringBuilder out = new StringBuilder();
    while (m.find()) {
      String replacement = m.group().equals("$$") ? "$" : env.getOrDefault(m.group(1), m.group());
      m.appendReplacement(out, Matcher.quoteReplacement(replacement));
    }
    m.appendTail(out);
    return out.toString();
  }

  static List<String> expandAll(List<String> list, Map<String, String> env) {
    if (list == null) {
      return null;
    }
    List<String> out = new ArrayList<>();
    list.forEach(s -> out.add(expand(s, env)));
    return out;
  }

  private static String decode(String base64) {
    return new String(Base64.getDecoder().decode(base64), StandardCharsets.UTF_8);
  }
}
