package io.vmesh.apiserver.admission;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The API server's Service IP handling for a dual-stack cluster: {@code spec.ipFamilyPolicy} (SingleStack by
 * default, PreferDualStack, RequireDualStack), {@code spec.ipFamilies} (IPv4 first unless the Service asks
 * otherwise) and {@code spec.clusterIPs} (the first one is {@code spec.clusterIP}), allocated from
 * {@code 10.96.0.0/16} and {@code fd00:10:96::/112}; {@code None} is headless. Bad input is refused with the
 * field errors the real API server gives, and nothing is changed.
 */
public final class ClusterIps {

  public static final String IPV4_RANGE = "10.96.0.0/16";
  public static final String IPV6_RANGE = "fd00:10:96::/112";
  /** Kubernetes keeps the first addresses of a range for the {@code kubernetes} Service and DNS. */
  private static final int FIRST = 10;
  private static final Pattern IPV4 = Pattern.compile("\\d{1,3}(\\.\\d{1,3}){3}");
  private static final Pattern IPV6 = Pattern.compile("[0-9a-fA-F:.]*:[0-9a-fA-F:.]*");
  private static final List<String> POLICIES = List.of("PreferDualStack", "RequireDualStack", "SingleStack");

  /** One field error, as the API server words it; {@code detail} does not repeat the field. */
  public record FieldError(String field, String reason, String detail) {
    @Override
    public String toString() {
      return field + ": " + detail;
    }
  }

  /** Sets the IP fields of a new Service; the field errors when it cannot (then {@code service} is unchanged). */
  public synchronized List<FieldError> allocate(ObjectNode service, List<String> used) {
    ObjectNode spec = service.path("spec").isObject() ? (ObjectNode) service.path("spec").deepCopy() : service.objectNode();
    List<FieldError> errors = assign(spec, null, used);
    if (errors.isEmpty()) {
      service.set("spec", spec);
    }
    return errors;
  }

  /**
   * Checks and completes the IP fields of an updated Service against the stored one: addresses and the primary
   * family never change, left-out fields keep their stored values (as {@code kubectl apply} expects), and a
   * Service upgraded to dual stack gets its secondary address. {@code used} must not contain this Service's own.
   */
  public synchronized List<FieldError> update(JsonNode current, ObjectNode next, List<String> used) {
    ObjectNode spec = next.path("spec").isObject() ? (ObjectNode) next.path("spec").deepCopy() : next.objectNode();
    List<FieldError> errors = assign(spec, current.path("spec"), used);
    if (errors.isEmpty()) {
      next.set("spec", spec);
    }
    return errors;
  }

