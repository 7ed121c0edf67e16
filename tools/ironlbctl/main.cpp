// ironlbctl: bpftool-style debugging CLI for ironlb.
//   ironlbctl [-j|--json] [-p|--pretty] [--api-socket PATH] [--bpffs DIR] OBJECT COMMAND [ARGS]
#include <cstring>
#include <iostream>
#include <map>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "command.h"

namespace ironlbctl {
namespace {

std::vector<Command>& Registry() {
  static std::vector<Command> r;
  return r;
}

void Usage(std::ostream& os) {
  os << "usage: ironlbctl [-j|--json] [-p|--pretty] [--api-socket PATH] [--bpffs DIR] OBJECT COMMAND [ARGS]\n\n"
        "commands:\n";
  std::vector<std::vector<std::string>> rows;
  for (const auto& c : Registry()) {
    os << "  " << c.object << " " << c.verb << (c.args.empty() ? "" : " " + c.args);
    os << std::string(std::max<int>(2, 36 - int(c.object.size() + c.verb.size() + c.args.size())), ' ')
       << c.summary << "\n";
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
  std::vector<std::string> rest;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&](const char* flag) -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "ironlbctl: " << flag << " needs a value\n";
        std::exit(2);
      }
      return argv[++i];
    };
    if (!rest.empty()) {
      rest.push_back(a);
    } else if (a == "-j" || a == "--json") {
      ctx.json = true;
    } else if (a == "-p" || a == "--pretty") {
      ctx.json = ctx.pretty = true;
    } else if (a == "--api-socket") {
      ctx.api_socket = value("--api-socket");
    } else if (a == "--bpffs") {
      ctx.bpffs = value("--bpffs");
    } else if (a == "-h" || a == "--help" || a == "help") {
      Usage(std::cout);
      return 0;
    } else if (a.size() > 1 && a[0] == '-') {
      std::cerr << "ironlbctl: unknown option " << a << "\n";
      Usage(std::cerr);
      return 2;
    } else {
      rest.push_back(a);
    }
  }
  if (rest.empty()) {
    Usage(std::cerr);
    return 2;
  }
  const std::string object = rest[0];
  const std::string verb = rest.size() > 1 ? rest[1] : "";
  bool object_known = false;
  for (const auto& c : Registry()) {
    if (c.object != object) continue;
    object_known = true;
    // bpftool style: a command may be abbreviated to any unique prefix ("vip l").
    if (!c.verb.empty() && (c.verb == verb || (!verb.empty() && c.verb.rfind(verb, 0) == 0))) {
      try {
        return c.run(ctx, std::vector<std::string>(rest.begin() + std::min<size_t>(2, rest.size()), rest.end()));
      } catch (const std::exception& e) {
        std::cerr << "ironlbctl: " << e.what() << "\n";
        return 1;
      }
    }
  }
  // An object whose command has no verb takes its arguments directly (`ironlbctl convert FILE`).
  for (const auto& c : Registry()) {
    if (c.object == object && c.verb.empty()) {
      try {
        return c.run(ctx, std::vector<std::string>(rest.begin() + 1, rest.end()));
      } catch (const std::exception& e) {
        std::cerr << "ironlbctl: " << e.what() << "\n";
        return 1;
      }
    }
  }
  std::cerr << "ironlbctl: " << (object_known ? "unknown command '" + verb + "' for " + object
                                             : "unknown object '" + object + "'")
            << "\n";
  Usage(std::cerr);
  return 2;
}
