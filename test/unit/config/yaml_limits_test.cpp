// Hostile YAML: alias bombs, deep nesting, huge files and duplicate keys are rejected quickly
// with an error naming file, object and field, and the other documents of the file still load.
#include "config/yaml_limits.h"

#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <chrono>
#include <string>
#include <vector>

#include "config/decode.h"

namespace ironlb::config {
namespace {

Snapshot Decode(const std::string& yaml, const std::string& file = "bomb.yaml") {
  Snapshot s;
  DecodeYaml(yaml, file, &s);
  return s;
}

const char* kService = R"(
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  type: LoadBalancer
  ports: [{port: 80, protocol: TCP}]
)";

// Nested `kind: List` documents, each listing the previous one `fanout` times by alias: the
// decoder would walk fanout^levels Services. Kept small on purpose, as an attacker would.
std::string ListBomb(int levels, int fanout) {
  std::string y =
      "apiVersion: v1\nkind: List\nitems:\n- &l0 {apiVersion: v1, kind: Service, metadata: "
      "{name: s, namespace: d}, spec: {type: LoadBalancer, ports: [{port: 80}]}}\n";
  for (int i = 1; i <= levels; ++i) {
    y += "- &l" + std::to_string(i) + " {apiVersion: v1, kind: List, items: [";
    for (int j = 0; j < fanout; ++j) y += (j ? ",*l" : "*l") + std::to_string(i - 1);
    y += "]}\n";
  }
  return y;
}

TEST(YamlLimits, NestedListAliasBombIsRejectedFast) {
  for (auto [levels, fanout] : {std::pair{9, 9}, std::pair{12, 9}}) {
    const std::string bomb = ListBomb(levels, fanout);
    ASSERT_LT(bomb.size(), 1200u);
    const auto t0 = std::chrono::steady_clock::now();
    Snapshot s = Decode(bomb + "---\n" + kService);
    const auto took = std::chrono::steady_clock::now() - t0;
    ASSERT_EQ(s.decode_errors.size(), 1u) << bomb.size();
    const ConfigError& e = s.decode_errors[0];
    EXPECT_EQ(e.file, "bomb.yaml");
    EXPECT_EQ(e.object.kind, "List");
    EXPECT_NE(e.message.find("nodes once aliases are expanded"), std::string::npos) << e.str();
    EXPECT_NE(e.field.find("items["), std::string::npos) << e.str();
    ASSERT_EQ(s.services.size(), 1u);
    EXPECT_EQ(s.services[0].meta.name, "web");
    // Not a timing test: a sanity bound to say that the bomb was not walked.
    EXPECT_LT(took, std::chrono::seconds(20));
  }
}

TEST(YamlLimits, ModestAnchorsStillWork) {
  Snapshot s = Decode(R"(
apiVersion: v1
kind: List
items:
- &svc {apiVersion: v1, kind: Service, metadata: {name: a, namespace: demo}, spec: {type: LoadBalancer, ports: &ports [{port: 80}]}}
- {apiVersion: v1, kind: Service, metadata: {name: b, namespace: demo}, spec: {type: LoadBalancer, ports: *ports}}
)");
  EXPECT_TRUE(s.decode_errors.empty()) << s.decode_errors[0].str();
  EXPECT_EQ(s.services.size(), 2u);
}

TEST(YamlLimits, TooManyAliases) {
  std::string y = "apiVersion: v1\nkind: List\nitems: []\nx: &a 1\ny: [";
  for (size_t i = 0; i <= kMaxYamlAliases; ++i) y += "*a,";
  y += "]\n";
  Snapshot s = Decode(y);
  ASSERT_EQ(s.decode_errors.size(), 1u);
  EXPECT_NE(s.decode_errors[0].message.find("aliases"), std::string::npos);
  EXPECT_EQ(s.decode_errors[0].field, "y[" + std::to_string(kMaxYamlAliases) + "]");
}

TEST(YamlLimits, DeepNesting) {
  std::string y = "apiVersion: v1\nkind: Service\nmetadata: {name: deep, namespace: demo}\nspec: ";
  y += std::string(500, '[') + std::string(500, ']') + "\n";
  Snapshot s = Decode(y);
  ASSERT_EQ(s.decode_errors.size(), 1u);
  const ConfigError& e = s.decode_errors[0];
  EXPECT_NE(e.message.find("nested more than 100 levels"), std::string::npos) << e.str();
  EXPECT_EQ(e.object.name, "deep");
  EXPECT_EQ(e.field.rfind("spec[0][0]", 0), 0u) << e.field;
}

TEST(YamlLimits, FileOverTheSizeLimit) {
  std::string y = kService;
  y += "# " + std::string(kMaxYamlFileBytes, 'x') + "\n";
  Snapshot s = Decode(y, "huge.yaml");
  ASSERT_EQ(s.decode_errors.size(), 1u);
  EXPECT_EQ(s.decode_errors[0].file, "huge.yaml");
  EXPECT_NE(s.decode_errors[0].message.find("over the limit of 16 MiB"), std::string::npos);
  EXPECT_TRUE(s.services.empty());
}

TEST(YamlLimits, DuplicateKeysAreErrors) {
  Snapshot s = Decode(R"(
apiVersion: v1
kind: Service
metadata: {name: web, namespace: demo}
spec:
  type: LoadBalancer
  ports:
  - port: 80
    protocol: TCP
    port: 8080
---
apiVersion: v1
kind: Service
metadata: {name: api, namespace: demo}
spec: {type: LoadBalancer, ports: [{port: 80}]}
)",
                      "svc.yaml");
  ASSERT_EQ(s.decode_errors.size(), 1u);
  const ConfigError& e = s.decode_errors[0];
  EXPECT_EQ(e.file, "svc.yaml");
  EXPECT_EQ(e.object.kind, "Service");
  EXPECT_EQ(e.object.name, "web");
  EXPECT_EQ(e.field, "spec.ports[0].port");
  EXPECT_NE(e.message.find("duplicate key \"port\" at line 10"), std::string::npos) << e.str();
  ASSERT_EQ(s.services.size(), 1u);  // the other document is unaffected
  EXPECT_EQ(s.services[0].meta.name, "api");
}

