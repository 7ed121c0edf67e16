// ironlbctl: bpftool-style debugging CLI for ironlb.
//   ironlbctl [-j|--json] [-p|--pretty] [--api-socket PATH] [--bpffs DIR] OBJECT COMMAND [ARGS]
// Installed as kubectl-ironlb too: `kubectl ironlb ...` runs the same binary.
#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstring>
#include <iostream>
#include <map>
#include <set>
#include <tuple>

#include "command.h"
#include "remote.h"

namespace ironlbctl {
namespace {

std::vector<Command>& Registry() {
  static std::vector<Command> r;
  return r;
}

std::string Synopsis(const Command& c) {
  return c.object + (c.verb.empty() ? "" : " " + c.verb) + (c.args.empty() ? "" : " " + c.args);
}

// Commands by object and verb (registration order is the link order, which says nothing).
std::vector<const Command*> Sorted() {
  std::vector<const Command*> out;
  for (const auto& c : Registry()) out.push_back(&c);
  std::sort(out.begin(), out.end(), [](const Command* a, const Command* b) {
    return std::tie(a->object, a->verb) < std::tie(b->object, b->verb);
  });
  return out;
}

void CommandList(std::ostream& os, const std::string& only_object = "") {
  constexpr size_t kColumn = 44;
  for (const Command* c : Sorted()) {
    if (!only_object.empty() && c->object != only_object) continue;
    const std::string syn = Synopsis(*c);
    if (syn.size() + 2 > kColumn) {
      os << "    " << syn << "\n    " << std::string(kColumn, ' ') << c->summary << "\n";
    } else {
      os << "    " << syn << std::string(kColumn - syn.size(), ' ') << c->summary << "\n";
    }
  }
}

// The short form, for usage errors.
void Usage(std::ostream& os, const Context& ctx) {
  os << "usage: " << ctx.program
     << " [-j|--json] [-p|--pretty] [--api-socket PATH] [--bpffs DIR] OBJECT COMMAND [ARGS]\n"
        "       "
     << ctx.program << " --help    (every command, exit codes, examples)\n";
}

// `--help`: reads like a man page.
void Manual(std::ostream& os, const Context& ctx) {
  os << "NAME\n"
        "    ironlbctl - inspect ironlb on this node: addresses, announcements, the XDP data "
        "plane\n"
        "\n"
        "SYNOPSIS\n"
        "    ironlbctl [OPTIONS] OBJECT COMMAND [ARGS]\n"
        "    kubectl ironlb [OPTIONS] OBJECT COMMAND [ARGS]\n"
        "    ironlbctl OBJECT help\n"
        "\n"
        "DESCRIPTION\n"
        "    Commands follow bpftool: an object, then a command, which may be abbreviated to any\n"
        "    unique prefix (`ironlbctl vip l`). Tables are for people; -j and -p print JSON for\n"
        "    scripts, with the same fields on every run.\n"
        "\n"
        "    Data-plane commands (vip, backend, maglev, conntrack, stats, explain) read the maps\n"
        "    the agent pins under --bpffs and work while the agent is stopped. Control-plane\n"
        "    commands (alloc, config show, bgp) ask the running agent over its local API, a unix\n"
        "    socket only root can open. `config check` and `config convert` need neither.\n"
        "\n"
        "OPTIONS\n"
        "    -j, --json          print JSON\n"
        "    -p, --pretty        print indented JSON (implies -j)\n"
        "    --api-socket PATH   the agent's local API (default /run/ironlb/agent.sock)\n"
        "    --bpffs DIR         where the agent pins its maps (default /sys/fs/bpf/ironlb)\n"
        "    --node NODE         run the command on NODE: in its speaker pod, through\n"
        "                        `kubectl exec` (for kubectl ironlb; $KUBECTL overrides kubectl)\n"
        "    -n, --namespace NS  where the speaker pods run (default ironlb-system)\n"
        "    -h, --help          this page\n"
        "\n"
        "COMMANDS\n";
  CommandList(os);
  os << "\n"
        "EXIT STATUS\n"
        "    0   success\n"
        "    1   could not answer: agent unreachable, maps not pinned, kernel error\n"
        "    2   usage error\n"
        "    3   answered, and the answer is \"not OK\": configuration invalid (config show,\n"
        "        config check), the flow would be dropped (explain)\n"
        "\n"
        "EXAMPLES\n"
        "    ironlbctl config check /etc/ironlb            validate before deploying\n"
        "    ironlbctl alloc show demo/web                 which address, or why pending\n"
        "    ironlbctl explain 198.51.100.10:80/TCP 203.0.113.7:40000\n"
        "                                                  which endpoint that flow goes to, why\n"
        "    ironlbctl conntrack list vip 198.51.100.10    live flows to one VIP\n"
        "    ironlbctl stats --watch 1                     rates per second\n"
        "    ironlbctl -p bgp show                         sessions as JSON\n"
        "    kubectl ironlb --node worker-2 l2 show        the L2 owners as worker-2 sees them\n"
        "\n"
        "FILES\n"
        "    Bash completion: share/bash-completion/completions/ironlbctl (and kubectl-ironlb).\n"
        "\n"
        "SEE ALSO\n"
        "    ironlb-agent --help, docs/operations.md\n";
  (void)ctx;
}

void ObjectHelp(std::ostream& os, const Context& ctx, const std::string& object) {
  bool verbs = false;
  for (const auto& c : Registry()) verbs = verbs || (c.object == object && !c.verb.empty());
  os << "usage: " << ctx.program << " [OPTIONS] " << object << (verbs ? " COMMAND" : "")
     << " [ARGS]\n\n";
  CommandList(os, object);
  for (const Command* c : Sorted()) {
    if (c->object != object || c->details.empty()) continue;
    os << "\n" << Synopsis(*c) << "\n" << c->details;
    if (c->details.back() != '\n') os << "\n";
  }
}

int Run(const Command& c, const Context& ctx, const std::vector<std::string>& args) {
  try {
    return c.run(ctx, args);
  } catch (const UsageError& e) {
    std::cerr << ctx.program << ": " << e.what() << "\nusage: " << ctx.program << " " << Synopsis(c)
              << "\n";
    return kExitUsage;
  } catch (const std::invalid_argument& e) {
    std::cerr << ctx.program << ": " << e.what() << "\nusage: " << ctx.program << " " << Synopsis(c)
              << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {
    std::cerr << ctx.program << ": " << e.what() << "\n";
    return kExitError;
  }
}

}  // namespace

bool Register(Command c) {
  Registry().push_back(std::move(c));
  return true;
}

void Emit(const Context& ctx, const nlohmann::json& doc, const std::function<void()>& table) {
  if (ctx.pretty) {
    std::cout << doc.dump(2) << "\n";
  } else if (ctx.json) {
    std::cout << doc.dump() << "\n";
  } else {
    table();
  }
  std::cout.flush();
}

void PrintTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], r[i].size());
    }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - r[i].size() + 2, ' ');
    }
    std::cout << line << "\n";
  }
}