  private List<FieldError> assign(ObjectNode spec, JsonNode old, List<String> used) {
    List<FieldError> errors = new ArrayList<>();
    String type = spec.path("type").asText("ClusterIP");
    if (type.equals("ExternalName")) {
      for (String f : List.of("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy")) {
        if (spec.has(f) && !spec.get(f).isNull() && !(spec.get(f).isArray() && spec.get(f).isEmpty()) && !spec.path(f).asText().equals("")) {
          errors.add(new FieldError("spec." + f, "FieldValueForbidden", "Forbidden: may not be set for ExternalName services"));
        }
      }
      return errors;
    }
    boolean oldHasIps = old != null && !old.path("clusterIP").asText("").isEmpty();
    if (oldHasIps) {
      // left-out fields keep their stored values, as the real API server does for kubectl apply
      boolean noIps = spec.path("clusterIPs").isMissingNode() || spec.path("clusterIPs").isNull() || spec.path("clusterIPs").isEmpty();
      String given = spec.path("clusterIP").asText("");
      if (noIps && (given.isEmpty() || given.equals(old.path("clusterIP").asText()))) {
        spec.put("clusterIP", old.path("clusterIP").asText());
        spec.set("clusterIPs", old.path("clusterIPs").deepCopy());
      }
      if (!spec.has("ipFamilies") || spec.get("ipFamilies").isNull() || spec.get("ipFamilies").isEmpty()) {
        if (old.has("ipFamilies")) {
          spec.set("ipFamilies", old.get("ipFamilies").deepCopy());
        }
      }
      if (!spec.hasNonNull("ipFamilyPolicy") && old.hasNonNull("ipFamilyPolicy")) {
        spec.put("ipFamilyPolicy", old.get("ipFamilyPolicy").asText());
      }
    }
    List<String> ips = strings(spec, "clusterIPs", errors);
    List<String> families = strings(spec, "ipFamilies", errors);
    String clusterIp = spec.path("clusterIP").asText("");
    if (!errors.isEmpty()) {
      return errors;
    }
    if (!clusterIp.isEmpty() && ips.isEmpty()) {
      ips.add(clusterIp);
    } else if (clusterIp.isEmpty() && !ips.isEmpty()) {
      clusterIp = ips.get(0);
    } else if (!clusterIp.isEmpty() && !clusterIp.equals(ips.get(0))) {
      errors.add(new FieldError("spec.clusterIPs[0]", "FieldValueInvalid",
          "Invalid value: " + quote(ips) + ": must be same as spec.clusterIP (\"" + clusterIp + "\")"));
      return errors;
    }
    boolean headless = clusterIp.equals("None");
    if (headless && ips.size() > 1) {
      errors.add(new FieldError("spec.clusterIPs[1]", "FieldValueInvalid",
          "Invalid value: " + quote(ips) + ": must not be set when spec.clusterIP is None"));
    }
    // the policy, as given or defaulted
    String policy = spec.path("ipFamilyPolicy").asText("");
    if (!policy.isEmpty() && !POLICIES.contains(policy)) {
      errors.add(new FieldError("spec.ipFamilyPolicy", "FieldValueNotSupported",
          "Unsupported value: \"" + policy + "\": supported values: \"PreferDualStack\", \"RequireDualStack\", \"SingleStack\""));
    }
    if (families.size() > 2) {
      errors.add(new FieldError("spec.ipFamilies", "FieldValueTooMany", "Too many: " + families.size() + ": must have at most 2 items"));
    }
    if (ips.size() > 2) {
      errors.add(new FieldError("spec.clusterIPs", "FieldValueTooMany", "Too many: " + ips.size() + ": must have at most 2 items"));
    }
    for (int i = 0; i < families.size(); i++) {
      String f = families.get(i);
      if (!f.equals("IPv4") && !f.equals("IPv6")) {
        errors.add(new FieldError("spec.ipFamilies[" + i + "]", "FieldValueNotSupported",
            "Unsupported value: \"" + f + "\": supported values: \"IPv4\", \"IPv6\""));
      } else if (families.subList(0, i).contains(f)) {
        errors.add(new FieldError("spec.ipFamilies[" + i + "]", "FieldValueDuplicate", "Duplicate value: \"" + f + "\""));
      }
    }
    List<String> ipFamilies = new ArrayList<>();
    for (int i = 0; i < ips.size() && !headless; i++) {
      String family = family(ips.get(i));
      if (family == null) {
        errors.add(new FieldError("spec.clusterIPs[" + i + "]", "FieldValueInvalid",
            "Invalid value: \"" + ips.get(i) + "\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)"));
      } else if (ipFamilies.contains(family)) {
        errors.add(new FieldError("spec.clusterIPs[" + i + "]", "FieldValueInvalid",
            "Invalid value: " + quote(ips) + ": may not have more than one IP for each IP family"));
      } else {
        ipFamilies.add(family);
        if (i < families.size() && !families.get(i).equals(family)) {
          errors.add(new FieldError("spec.clusterIPs[" + i + "]", "FieldValueInvalid",
              "Invalid value: \"" + ips.get(i) + "\": expected an " + families.get(i) + " value as indicated by `ipFamilies[" + i + "]`"));
        }
      }
    }
    if (!errors.isEmpty()) {
      return errors;
    }
    int given = Math.max(families.size(), headless ? 0 : ips.size());
    if (policy.isEmpty()) {
      if (given > 1) {
        errors.add(new FieldError("spec.ipFamilyPolicy", "FieldValueInvalid",
            "Invalid value: \"SingleStack\": must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified"));
        return errors;
      }
      policy = "SingleStack";
    } else if (policy.equals("SingleStack") && given > 1) {
      errors.add(new FieldError("spec.ipFamilyPolicy", "FieldValueInvalid",
          "Invalid value: \"SingleStack\": must be 'RequireDualStack' or 'PreferDualStack' when multiple IP families are specified"));
      return errors;
    }
    // the families: those given, completed from the addresses and the cluster's order (IPv4, then IPv6)
    List<String> wanted = new ArrayList<>(families);
    for (String f : ipFamilies) {
      if (!wanted.contains(f)) {
        wanted.add(f);
      }
    }
    if (wanted.isEmpty()) {
      wanted.add("IPv4");
    }
    if (!policy.equals("SingleStack") && wanted.size() == 1) {
      wanted.add(wanted.get(0).equals("IPv4") ? "IPv6" : "IPv4");
    }
    if (policy.equals("SingleStack") && wanted.size() > 1) {
      wanted = new ArrayList<>(wanted.subList(0, 1));
    }
    if (old != null && oldHasIps) {
      List<FieldError> immutable = immutable(old, headless, ips, wanted);
      if (!immutable.isEmpty()) {
        return immutable;
      }
    }
    Set<InetAddress> taken = new HashSet<>();
    used.forEach(u -> parse(u).ifPresent(taken::add));
    Set<InetAddress> stored = new HashSet<>();
    if (old != null) {
      old.path("clusterIPs").forEach(ip -> parse(ip.asText()).ifPresent(stored::add));
    }
    List<String> assigned = new ArrayList<>();
    for (int i = 0; i < wanted.size(); i++) {
      if (headless) {
        break;
      }
      String family = wanted.get(i);
      if (i < ips.size()) {
        String ip = ips.get(i);
        InetAddress address = parse(ip).orElseThrow();
        if (!stored.contains(address)) {
          if (!inRange(address)) {
            errors.add(new FieldError("spec.clusterIPs[" + i + "]", "FieldValueInvalid", "Invalid value: " + quote(ips)
                + ": failed to allocate IP " + ip + ": the provided IP (" + ip + ") is not in the valid range. The range of valid IPs is "
                + (family.equals("IPv4") ? IPV4_RANGE : IPV6_RANGE)));
          } else if (taken.contains(address)) {
            errors.add(new FieldError("spec.clusterIPs[" + i + "]", "FieldValueInvalid", "Invalid value: " + quote(ips)
                + ": failed to allocate IP " + ip + ": provided IP is already allocated"));
          }
        }
        taken.add(address);
        assigned.add(ip);
      } else {
        String ip = next(family, taken);
        if (ip == null) {
          errors.add(new FieldError("spec.clusterIPs[" + i + "]", "InternalError", "Internal error: failed to allocate a serviceIP: range is full ("
              + (family.equals("IPv4") ? IPV4_RANGE : IPV6_RANGE) + ")"));
        } else {
          taken.add(parse(ip).orElseThrow());
          assigned.add(ip);
        }
      }
    }
    if (!errors.isEmpty()) {
      return errors;
    }
    spec.put("type", type);
    spec.put("ipFamilyPolicy", policy);
    ArrayNode familyArray = spec.putArray("ipFamilies");
    wanted.forEach(familyArray::add);
    if (headless) {
      spec.put("clusterIP", "None");
      spec.putArray("clusterIPs").add("None");
    } else {
      spec.put("clusterIP", assigned.get(0));
      ArrayNode ipArray = spec.putArray("clusterIPs");
      assigned.forEach(ipArray::add);
    }
    return errors;
  }

