// Conversions between ironlb's IPAddr and Boost.Asio addresses, for the BGP and BFD sockets.
// IPv4-mapped IPv6 (a v4 peer on a dual-stack socket) comes back as the IPv4 address.
#pragma once

#include <algorithm>
#include <boost/asio/ip/address.hpp>

#include "model/ip.h"

namespace ironlb::bgp {

inline boost::asio::ip::address ToAsio(const IPAddr& a) {
  namespace ip = boost::asio::ip;
  const auto b = a.bytes();
  if (a.is_v4()) return ip::address_v4(ip::address_v4::bytes_type{b[0], b[1], b[2], b[3]});
  ip::address_v6::bytes_type v6;
  std::copy_n(b.begin(), v6.size(), v6.begin());
  return ip::address_v6(v6);
}

inline IPAddr FromAsio(const boost::asio::ip::address& a) {
  namespace ip = boost::asio::ip;
  if (a.is_v4()) return IPAddr::FromBytes(Family::kV4, a.to_v4().to_bytes().data());
  if (a.to_v6().is_v4_mapped())
    return IPAddr::FromBytes(Family::kV4,
                             ip::make_address_v4(ip::v4_mapped, a.to_v6()).to_bytes().data());
  return IPAddr::FromBytes(Family::kV6, a.to_v6().to_bytes().data());
}

}  // namespace ironlb::bgp
