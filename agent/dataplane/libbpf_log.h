// libbpf's and libxdp's output through the agent's logger: their warnings on a routine start
// (libxdp's feature probes failing on purpose, ELF sections libbpf skips) read like failures, so
// they go to debug; the last few are kept to explain a load that really fails.
#pragma once

#include <string>

namespace ironlb::dataplane {

// Installs the handlers (idempotent; call before the first libbpf/libxdp use).
void RouteLibbpfOutput();
// The libbpf warnings since the last call, most recent last, as one line ("" when none).
std::string TakeLibbpfWarnings();
// libxdp's last report of a failure since the last call ("" when none): why it fell back from
// its dispatcher.
std::string TakeLibxdpWarning();

}  // namespace ironlb::dataplane
