// The main() of every gtest binary: GoogleTest's, plus one rule for CI. Under CI=true (set by
// .ci/run) a skipped test fails, so a missing tool or capability can never pass as green.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <string_view>

namespace {

bool InCi() {
  const char* v = std::getenv("CI");
  if (v == nullptr) return false;
  std::string_view s(v);
  return s == "1" || s == "true" || s == "TRUE" || s == "yes";
}

// A skip is recorded as a result part of kind kSkip; failing from the listener turns the test red
// and names the reason the test gave for skipping.
class FailSkipsInCi : public testing::EmptyTestEventListener {
  void OnTestPartResult(const testing::TestPartResult& r) override {
    if (r.type() != testing::TestPartResult::kSkip) return;
    ADD_FAILURE_AT(r.file_name() ? r.file_name() : "?", r.line_number())
        << "skipped under CI=true, which counts as a failure: " << r.message();
  }
};

}  // namespace

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  if (InCi()) testing::UnitTest::GetInstance()->listeners().Append(new FailSkipsInCi);
  return RUN_ALL_TESTS();
}
