// One metallb.io object as YAML. Validation compares objects by this text (same text, same
// object); EncodeYaml joins them into a stream.
#pragma once

#include <string>

#include "model/objects.h"

namespace ironlb::config {

std::string EncodeObject(const IPAddressPool& o);
std::string EncodeObject(const L2Advertisement& o);
std::string EncodeObject(const BGPAdvertisement& o);
std::string EncodeObject(const BGPPeer& o);
std::string EncodeObject(const BFDProfile& o);
std::string EncodeObject(const Community& o);

}  // namespace ironlb::config
