#include "bgp/codec_error.h"

namespace ironlb::bgp {

const char* ErrorActionName(ErrorAction a) {
  switch (a) {
    case ErrorAction::kAttributeDiscard: return "attribute-discard";
    case ErrorAction::kTreatAsWithdraw: return "treat-as-withdraw";
    case ErrorAction::kSessionReset: return "session-reset";
  }
  return "?";
}

std::string Error::str() const {
  return reason + " (code " + std::to_string(code) + "/" + std::to_string(subcode) + ", " +
         ErrorActionName(action) + ")";
}

}  // namespace ironlb::bgp
