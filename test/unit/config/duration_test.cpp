#include "config/duration.h"

#include <gtest/gtest.h>

namespace ironlb::config {
namespace {

using std::chrono::milliseconds;

TEST(Duration, ParsesLikeGo) {
  std::string err;
  EXPECT_EQ(ParseGoDuration("90s", &err), milliseconds(90000));
  EXPECT_EQ(ParseGoDuration("1m30s", &err), milliseconds(90000));
  EXPECT_EQ(ParseGoDuration("500ms", &err), milliseconds(500));
  EXPECT_EQ(ParseGoDuration("1.5s", &err), milliseconds(1500));
  EXPECT_EQ(ParseGoDuration("2h", &err), milliseconds(7200000));
  EXPECT_EQ(ParseGoDuration("0", &err), milliseconds(0));
  EXPECT_EQ(ParseGoDuration("0s", &err), milliseconds(0));
  EXPECT_EQ(ParseGoDuration("1500us", &err), milliseconds(1));
  EXPECT_EQ(ParseGoDuration("-3s", &err), milliseconds(-3000));
}

TEST(Duration, RejectsWhatGoRejects) {
  std::string err;
  EXPECT_FALSE(ParseGoDuration("120", &err));
  EXPECT_NE(err.find("missing unit"), std::string::npos) << err;
  EXPECT_FALSE(ParseGoDuration("", &err));
  EXPECT_FALSE(ParseGoDuration("5x", &err));
  EXPECT_NE(err.find("unknown unit"), std::string::npos) << err;
  EXPECT_FALSE(ParseGoDuration("s", &err));
  EXPECT_FALSE(ParseGoDuration(" 5s", &err));
}

TEST(Duration, FormatsLikeGo) {
  EXPECT_EQ(FormatGoDuration(milliseconds(90000)), "1m30s");
  EXPECT_EQ(FormatGoDuration(milliseconds(120000)), "2m0s");
  EXPECT_EQ(FormatGoDuration(milliseconds(500)), "500ms");
  EXPECT_EQ(FormatGoDuration(milliseconds(0)), "0s");
  EXPECT_EQ(FormatGoDuration(milliseconds(1500)), "1.5s");
  EXPECT_EQ(FormatGoDuration(milliseconds(3600000)), "1h0m0s");
  EXPECT_EQ(FormatGoDuration(milliseconds(540000)), "9m0s");
}

}  // namespace
}  // namespace ironlb::config