  /** What an update may not do: change an address or the primary family, or keep two addresses as single stack. */
  private static List<FieldError> immutable(JsonNode old, boolean headless, List<String> ips, List<String> wanted) {
    List<FieldError> errors = new ArrayList<>();
    List<String> oldIps = new ArrayList<>();
    old.path("clusterIPs").forEach(ip -> oldIps.add(ip.asText()));
    if (oldIps.isEmpty()) {
      oldIps.add(old.path("clusterIP").asText());
    }
    List<String> oldFamilies = new ArrayList<>();
    old.path("ipFamilies").forEach(f -> oldFamilies.add(f.asText()));
    if (!ips.get(0).equals(oldIps.get(0))) {
      errors.add(new FieldError("spec.clusterIPs[0]", "FieldValueInvalid", "Invalid value: " + quote(ips) + ": may not change once set"));
    } else if (ips.size() > 1 && oldIps.size() > 1 && !ips.get(1).equals(oldIps.get(1))) {
      errors.add(new FieldError("spec.clusterIPs[1]", "FieldValueInvalid", "Invalid value: " + quote(ips) + ": may not change once set"));
    }
    if (!oldFamilies.isEmpty() && !wanted.isEmpty() && !headless && !oldFamilies.get(0).equals(wanted.get(0))) {
      errors.add(new FieldError("spec.ipFamilies[0]", "FieldValueInvalid", "Invalid value: \"" + wanted.get(0) + "\": may not change once set"));
    }
    if (ips.size() > wanted.size()) {
      errors.add(new FieldError("spec.clusterIPs", "FieldValueInvalid", "Invalid value: " + quote(ips)
          + ": a single-stack Service keeps one IP: remove spec.clusterIPs[1] and spec.ipFamilies[1] to downgrade"));
    }
    return errors;
  }

