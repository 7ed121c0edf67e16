// Status files: the JSON format round-trips, writes are atomic (no temp file left, readers skip
// partial/foreign files), unreadable files are reported, and the Service view matches the API's.
#include "store/service_status.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

namespace ironlb {
namespace {

namespace fs = std::filesystem;

class StatusDir : public ::testing::Test {
 protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("ironlb-status-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  fs::path dir;
};

TEST_F(StatusDir, RoundTripsAndLeavesNoTempFiles) {
  ServiceStatus a{
      "demo", "web", "public", {*IPAddr::Parse("198.51.100.1"), *IPAddr::Parse("2001:db8::1")}, ""};
  ServiceStatus b{"demo", "pending", "", {}, "pool public is exhausted"};
  WriteStatusFile(dir, a);
  WriteStatusFile(dir, b);
  std::vector<std::string> errors;
  auto got = ReadStatusDir(dir, &errors);
  EXPECT_TRUE(errors.empty());
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0], b);  // sorted by key: demo/pending < demo/web
  EXPECT_EQ(got[1], a);
  for (const auto& e : fs::directory_iterator(dir)) {
    EXPECT_EQ(e.path().extension(), ".json") << e.path();
  }
  RemoveStatusFile(dir, "demo", "web");
  EXPECT_EQ(ReadStatusDir(dir, &errors).size(), 1u);
}

TEST_F(StatusDir, BadFilesAreReportedAndSkipped) {
  WriteStatusFile(dir, ServiceStatus{"demo", "ok", "p", {*IPAddr::Parse("192.0.2.1")}, ""});
  std::ofstream(dir / "demo_broken.json") << "{not json";
  std::ofstream(dir / "demo_nofield.json") << R"({"pool":"p"})";
  std::ofstream(dir / ".demo_x.json.tmp") << "half";
  std::vector<std::string> errors;
  auto got = ReadStatusDir(dir, &errors);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].name, "ok");
  ASSERT_EQ(errors.size(), 2u);
  EXPECT_NE(errors[0].find("demo_broken.json"), std::string::npos);
  EXPECT_NE(errors[1].find("missing field service"), std::string::npos) << errors[1];
}

TEST(ServiceStatus, AppliesLikeTheApiServer) {
  Service svc;
  svc.meta.ns = "demo";
  svc.meta.name = "web";
  ApplyStatusToService(ServiceStatus{"demo", "web", "public", {*IPAddr::Parse("198.51.100.1")}, ""},
                       &svc);
  ASSERT_EQ(svc.ingress.size(), 1u);
  EXPECT_EQ(svc.ingress[0].ip, IPAddr::Parse("198.51.100.1"));
  EXPECT_EQ(svc.meta.annotations.at(kAllocatedFromPoolAnnotation), "public");
  ApplyStatusToService(ServiceStatus{"demo", "web", "", {}, "pending"}, &svc);
  EXPECT_TRUE(svc.ingress.empty());
  EXPECT_FALSE(svc.meta.annotations.count(kAllocatedFromPoolAnnotation));
}

TEST(ServiceStatus, FileNameIsUnambiguous) {
  EXPECT_EQ(StatusFileName("demo", "web"), "demo_web.json");
  EXPECT_NE(StatusFileName("a-b", "c"), StatusFileName("a", "b-c"));
}

}  // namespace
}  // namespace ironlb
