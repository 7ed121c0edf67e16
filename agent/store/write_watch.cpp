#include "store/write_watch.h"

#include <sys/inotify.h>

namespace ironlb {

void WriteWatch::OnEvent(const std::string& name, uint32_t mask, Clock::time_point now) {
  if (mask & IN_OPEN) ++open_[name];
  if (mask & (IN_CLOSE_WRITE | IN_CLOSE_NOWRITE))
    if (auto o = open_.find(name); o != open_.end() && --o->second <= 0) open_.erase(o);
  if (mask & IN_CLOSE_WRITE) ++closed_[name];
  // An open is needed to tell a writer from `touch -m`, which reports IN_MODIFY with no open
  // and no close.
  if ((mask & IN_MODIFY) && open_.count(name)) {
    writing_.emplace(name, now);
  } else if (mask & (IN_CLOSE_WRITE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO)) {
    writing_.erase(name);
    if (!(mask & IN_CLOSE_WRITE)) {
      open_.erase(name);
      closed_.erase(name);  // another file under this name now: its content is unknown
    }
  }
}

void WriteWatch::Forget() {
  writing_.clear();
  open_.clear();
  closed_.clear();
}

WriteWatch::Verdict WriteWatch::Check(const std::string& name, Clock::duration modified_ago,
                                      uintmax_t size, Clock::time_point now) {
  if (modified_ago < kQuietTime) {
    auto c = closed_.find(name);
    const bool closed_once = c != closed_.end() && c->second == 1;
    if (!closed_once || open_.count(name) || writing_.count(name) || size == 0)
      return Verdict::kWait;
  }
  if (auto w = writing_.find(name); w != writing_.end()) {
    if (now - w->second < kMaxWriteWait) return Verdict::kWait;
    writing_.erase(w);  // a writer that never closes: read what is there
  }
  return Verdict::kRead;
}

}  // namespace ironlb