  private static List<String> strings(ObjectNode spec, String field, List<FieldError> errors) {
    List<String> out = new ArrayList<>();
    JsonNode node = spec.path(field);
    if (node.isMissingNode() || node.isNull()) {
      return out;
    }
    if (!node.isArray()) {
      errors.add(new FieldError("spec." + field, "FieldValueInvalid", "Invalid value: " + node + ": must be a list of strings"));
      return out;
    }
    node.forEach(n -> out.add(n.asText()));
    return out;
  }

  /** The next free address of the family's range, or null when it is full. */
  private static String next(String family, Set<InetAddress> taken) {
    for (int i = FIRST; i < 65535; i++) {
      String ip = family.equals("IPv4") ? "10.96." + (i >> 8) + "." + (i & 0xff) : "fd00:10:96::" + Integer.toHexString(i);
      if (family.equals("IPv4") && ((i & 0xff) == 0 || (i & 0xff) == 255)) {
        continue;
      }
      if (!taken.contains(parse(ip).orElseThrow())) {
        return ip;
      }
    }
    return null;
  }

  private static boolean inRange(InetAddress address) {
    byte[] b = address.getAddress();
    if (b.length == 4) {
      return (b[0] & 0xff) == 10 && (b[1] & 0xff) == 96;
    }
    byte[] prefix = parse("fd00:10:96::").orElseThrow().getAddress();
    for (int i = 0; i < 14; i++) {
      if (b[i] != prefix[i]) {
        return false;
      }
    }
    return true;
  }

  /** {@code IPv4}, {@code IPv6}, or null when {@code ip} is not an IP literal. */
  public static String family(String ip) {
    return parse(ip).map(a -> a instanceof Inet4Address ? "IPv4" : "IPv6").orElse(null);
  }

  /** An IP literal only: never a name lookup. */
  private static java.util.Optional<InetAddress> parse(String ip) {
    String s = ip.toLowerCase(Locale.ROOT);
    boolean v4 = IPV4.matcher(s).matches();
    if (v4 && java.util.Arrays.stream(s.split("\\.")).anyMatch(o -> Integer.parseInt(o) > 255)) {
      return java.util.Optional.empty();
    }
    if (!v4 && !IPV6.matcher(s).matches()) {
      return java.util.Optional.empty();
    }
    try {
      InetAddress a = InetAddress.getByName(s);
      return java.util.Optional.of(a);
    } catch (UnknownHostException | RuntimeException e) {
      return java.util.Optional.empty();
    }
  }

  private static String quote(List<String> ips) {
    return "[]string{" + String.join(", ", ips.stream().map(i -> "\"" + i + "\"").toList()) + "}";
  }
}
