package io.vmesh.sandbox.demo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.vmesh.sandbox.demo.DemoCommand.StepFailed;
import io.vmesh.sandbox.demo.Pods.PodInfo;
import io.vmesh.sandbox.topology.SystemCommand;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * HTTP requests made by a program inside a pod, the way its application would make them (Python's urllib, as the
 * sample apps do), each answer as JSON so the demo reads status, body or error by name.
 */
final class Http {

  private static final ObjectMapper JSON = new ObjectMapper();

  /**
   * Python that defines {@code get(url)}: a JSON object with {@code status} and {@code body}, or {@code error}. No
   * proxy from the environment: the request must go where the app would send it, through capture.
   */
  static final String GET_CODE = """
      import json, urllib.request, urllib.error
      opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
      def get(url):
          try:
              with opener.open(url, timeout=10) as r:
                  return json.dumps({'status': r.status, 'body': r.read().decode()})
          except urllib.error.HTTPError as e:
              return json.dumps({'status': e.code, 'body': e.read().decode()})
          except Exception as e:
              return json.dumps({'error': type(e).__name__ + ': ' + str(e)})
      """;

  /** One answer: the HTTP status (0 when there was none) and the body, or the error. */
  record Answer(int status, String body, String error) {
    boolean ok() {
      return error == null && status == 200;
    }

    String summary() {
      return error != null ? "no answer: " + error : status + " " + body.strip().replace("\n", " | ");
    }
  }

  private Http() {
  }

  /** GET {@code url} from inside {@code pod}, as its application's uid. */
  static Answer get(Pods pods, PodInfo pod, String url) {
    return parse(pods.pythonAsApp(pod, GET_CODE + "print(get(" + pyString(url) + "))"));
  }

  /** GET {@code url} from the node, outside the mesh (nothing captures there). */
  static Answer getFromNode(DemoCommand demo, String url) {
    return parse(demo.box().topology().runInNode(java.time.Duration.ofSeconds(30),
        java.util.List.of("/usr/bin/python3", "-c", GET_CODE + "print(get(" + pyString(url) + "))")));
  }

  /**
   * {@code n} GETs of {@code url} from inside {@code pod}, each a new connection, four at a time (one after the other
   * they mostly wait on each other's round trips), counted by the answer's second word (the sample reviews answers
   * {@code reviews <version> (<pod>): ...}); failures count under {@code error}.
   */
  static Map<String, Integer> countByVersion(Pods pods, PodInfo pod, String url, int n) {
    String code = GET_CODE + """
        from concurrent.futures import ThreadPoolExecutor
        def version(_):
            a = json.loads(get(%s))
            return a['body'].split()[1] if a.get('status') == 200 and len(a['body'].split()) > 1 else 'error'
        counts = {}
        with ThreadPoolExecutor(4) as pool:
            for key in pool.map(version, range(%d)):
                counts[key] = counts.get(key, 0) + 1
        print(json.dumps(counts))
        """.formatted(pyString(url), n);
    SystemCommand.Result r = pods.pythonAsApp(pod, code);
    try {
      JsonNode counts = JSON.readTree(r.stdout());
      Map<String, Integer> out = new LinkedHashMap<>();
      counts.fields().forEachRemaining(e -> out.put(e.getKey(), e.getValue().asInt()));
      return out;
    } catch (java.io.IOException e) {
      throw new StepFailed("the requests from " + pod.name() + " printed no counts: " + r.stdout() + r.stderr());
    }
  }

  private static Answer parse(SystemCommand.Result r) {
    try {
      JsonNode a = JSON.readTree(r.stdout());
      if (a == null || a.isMissingNode()) {
        throw new java.io.IOException("empty");
      }
      return new Answer(a.path("status").asInt(0), a.path("body").asText(""), a.has("error") ? a.path("error").asText() : null);
    } catch (java.io.IOException e) {
      return new Answer(0, "", "the request did not run (exit " + r.exitCode() + "): " + (r.stdout() + r.stderr()).strip());
    }
  }

  private static String pyString(String s) {
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'";
  }
}