TEST(YamlLimits, DuplicateTopLevelAndFlowKeys) {
  auto v = CheckYamlLimits("kind: Service\nkind: List\n");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->field, "kind");
  v = CheckYamlLimits("metadata: {name: a, name: b}\n");
  ASSERT_TRUE(v);
  EXPECT_EQ(v->field, "metadata.name");
  EXPECT_FALSE(CheckYamlLimits("a: {name: x}\nb: {name: x}\nc: [1, 1]\n"));
}

// Compares our tree with yaml-cpp's, node by node: kind, text, tag and key order (that an alias
// is its anchor's own node is checked separately). Collections carry no tag unless one is written.
void ExpectSameTree(const YamlNode& got, const YAML::Node& want, const std::string& at) {
  ASSERT_TRUE(got.IsDefined()) << at;
  switch (want.Type()) {
    case YAML::NodeType::Null: EXPECT_TRUE(got.IsNull()) << at; return;
    case YAML::NodeType::Scalar:
      ASSERT_TRUE(got.IsScalar()) << at;
      EXPECT_EQ(got.Scalar(), want.Scalar()) << at;
      EXPECT_EQ(got.Tag(), want.Tag()) << at;
      return;
    case YAML::NodeType::Sequence: {
      ASSERT_TRUE(got.IsSequence()) << at;
      ASSERT_EQ(got.size(), want.size()) << at;
      for (size_t i = 0; i < want.size(); ++i)
        ExpectSameTree(got[i], want[i], at + "[" + std::to_string(i) + "]");
      break;
    }
    case YAML::NodeType::Map: {
      ASSERT_TRUE(got.IsMap()) << at;
      ASSERT_EQ(got.size(), want.size()) << at;
      auto g = got.begin();
      for (const auto& kv : want) {
        const YamlPair p = *g;
        ++g;
        ExpectSameTree(p.first, kv.first, at + " key");
        ExpectSameTree(p.second, kv.second, at + "." + kv.first.Scalar());
      }
      break;
    }
    default: ADD_FAILURE() << at << ": undefined node in yaml-cpp's tree";
  }
}

