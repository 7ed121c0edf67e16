#include "kube/leader_election.h"

#include <ctime>
#include <nlohmann/json.hpp>

#include "runtime/log.h"

namespace ironlb::kube {
namespace {

namespace asio = boost::asio;
using boost::beast::http::verb;

LeaseSpec FromJson(const nlohmann::json& spec) {
  LeaseSpec s;
  s.holder = spec.value("holderIdentity", std::string());
  s.duration_s = spec.value("leaseDurationSeconds", 0);
  s.acquire_time = spec.value("acquireTime", std::string());
  s.renew_time = spec.value("renewTime", std::string());
  s.transitions = spec.value("leaseTransitions", 0);
  return s;
}

nlohmann::json ToJson(const LeaseSpec& s) {
  return {{"holderIdentity", s.holder},
          {"leaseDurationSeconds", s.duration_s},
          {"acquireTime", s.acquire_time},
          {"renewTime", s.renew_time},
          {"leaseTransitions", s.transitions}};
}

}  // namespace

std::string MicroTimeNow() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto us =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count() %
      1000000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%06lldZ", static_cast<long long>(us));
  return buf;
}

std::optional<LeaseSpec> NextLease(const std::optional<LeaseSpec>& observed,
                                   std::chrono::steady_clock::duration observed_for,
                                   const std::string& identity, const std::string& now_micro,
                                   int duration_s) {
  if (!observed) return LeaseSpec{identity, duration_s, now_micro, now_micro, 0};
  LeaseSpec next = *observed;
  const bool ours = observed->holder == identity;
  const bool expired = observed_for >= std::chrono::seconds(observed->duration_s);
  if (!ours && !observed->holder.empty() && !expired) return std::nullopt;
  if (!ours) {
    next.holder = identity;
    next.acquire_time = now_micro;
    next.transitions = observed->transitions + 1;
  }
  next.duration_s = duration_s;
  next.renew_time = now_micro;
  return next;
}

LeaderElector::LeaderElector(asio::io_context& io, ApiClient& client, LeaderElectionOptions opts,
                             std::function<void(bool)> on_change)
    : io_(io),
      client_(client),
      opts_(std::move(opts)),
      on_change_(std::move(on_change)),
      timer_(io) {}

void LeaderElector::Start() {
  asio::co_spawn(io_, Run(), [this](std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log::Error("leader", std::string("election stopped: ") + ex.what());
      }
    }
    SetLeader(false);
    if (done_) {
      auto d = std::move(done_);
      d();
    }
  });
}

void LeaderElector::Stop(std::function<void()> done) {
  if (stopping_) return;
  stopping_ = true;
  done_ = std::move(done);
  timer_.cancel();
}

void LeaderElector::SetLeader(bool l) {
  if (l == leader_) return;
  leader_ = l;
  log::Info("leader", (l ? "became leader (Lease " : "stopped leading (Lease ") + opts_.ns + "/" +
                          opts_.name + ", identity " + opts_.identity + ")");
  if (on_change_) on_change_(l);
}

asio::awaitable<void> LeaderElector::Run() {
  while (!stopping_) {
    bool held = false;
    try {
      held = co_await TryAcquireOrRenew();
    } catch (const std::exception& e) {
      if (!stopping_) log::Warn("leader", std::string("lease: ") + e.what());
    }
    const auto now = std::chrono::steady_clock::now();
    if (held) {
      last_renew_ = now;
      SetLeader(true);
    } else if (leader_ && now - last_renew_ >= opts_.renew_deadline) {
      SetLeader(false);  // could not renew in time: another replica may take over now
    } else if (!held && observed_ && observed_->holder != opts_.identity) {
      SetLeader(false);
    }
    if (stopping_) break;
    timer_.expires_after(opts_.retry_period);
    boost::system::error_code ec;
    co_await timer_.async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
  if (leader_) co_await Release();
}

asio::awaitable<bool> LeaderElector::TryAcquireOrRenew() {
  const std::string path = "/apis/coordination.k8s.io/v1/namespaces/" + opts_.ns + "/leases";
  const HttpResponse got = co_await client_.Request(verb::get, path + "/" + opts_.name);
  std::optional<LeaseSpec> current;
  if (got.status == 200) {
    const auto j = nlohmann::json::parse(got.body);
    current = FromJson(j.value("spec", nlohmann::json::object()));
    version_ = j["metadata"].value("resourceVersion", std::string());
    if (!observed_ || !(*observed_ == *current)) {
      observed_ = current;
      observed_at_ = std::chrono::steady_clock::now();
    }
  } else if (got.status != 404) {
    throw ApiError::From("get Lease " + opts_.name, got);
  }
  const auto next =
      NextLease(current, std::chrono::steady_clock::now() - observed_at_, opts_.identity,
                MicroTimeNow(), static_cast<int>(opts_.lease_duration.count()));
  if (!next) co_return false;
  nlohmann::json body = {{"apiVersion", "coordination.k8s.io/v1"},
                         {"kind", "Lease"},
                         {"metadata", {{"name", opts_.name}, {"namespace", opts_.ns}}},
                         {"spec", ToJson(*next)}};
  HttpResponse r;
  if (!current) {
    r = co_await client_.Request(verb::post, path, body.dump());
  } else {
    body["metadata"]["resourceVersion"] = version_;  // a concurrent writer makes this a 409
    r = co_await client_.Request(verb::put, path + "/" + opts_.name, body.dump());
  }
  if (r.status == 409) co_return false;  // someone else wrote first; look again next period
  if (r.status / 100 != 2) throw ApiError::From("write Lease " + opts_.name, r);
  const auto j = nlohmann::json::parse(r.body);
  version_ = j["metadata"].value("resourceVersion", std::string());
  observed_ = next;
  observed_at_ = std::chrono::steady_clock::now();
  co_return true;
}

asio::awaitable<void> LeaderElector::Release() {
  if (!observed_ || observed_->holder != opts_.identity) co_return;
  LeaseSpec released = *observed_;
  released.holder.clear();
  released.duration_s = 1;
  released.renew_time = MicroTimeNow();
  const nlohmann::json body = {
      {"apiVersion", "coordination.k8s.io/v1"},
      {"kind", "Lease"},
      {"metadata", {{"name", opts_.name}, {"namespace", opts_.ns}, {"resourceVersion", version_}}},
      {"spec", ToJson(released)}};
  try {
    const HttpResponse r = co_await client_.Request(
        verb::put, "/apis/coordination.k8s.io/v1/namespaces/" + opts_.ns + "/leases/" + opts_.name,
        body.dump());
    if (r.status / 100 != 2) throw ApiError::From("release Lease " + opts_.name, r);
    log::Info("leader", "released Lease " + opts_.ns + "/" + opts_.name);
  } catch (const std::exception& e) {
    log::Warn("leader", e.what());
  }
  SetLeader(false);
}

}  // namespace ironlb::kube