nlohmann::json ApiGet(const Context& ctx, const std::string& path) {
  namespace http = boost::beast::http;
  boost::asio::io_context io;
  boost::asio::local::stream_protocol::socket sock(io);
  boost::system::error_code ec;
  sock.connect(boost::asio::local::stream_protocol::endpoint(ctx.api_socket), ec);
  if (ec) {
    throw std::runtime_error("cannot reach the agent at " + ctx.api_socket + ": " + ec.message() +
                             " (is ironlb-agent running? see --api-socket)");
  }
  http::request<http::empty_body> req{http::verb::get, path, 11};
  req.set(http::field::host, "ironlb");
  http::write(sock, req);
  boost::beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(sock, buf, res);
  if (res.result() != http::status::ok) {
    throw std::runtime_error("agent answered " + std::to_string(res.result_int()) + " for " + path +
                             ": " + res.body());
  }
  return nlohmann::json::parse(res.body());
}

}  // namespace ironlbctl

int main(int argc, char** argv) {
  using namespace ironlbctl;
  Context ctx;
  // kubectl finds plugins by name (kubectl-ironlb) and runs them with the rest of the line.
  const std::string self = argc > 0 ? argv[0] : "ironlbctl";
  const std::string base =
      self.substr(self.rfind('/') == std::string::npos ? 0 : self.rfind('/') + 1);
  if (base == "kubectl-ironlb") ctx.program = "kubectl ironlb";
  std::vector<std::string> rest;
  RemoteTarget remote;
  std::vector<std::string> forward;  // the line without --node/--namespace, for the remote run
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--node" || a == "--namespace" || a == "-n") {
      if (i + 1 >= argc) {
        std::cerr << ctx.program << ": " << a << " needs a value\n";
        return kExitUsage;
      }
      (a == "--node" ? remote.node : remote.ns) = argv[++i];
      continue;
    }
    if (a.rfind("--node=", 0) == 0 || a.rfind("--namespace=", 0) == 0) {
      (a[2] == 'n' && a[3] == 'o' ? remote.node : remote.ns) = a.substr(a.find('=') + 1);
      continue;
    }
    forward.push_back(a);
    auto value = [&](const char* flag) -> std::string {
      if (i + 1 >= argc) {
        std::cerr << ctx.program << ": " << flag << " needs a value\n";
        std::exit(kExitUsage);
      }
      return argv[++i];
    };
    if (a == "-j" || a == "--json") {
      ctx.json = true;
    } else if (a == "-p" || a == "--pretty") {
      ctx.json = ctx.pretty = true;
    } else if (a == "--api-socket") {
      ctx.api_socket = value("--api-socket");
    } else if (a.rfind("--api-socket=", 0) == 0) {
      ctx.api_socket = a.substr(std::strlen("--api-socket="));
    } else if (a == "--bpffs") {
      ctx.bpffs = value("--bpffs");
    } else if (a.rfind("--bpffs=", 0) == 0) {
      ctx.bpffs = a.substr(std::strlen("--bpffs="));
    } else if (rest.empty() && (a == "-h" || a == "--help" || a == "help")) {
      Manual(std::cout, ctx);
      return kExitOk;
    } else if (!rest.empty() && (a == "-h" || a == "--help")) {
      ObjectHelp(std::cout, ctx, rest[0]);
      return kExitOk;
    } else if (rest.empty() && a.size() > 1 && a[0] == '-') {
      std::cerr << ctx.program << ": unknown option " << a << "\n";
      Usage(std::cerr, ctx);
      return kExitUsage;
    } else {
      // Options may follow the command too (`ironlbctl vip list -j`); a command's own
      // options (stats --watch) are left for it.
      rest.push_back(a);
    }
  }
  if (rest.empty()) {
    Usage(std::cerr, ctx);
    return kExitUsage;
  }
  // Through the cluster: the node's speaker answers, from inside its pod.
  if (!remote.node.empty()) return RunOnNode(remote, forward, ctx.program);
  const std::string object = rest[0];
  const std::string verb = rest.size() > 1 ? rest[1] : "";
  std::set<std::string> objects;
  for (const auto& c : Registry()) objects.insert(c.object);
  if (!objects.count(object)) {
    std::cerr << ctx.program << ": unknown object '" << object << "'\n";
    Usage(std::cerr, ctx);
    return kExitUsage;
  }
  if (verb == "help") {
    ObjectHelp(std::cout, ctx, object);
    return kExitOk;
  }
  // bpftool style: a command may be abbreviated to any unique prefix ("vip l").
  const Command* exact = nullptr;
  std::vector<const Command*> prefixed;
  for (const auto& c : Registry()) {
    if (c.object != object || c.verb.empty() || verb.empty()) continue;
    if (c.verb == verb) exact = &c;
    if (c.verb.rfind(verb, 0) == 0) prefixed.push_back(&c);
  }
  const std::vector<std::string> after_verb(rest.begin() + std::min<size_t>(2, rest.size()),
                                            rest.end());
  if (exact) return Run(*exact, ctx, after_verb);
  if (prefixed.size() == 1) return Run(*prefixed.front(), ctx, after_verb);
  if (prefixed.size() > 1) {
    std::cerr << ctx.program << ": '" << verb << "' is ambiguous for " << object << "\n";
    ObjectHelp(std::cerr, ctx, object);
    return kExitUsage;
  }
  // An object whose command has no verb takes its arguments directly (`ironlbctl stats`).
  for (const auto& c : Registry()) {
    if (c.object == object && c.verb.empty())
      return Run(c, ctx, std::vector<std::string>(rest.begin() + 1, rest.end()));
  }
  std::cerr << ctx.program << ": "
            << (verb.empty() ? object + " needs a command"
                             : "unknown command '" + verb + "' for " + object)
            << "\n";
  ObjectHelp(std::cerr, ctx, object);
  return kExitUsage;
}
