// CounterMirror and GaugeMirror: state kept elsewhere becomes Prometheus series.
#include "metrics/mirror.h"

#include <gtest/gtest.h>
#include <prometheus/registry.h>

namespace ironlb {
namespace {

class CounterMirrorTest : public ::testing::Test {
 protected:
  prometheus::Registry reg;
  prometheus::Family<prometheus::Counter>& family =
      prometheus::BuildCounter().Name("x_total").Help("x").Register(reg);
  CounterMirror mirror{family, "peer"};

  // label value -> counter value, as a scrape would see them.
  std::map<std::string, double> Scrape() {
    std::map<std::string, double> out;
    for (const auto& f : reg.Collect())
      for (const auto& m : f.metric) out[m.label.at(0).value] = m.counter.value;
    return out;
  }
};

TEST_F(CounterMirrorTest, AddsGrowthOnly) {
  mirror.Update({{"a", 5}, {"b", 0}});
  mirror.Update({{"a", 12}, {"b", 3}});
  EXPECT_EQ(Scrape(), (std::map<std::string, double>{{"a", 12}, {"b", 3}}));
  mirror.Update({{"a", 12}, {"b", 3}});
  EXPECT_EQ(Scrape()["a"], 12);
}

TEST_F(CounterMirrorTest, SourceStartingOverNeverMakesTheCounterGoDown) {
  mirror.Update({{"a", 100}});
  mirror.Update({{"a", 7}});  // e.g. a BGP session rebuilt: its count starts again
  EXPECT_EQ(Scrape()["a"], 107);
  mirror.Update({{"a", 10}});
  EXPECT_EQ(Scrape()["a"], 110);
}

TEST_F(CounterMirrorTest, VanishedSeriesAreRemoved) {
  mirror.Update({{"a", 1}, {"b", 2}});
  mirror.Update({{"b", 2}});
  EXPECT_EQ(Scrape(), (std::map<std::string, double>{{"b", 2}}));
  mirror.Update({{"a", 4}, {"b", 2}});  // comes back as a new series
  EXPECT_EQ(Scrape()["a"], 4);
}

TEST(GaugeMirror, SetsValuesAndRemovesVanishedSeries) {
  prometheus::Registry reg;
  auto& family = prometheus::BuildGauge().Name("up").Help("x").Register(reg);
  GaugeMirror mirror(family, "peer");
  auto scrape = [&reg] {
    std::map<std::string, double> out;
    for (const auto& f : reg.Collect())
      for (const auto& m : f.metric) out[m.label.at(0).value] = m.gauge.value;
    return out;
  };
  mirror.Update({{"a", 1}, {"b", 0}});
  EXPECT_EQ(scrape(), (std::map<std::string, double>{{"a", 1}, {"b", 0}}));
  mirror.Update({{"a", 0}});
  EXPECT_EQ(scrape(), (std::map<std::string, double>{{"a", 0}}));
}

}  // namespace
}  // namespace ironlb
