package io.vmesh.apiserver;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** What Kubernetes' strategic merge patch does with the lists of pods, pod templates and Services. */
class StrategicMergePatchTest {

  private static final ObjectMapper JSON = new ObjectMapper();

  @ParameterizedTest(name = "{3}")
  @CsvSource(delimiter = '|', value = {
      // objects and scalars: as a merge patch
      "{'a':'b','c':{'d':1}}  | {'a':'x','c':{'d':null,'e':2}} | {'a':'x','c':{'e':2}}   | objects merge, null removes",
      // keyed lists merge element by element
      "{'containers':[{'name':'app','image':'a:1'},{'name':'proxy','image':'p:1'}]} | {'containers':[{'name':'app','image':'a:2'}]} | {'containers':[{'name':'app','image':'a:2'},{'name':'proxy','image':'p:1'}]} | containers by name",
      "{'containers':[{'name':'app'}]} | {'containers':[{'name':'new','image':'n'}]} | {'containers':[{'name':'app'},{'name':'new','image':'n'}]} | a new key is appended",
      "{'containers':[{'name':'app'},{'name':'old'}]} | {'containers':[{'name':'old','$patch':'delete'}]} | {'containers':[{'name':'app'}]} | $patch delete removes by key",
      "{'containers':[{'name':'app','env':[{'name':'A','value':'1'},{'name':'B','value':'2'}]}]} | {'containers':[{'name':'app','env':[{'name':'B','value':'3'}]}]} | {'containers':[{'name':'app','env':[{'name':'A','value':'1'},{'name':'B','value':'3'}]}]} | env by name inside a container",
      "{'containers':[{'name':'app','ports':[{'containerPort':80,'name':'http'}]}]} | {'containers':[{'name':'app','ports':[{'containerPort':81}]}]} | {'containers':[{'name':'app','ports':[{'containerPort':80,'name':'http'},{'containerPort':81}]}]} | container ports by containerPort",
      "{'spec':{'ports':[{'port':80,'targetPort':8080},{'port':443}]}} | {'spec':{'ports':[{'port':80,'targetPort':9090}]}} | {'spec':{'ports':[{'port':80,'targetPort':9090},{'port':443}]}} | Service ports by port",
      "{'volumes':[{'name':'v','emptyDir':{}}],'containers':[{'name':'a','volumeMounts':[{'name':'v','mountPath':'/x'}]}]} | {'containers':[{'name':'a','volumeMounts':[{'name':'v','mountPath':'/y'}]}]} | {'volumes':[{'name':'v','emptyDir':{}}],'containers':[{'name':'a','volumeMounts':[{'name':'v','mountPath':'/x'},{'name':'v','mountPath':'/y'}]}]} | volumeMounts by mountPath",
      // other lists are replaced
      "{'containers':[{'name':'a','args':['x','y']}]} | {'containers':[{'name':'a','args':['z']}]} | {'containers':[{'name':'a','args':['z']}]} | args replaced",
      "{'tolerations':[{'key':'a'}]} | {'tolerations':[{'key':'b'}]} | {'tolerations':[{'key':'b'}]} | an unkeyed list of objects replaced",
      // directives
      "{'containers':[{'name':'a'},{'name':'b'}]} | {'containers':[{'$patch':'replace'},{'name':'c'}]} | {'containers':[{'name':'c'}]} | $patch replace on a list",
      "{'spec':{'a':1,'b':2}} | {'spec':{'$patch':'replace','c':3}} | {'spec':{'c':3}} | $patch replace on an object",
      "{'spec':{'a':1},'b':2} | {'spec':{'$patch':'delete'}} | {'b':2} | $patch delete on an object",
      "{'containers':[{'name':'a'},{'name':'b'}]} | {'$setElementOrder/containers':[{'name':'b'},{'name':'a'}],'containers':[{'name':'a','image':'i'}]} | {'containers':[{'name':'b'},{'name':'a','image':'i'}]} | $setElementOrder reorders",
      "{'strategy':{'type':'RollingUpdate','rollingUpdate':{'maxSurge':1}}} | {'strategy':{'$retainKeys':['type'],'type':'Recreate'}} | {'strategy':{'type':'Recreate'}} | $retainKeys drops the other keys",
      "{'metadata':{'finalizers':['a','b']}} | {'metadata':{'finalizers':['c','a']}} | {'metadata':{'finalizers':['a','b','c']}} | finalizers merge as a set",
      "{'metadata':{'finalizers':['a','b']}} | {'metadata':{'$deleteFromPrimitiveList/finalizers':['a']}} | {'metadata':{'finalizers':['b']}} | $deleteFromPrimitiveList",
  })
  void mergesAsKubernetesDoes(String target, String patch, String expected, String what) throws Exception {
    JsonNode t = tree(target);
    JsonNode before = t.deepCopy();
    assertThat(StrategicMergePatch.apply(t, tree(patch))).as(what).isEqualTo(tree(expected));
    assertThat(t).as("the target is left as it was").isEqualTo(before);
  }

  @Test
  void whatKubectlApplySendsForAChangedDeploymentTemplate() throws Exception {
    JsonNode live = tree("""
        {'metadata':{'name':'web','annotations':{'kubectl.kubernetes.io/last-applied-configuration':'old'}},
         'spec':{'replicas':1,'template':{'metadata':{'labels':{'app':'web'}},'spec':{
           'containers':[{'name':'web','image':'web:1','env':[{'name':'POD','valueFrom':{'fieldRef':{'fieldPath':'metadata.name'}}},
                                                            {'name':'VERSION','value':'v1'}]}]}}},
         'status':{'replicas':1}}
        """);
    JsonNode patch = tree("""
        {'metadata':{'annotations':{'kubectl.kubernetes.io/last-applied-configuration':'new'}},
         'spec':{'template':{'spec':{'$setElementOrder/containers':[{'name':'web'}],
           'containers':[{'$setElementOrder/env':[{'name':'POD'},{'name':'VERSION'}],'env':[{'name':'VERSION','value':'v2'}],'name':'web'}]}}}}
        """);
    JsonNode next = StrategicMergePatch.apply(live, patch);
    assertThat(next.at("/spec/template/spec/containers/0/env")).isEqualTo(tree(
        "[{'name':'POD','valueFrom':{'fieldRef':{'fieldPath':'metadata.name'}}},{'name':'VERSION','value':'v2'}]"));
    assertThat(next.at("/spec/template/spec/containers/0/image").asText()).isEqualTo("web:1");
    assertThat(next.at("/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration").asText()).isEqualTo("new");
    assertThat(next.at("/spec/template/spec").has("$setElementOrder/containers")).as("directives are not stored").isFalse();
  }

  @Test
  void malformedPatchesAreRefusedNamingWhatIsWrong() throws Exception {
    assertThatThrownBy(() -> StrategicMergePatch.apply(tree("{'containers':[]}"), tree("{'containers':[{'image':'x'}]}")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("list containers has no merge key name");
    assertThatThrownBy(() -> StrategicMergePatch.apply(tree("{}"), tree("{'spec':{'$patch':'explode'}}")))
        .hasMessageContaining("unknown $patch directive 'explode'");
    assertThatThrownBy(() -> StrategicMergePatch.apply(tree("{}"), tree("{'$unknown':1}")))
        .hasMessageContaining("unknown strategic merge patch directive $unknown");
    assertThatThrownBy(() -> StrategicMergePatch.apply(tree("{}"), tree("{'$patch':'delete'}")))
        .hasMessageContaining("use DELETE");
  }

  private static JsonNode tree(String json) throws Exception {
    return JSON.readTree(json.strip().replace('\'', '"'));
  }
}
