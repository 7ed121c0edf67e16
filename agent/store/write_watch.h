// What FileStore's inotify events say about each file being written, and so whether a changed
// file can be read now or must wait for quiet: pure (times passed in), so its timing is testable.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace ironlb {

class WriteWatch {
 public:
  using Clock = std::chrono::steady_clock;
  // A file written less than this long ago may still be being written (an editor saving in
  // place, `>` redirection): its last version stays in force and it is read again a little
  // later. Not for a file whose one writer has closed it (see Check).
  static constexpr auto kQuietTime = std::chrono::milliseconds(200);
  // A file some process modified and has not closed yet is being written (`>` redirection from
  // a slow command: truncated, then nothing for a while): its last version stays until the
  // writer closes it, or at most this long (a writer that never closes must not freeze it).
  static constexpr auto kMaxWriteWait = std::chrono::seconds(10);

  enum class Verdict { kRead, kWait };

  // One inotify event on the directory's file `name` (IN_* mask), seen at `now`.
  void OnEvent(const std::string& name, uint32_t mask, Clock::time_point now);
  // Events were lost (IN_Q_OVERFLOW): nothing is known, the quiet time alone decides.
  void Forget();
  // A file that loaded before and has changed since (mtime or size): read it now, or keep its
  // last version and look again later. `modified_ago` is the time since its mtime (negative or
  // unknown counts as recent), `size` its size now.
  // Read at once: a file closed after writing, once, not open again, not empty (a writer's
  // close is the end of its write: waiting 200 ms more was most of an endpoint change's time).
  // Quiet time: an empty file (truncated, the rest may follow), one still open, a burst of
  // several writes, or a change seen without a close (`touch`, a rename, lost events).
  Verdict Check(const std::string& name, Clock::duration modified_ago, uintmax_t size,
                Clock::time_point now);
  // The file was read: later writes are counted afresh.
  void Read(const std::string& name) { closed_.erase(name); }

 private:
  // Modified through an open descriptor not closed since, by name: when it was first seen.
  std::map<std::string, Clock::time_point> writing_;
  std::map<std::string, int> open_;    // opens not closed yet
  std::map<std::string, int> closed_;  // closes after writing since the last read
};

}  // namespace ironlb
