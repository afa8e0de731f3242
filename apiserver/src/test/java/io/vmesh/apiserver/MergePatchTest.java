package io.vmesh.apiserver;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class MergePatchTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  // the examples of RFC 7386 appendix A, plus the status case that motivated it
  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "{'a':'b'}                 | {'a':'c'}              | {'a':'c'}",
      "{'a':'b'}                 | {'b':'c'}              | {'a':'b','b':'c'}",
      "{'a':'b'}                 | {'a':null}             | {}",
      "{'a':'b','b':'c'}         | {'a':null}             | {'b':'c'}",
      "{'a':['b']}               | {'a':'c'}              | {'a':'c'}",
      "{'a':'c'}                 | {'a':['b']}            | {'a':['b']}",
      "{'a':{'b':'c'}}           | {'a':{'b':'d','c':null}} | {'a':{'b':'d'}}",
      "{'a':[{'b':'c'}]}         | {'a':[1]}              | {'a':[1]}",
      "['a','b']                 | ['c','d']              | ['c','d']",
      "{'a':'b'}                 | ['c']                  | ['c']",
      "{'e':null}                | {'a':1}                | {'e':null,'a':1}",
      "[1,2]                     | {'a':'b','c':null}     | {'a':'b'}",
      "{}                        | {'a':{'bb':{'ccc':null}}} | {'a':{'bb':{}}}",
      "{'status':{'conditions':[{'type':'Ready','status':'True'}]}} | {'status':{'conditions':[{'type':'Ready','status':'False'}]}} | {'status':{'conditions':[{'type':'Ready','status':'False'}]}}",
  })
  void appliesLikeRfc7386(String target, String patch, String expected) throws Exception {
    JsonNode t = tree(target);
    JsonNode before = t.deepCopy();
    assertThat(MergePatch.apply(t, tree(patch))).isEqualTo(tree(expected));
    assertThat(t).isEqualTo(before);
  }

  private static JsonNode tree(String json) throws Exception {
    return JSON.readTree(json.trim().replace('\'', '"'));
  }
}