// The loader builds the tree yaml-cpp's own loader built (the decoder was written against it):
// same keys and values in order, plain scalars tagged "?" and quoted ones "!", null-like plain
// scalars as null nodes, aliases as references to their anchor's node. (Where the two parsers
// differ, e.g. `{i:}`, libyaml sides with go-yaml, which is a port of it: Kubernetes' own parser.)
TEST(YamlLoad, BuildsTheTreeYamlCppWould) {
  const std::string text = R"(
a: 1
b: "2"
c: [x, 'y', ~, null, ]
d: {e: &anchor {f: g}, h: *anchor, i: }
j: !!str 3
)";
  YamlDocument got = LoadYamlDocument(text);
  ASSERT_TRUE(got.root);
  const YAML::Node want = YAML::Load(text);
  ExpectSameTree(*got.root, want, "");
  const YamlNode& r = *got.root;
  EXPECT_EQ(r["a"].Tag(), "?");
  EXPECT_EQ(r["b"].Tag(), "!");
  EXPECT_EQ(r["c"][1].Tag(), "!");
  EXPECT_TRUE(r["c"][2].IsNull());
  EXPECT_TRUE(r["c"][3].IsNull());
  EXPECT_EQ(r["c"].size(), 4u);
  EXPECT_TRUE(r["d"]["i"].IsNull());
  EXPECT_TRUE(r["d"]["h"].is(r["d"]["e"]));
  EXPECT_EQ(r["j"].Tag(), want["j"].Tag());
  // Keys come out in the order written (the decoder reports unknown fields in that order).
  std::vector<std::string> keys;
  for (const auto& kv : r) keys.emplace_back(kv.first.Scalar());
  EXPECT_EQ(keys, (std::vector<std::string>{"a", "b", "c", "d", "j"}));
}

TEST(YamlLoad, EmptyDocumentIsNullAndSyntaxErrorsHaveAPosition) {
  YamlDocument empty = LoadYamlDocument("# only a comment\n");
  ASSERT_TRUE(empty.root);
  EXPECT_TRUE(empty.root->IsNull());

  YamlDocument bad = LoadYamlDocument("a: 1\nb: [1, 2\nc: 3\n");
  EXPECT_FALSE(bad.root);
  ASSERT_TRUE(bad.syntax_error);
  EXPECT_GE(bad.syntax_error->line, 1);
  EXPECT_FALSE(bad.syntax_error->message.empty());

  // Bytes that are not UTF-8 are refused (as go-yaml, Kubernetes' parser, does) at their place.
  YamlDocument raw = LoadYamlDocument("a: 1\nname: pub\xff\xfelic\n");
  ASSERT_TRUE(raw.syntax_error);
  EXPECT_EQ(raw.syntax_error->line, 1);
  EXPECT_EQ(raw.syntax_error->column, 9);
  EXPECT_NE(raw.syntax_error->message.find("UTF-8"), std::string::npos);
  EXPECT_NE(raw.syntax_error->message.find("0xff"), std::string::npos);

  // An alias to an anchor that is still open would make the tree a cycle.
  YamlDocument cycle = LoadYamlDocument("a: &x {b: *x}\n");
  EXPECT_FALSE(cycle.root);
  ASSERT_TRUE(cycle.syntax_error);
  EXPECT_NE(cycle.syntax_error->message.find("*x"), std::string::npos);
  YamlDocument unknown = LoadYamlDocument("a: *nowhere\n");
  ASSERT_TRUE(unknown.syntax_error);
}

TEST(YamlLoad, RedefinedAnchorLeavesEarlierAliasesAlone) {
  YamlDocument got = LoadYamlDocument("a: &x 1\nb: *x\nc: &x 2\nd: *x\n");
  ASSERT_TRUE(got.root);
  const YamlNode& r = *got.root;
  EXPECT_EQ(r["a"].Scalar(), "1");
  EXPECT_EQ(r["b"].Scalar(), "1");
  EXPECT_EQ(r["c"].Scalar(), "2");
  EXPECT_EQ(r["d"].Scalar(), "2");
}

}  // namespace
}  // namespace ironlb::config
