package io.vmesh.operator.selection;

import static org.assertj.core.api.Assertions.assertThat;

import io.fabric8.kubernetes.api.model.LabelSelector;
import io.fabric8.kubernetes.api.model.LabelSelectorBuilder;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LabelSelectorMatcherTest {

  private final Map<String, String> web = Map.of("app", "web", "tier", "front");

  @Test
  void emptySelectorsSelectEverything() {
    assertThat(LabelSelectorMatcher.matches(null, web)).isTrue();
    assertThat(LabelSelectorMatcher.matches(new LabelSelector(), null)).isTrue();
    assertThat(LabelSelectorMatcher.isEmpty(new LabelSelectorBuilder().withMatchLabels(Map.of()).build())).isTrue();
  }

  @Test
  void matchLabelsAndEveryOperatorMustAllHold() {
    assertThat(LabelSelectorMatcher.matches(selector("In", "app", "web", "api"), web)).isTrue();
    assertThat(LabelSelectorMatcher.matches(selector("In", "app", "db"), web)).isFalse();
    assertThat(LabelSelectorMatcher.matches(selector("NotIn", "app", "db"), web)).isTrue();
    assertThat(LabelSelectorMatcher.matches(selector("NotIn", "missing", "x"), web)).isTrue();
    assertThat(LabelSelectorMatcher.matches(selector("Exists", "tier"), web)).isTrue();
    assertThat(LabelSelectorMatcher.matches(selector("DoesNotExist", "tier"), web)).isFalse();
    assertThat(LabelSelectorMatcher.matches(selector("Matches", "app", "web"), web)).as("unknown operator selects nothing").isFalse();

    LabelSelector both = new LabelSelectorBuilder().withMatchLabels(Map.of("app", "web"))
        .addNewMatchExpression().withKey("tier").withOperator("In").withValues("back").endMatchExpression().build();
    assertThat(LabelSelectorMatcher.matches(both, web)).isFalse();
  }

  private static LabelSelector selector(String operator, String key, String... values) {
    return new LabelSelectorBuilder().addNewMatchExpression().withKey(key).withOperator(operator).withValues(values).endMatchExpression()
        .build();
  }
}
