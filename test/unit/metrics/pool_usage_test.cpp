// Per-pool series follow the pools: a deleted pool's series go, and no label value can carry
// bytes that would break the exposition format.
#include <gtest/gtest.h>
#include <prometheus/text_serializer.h>

#include "metrics/metrics.h"
#include "metrics/mirror.h"

namespace ironlb {
namespace {

std::string Exposition(prometheus::Registry& reg) {
  return prometheus::TextSerializer().Serialize(reg.Collect());
}

TEST(PoolUsage, DeletedPoolSeriesAreRemoved) {
  Metrics m("");
  m.SetPoolUsage({{"a", {10, 8, 2, 2, 2, 0, 1}}, {"b", {5, 5, 0, 0, 0, 0, 0}}});
  std::string text = Exposition(m.registry());
  EXPECT_NE(text.find("metallb_allocator_addresses_total{pool=\"a\"} 10"), std::string::npos);
  EXPECT_NE(text.find("metallb_allocator_ipv4_addresses_total{pool=\"a\"} 8"), std::string::npos);
  EXPECT_NE(text.find("metallb_allocator_ipv6_addresses_total{pool=\"a\"} 2"), std::string::npos);
  EXPECT_NE(text.find("ironlb_allocator_services{pool=\"b\"} 0"), std::string::npos);
  m.SetPoolUsage({{"a", {10, 8, 2, 3, 2, 1, 2}}});
  text = Exposition(m.registry());
  EXPECT_EQ(text.find("pool=\"b\""), std::string::npos) << text;
  EXPECT_NE(text.find("metallb_allocator_addresses_in_use_total{pool=\"a\"} 3"), std::string::npos);
  EXPECT_NE(text.find("metallb_allocator_ipv6_addresses_in_use_total{pool=\"a\"} 1"),
            std::string::npos);
}

TEST(PoolUsage, InvalidUtf8NeverReachesALabel) {
  prometheus::Registry reg;
  auto& family = prometheus::BuildGauge().Name("g").Help("g").Register(reg);
  GaugeMirror mirror(family, "peer");
  mirror.Update({{std::string("bad\xff\xfe-name"), 1}, {"caf\xc3\xa9", 2}});
  const std::string text = Exposition(reg);
  EXPECT_NE(text.find("g{peer=\"bad\xef\xbf\xbd\xef\xbf\xbd-name\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("g{peer=\"caf\xc3\xa9\"} 2"), std::string::npos) << text;
  mirror.Update({});
  EXPECT_EQ(Exposition(reg).find("peer="), std::string::npos);
}

}  // namespace
}  // namespace ironlb

namespace ironlb {
namespace {

TEST(GaugeSet, SeriesFollowTheLabelSetsGiven) {
  prometheus::Registry reg;
  auto& family = prometheus::BuildGauge().Name("announced").Help("a").Register(reg);
  GaugeSet set(family);
  set.Update({{{{"service", "demo/web"}, {"ip", "192.0.2.1"}}, 1},
              {{{"service", "demo/db"}, {"ip", "192.0.2.2"}}, 1}});
  std::string text = Exposition(reg);
  EXPECT_NE(text.find("announced{ip=\"192.0.2.1\",service=\"demo/web\"} 1"), std::string::npos)
      << text;
  set.Update({{{{"service", "demo/db"}, {"ip", "192.0.2.2"}}, 1}});
  text = Exposition(reg);
  EXPECT_EQ(text.find("demo/web"), std::string::npos) << text;
  EXPECT_NE(text.find("demo/db"), std::string::npos) << text;
}

}  // namespace
}  // namespace ironlb
