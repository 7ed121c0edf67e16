// When FileStore reads a changed file: at once after its writer closed it, after the quiet time
// when it may still be being written. Times are passed in: no test here waits on a clock.
#include "store/write_watch.h"

#include <gtest/gtest.h>
#include <sys/inotify.h>

namespace ironlb {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
using Verdict = WriteWatch::Verdict;

const WriteWatch::Clock::time_point kT0{seconds(1000)};

// What `open(O_TRUNC) + write + close` reports, as Python's `open("w")` or `>` do.
void WriteAndClose(WriteWatch& w, const std::string& name, WriteWatch::Clock::time_point at) {
  w.OnEvent(name, IN_OPEN, at);
  w.OnEvent(name, IN_MODIFY, at);
  w.OnEvent(name, IN_MODIFY, at);
  w.OnEvent(name, IN_CLOSE_WRITE, at);
}

TEST(WriteWatch, FileClosedAfterOneWriteIsReadWithoutTheQuietTime) {
  WriteWatch w;
  WriteAndClose(w, "a.yaml", kT0);
  // Checked 50 ms after the write (the settle time): well inside the 200 ms quiet time.
  EXPECT_EQ(w.Check("a.yaml", milliseconds(50), 100, kT0 + milliseconds(50)), Verdict::kRead);
}

TEST(WriteWatch, RecentFileWithoutACloseWaitsForQuiet) {
  WriteWatch w;
  // `touch -m`, a rename into place, or events lost: nothing says the write is over.
  w.OnEvent("a.yaml", IN_MODIFY, kT0);
  EXPECT_EQ(w.Check("a.yaml", milliseconds(50), 100, kT0), Verdict::kWait);
  EXPECT_EQ(w.Check("a.yaml", milliseconds(250), 100, kT0 + milliseconds(200)), Verdict::kRead);
  WriteAndClose(w, "b.yaml", kT0);
  w.Forget();  // IN_Q_OVERFLOW
  EXPECT_EQ(w.Check("b.yaml", milliseconds(50), 100, kT0), Verdict::kWait);
}

TEST(WriteWatch, EmptyOpenOrBurstWaitsForQuiet) {
  WriteWatch w;
  WriteAndClose(w, "empty.yaml", kT0);
  EXPECT_EQ(w.Check("empty.yaml", milliseconds(50), 0, kT0), Verdict::kWait)
      << "truncated and closed: the rest may follow";

  WriteAndClose(w, "burst.yaml", kT0);
  WriteAndClose(w, "burst.yaml", kT0 + milliseconds(10));
  EXPECT_EQ(w.Check("burst.yaml", milliseconds(40), 100, kT0 + milliseconds(50)), Verdict::kWait);
  EXPECT_EQ(w.Check("burst.yaml", milliseconds(210), 100, kT0 + milliseconds(220)), Verdict::kRead);

  WriteAndClose(w, "open.yaml", kT0);
  w.OnEvent("open.yaml", IN_OPEN, kT0 + milliseconds(5));  // a second writer, still at it
  EXPECT_EQ(w.Check("open.yaml", milliseconds(45), 100, kT0 + milliseconds(50)), Verdict::kWait);
}

TEST(WriteWatch, OpenWriterHoldsTheFileUntilItClosesOrTenSecondsPass) {
  WriteWatch w;
  w.OnEvent("a.yaml", IN_OPEN, kT0);
  w.OnEvent("a.yaml", IN_MODIFY, kT0);  // truncated by `>`, the command still running
  EXPECT_EQ(w.Check("a.yaml", seconds(1), 0, kT0 + seconds(1)), Verdict::kWait)
      << "past the quiet time, still open for writing";
  EXPECT_EQ(w.Check("a.yaml", seconds(11), 0, kT0 + seconds(11)), Verdict::kRead)
      << "a writer that never closes does not freeze the file";
  w.OnEvent("b.yaml", IN_OPEN, kT0);
  w.OnEvent("b.yaml", IN_MODIFY, kT0);
  w.OnEvent("b.yaml", IN_CLOSE_WRITE, kT0 + seconds(1));
  EXPECT_EQ(w.Check("b.yaml", milliseconds(50), 100, kT0 + seconds(1)), Verdict::kRead);
}

TEST(WriteWatch, ReadStartsTheCountAfreshAndReadersDoNotCount) {
  WriteWatch w;
  WriteAndClose(w, "a.yaml", kT0);
  ASSERT_EQ(w.Check("a.yaml", milliseconds(50), 100, kT0), Verdict::kRead);
  w.Read("a.yaml");
  // The store's own read of the file: an open and a close without writing.
  w.OnEvent("a.yaml", IN_OPEN, kT0 + milliseconds(60));
  w.OnEvent("a.yaml", IN_CLOSE_NOWRITE, kT0 + milliseconds(70));
  WriteAndClose(w, "a.yaml", kT0 + milliseconds(100));
  EXPECT_EQ(w.Check("a.yaml", milliseconds(50), 100, kT0 + milliseconds(150)), Verdict::kRead)
      << "one write since the last read, not a burst of two";
  // Replaced by a rename: nothing says that file's write is over.
  WriteAndClose(w, "b.yaml", kT0);
  w.OnEvent("b.yaml", IN_MOVED_TO, kT0 + milliseconds(1));
  EXPECT_EQ(w.Check("b.yaml", milliseconds(50), 100, kT0 + milliseconds(50)), Verdict::kWait);
}

}  // namespace
}  // namespace ironlb
