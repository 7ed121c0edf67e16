// Shorthand for validation tests: YAML in, Config + errors out.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "config/decode.h"
#include "config/validate.h"

namespace ironlb::config::testing {

struct Result {
  Snapshot snap;
  Config config;
  ConfigState state;

  bool Has(const std::string& kind, const std::string& name, const std::string& field) const {
    for (const auto& e : state.errors) {
      if (e.object.kind == kind && e.object.name == name && e.field == field) return true;
    }
    return false;
  }
  std::string Errors() const {
    std::string s;
    for (const auto& e : state.errors) s += "  " + e.str() + "\n";
    return s.empty() ? "  (no errors)\n" : s;
  }
};

inline Result Check(const std::string& yaml, const Config& previous = {},
                    const ValidateOptions& opts = {}) {
  Result r;
  DecodeYaml(yaml, "t.yaml", &r.snap);
  r.config = Validate(r.snap, previous, opts, &r.state);
  return r;
}

inline std::string Pool(const std::string& name, const std::string& addresses,
                        const std::string& extra = "") {
  return "---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata: {name: " + name +
         ", namespace: metallb-system}\nspec: {addresses: " + addresses +
         (extra.empty() ? "" : ", " + extra) + "}\n";
}

inline std::string Peer(const std::string& name, const std::string& spec) {
  return "---\napiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata: {name: " + name +
         ", namespace: metallb-system}\nspec: {" + spec + "}\n";
}

inline std::string BGPAdv(const std::string& name, const std::string& spec) {
  return "---\napiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata: {name: " + name +
         ", namespace: metallb-system}\nspec: {" + spec + "}\n";
}

inline std::string L2Adv(const std::string& name, const std::string& spec) {
  return "---\napiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata: {name: " + name +
         ", namespace: metallb-system}\nspec: {" + spec + "}\n";
}

inline std::string BFD(const std::string& name, const std::string& spec) {
  return "---\napiVersion: metallb.io/v1beta1\nkind: BFDProfile\nmetadata: {name: " + name +
         ", namespace: metallb-system}\nspec: {" + spec + "}\n";
}

inline std::string CommunityObj(const std::string& name, const std::string& aliases) {
  return "---\napiVersion: metallb.io/v1beta1\nkind: Community\nmetadata: {name: " + name +
         ", namespace: metallb-system}\nspec: {communities: " + aliases + "}\n";
}

inline std::string NodeObj(const std::string& name, const std::string& labels = "{}") {
  return "---\napiVersion: v1\nkind: Node\nmetadata: {name: " + name + ", labels: " + labels +
         "}\n";
}

inline const char* kPeerOK = "myASN: 64512, peerASN: 64513, peerAddress: 10.0.0.1";

}  // namespace ironlb::config::testing
