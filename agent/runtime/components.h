// Factories for the speaker components the agent runs (data plane, BGP, L2): adapters from each
// subsystem's own API to the SpeakerComponent interface, so the runtime knows none of their types.
#pragma once

#include <boost/asio/io_context.hpp>
#include <memory>

#include "runtime/component.h"
#include "runtime/options.h"

namespace ironlb {

// Loads and attaches the XDP data plane (or adopts the one a previous agent left running).
// Throws std::runtime_error naming what failed.
// Its counters are exported as ironlb_dataplane_* metrics. The map writes run on a thread of the
// component's own (the newest model wins), so a large change never holds the event loop; the
// first pass waits for them.
std::unique_ptr<SpeakerComponent> MakeDataplaneComponent(boost::asio::io_context& io,
                                                         const AgentOptions& opts);

// The BGP speaker: sessions to the BGPPeers selected for this node, announcing the VIPs the
// BGPAdvertisements select; Cease/Administrative Shutdown to every peer on shutdown.
std::unique_ptr<SpeakerComponent> MakeBgpComponent(boost::asio::io_context& io,
                                                   const AgentOptions& opts);

// The L2 speaker: heartbeats between nodes, per-VIP owner election, the XDP ARP/NDP map and
// gratuitous ARP / NA on takeover. Needs the data plane's pinned maps (add it after the data
// plane).
std::unique_ptr<SpeakerComponent> MakeL2Component(boost::asio::io_context& io,
                                                  const AgentOptions& opts);

}  // namespace ironlb
