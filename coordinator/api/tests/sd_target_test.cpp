#include "coordinator/api/sd_target.h"

#include <gtest/gtest.h>

namespace zlh::coordinator::api {
namespace {

void expectTarget(std::string_view url, const std::string& scheme, const std::string& address,
                  const std::string& path) {
  auto t = scrapeTarget(url);
  ASSERT_TRUE(t) << url;
  EXPECT_EQ(t->scheme, scheme) << url;
  EXPECT_EQ(t->address, address) << url;
  EXPECT_EQ(t->metrics_path, path) << url;
}

TEST(ScrapeTarget, TheUrlsAgentsAdvertise) {
  expectTarget("http://127.0.0.1:7421/metrics", "http", "127.0.0.1:7421", "/metrics");
  expectTarget("https://node-1.example:9443/zlh/metrics", "https", "node-1.example:9443",
               "/zlh/metrics");
  expectTarget("HTTP://[::1]:7421/metrics", "http", "[::1]:7421", "/metrics");
}

TEST(ScrapeTarget, DefaultsForPortAndPath) {
  expectTarget("http://node", "http", "node:80", "/metrics");
  expectTarget("https://node/", "https", "node:443", "/");
  expectTarget("http://[2001:db8::7]/m", "http", "[2001:db8::7]:80", "/m");
  expectTarget("http://node:07421/metrics", "http", "node:7421", "/metrics");
}

TEST(ScrapeTarget, WhatPrometheusCannotOrShouldNotScrape) {
  for (std::string_view bad : {
           "", "node:7421/metrics", "ftp://node/metrics", "unix:///run/x.sock",
           "http://user:secret@node:7421/metrics",  // a credential would be served to scrapers
           "http://node:7421/metrics?x=1", "http://node:7421/metrics#top", "http://:7421/metrics",
           "http://node:/metrics", "http://node:0/metrics", "http://node:65536/metrics",
           "http://node:74a1/metrics", "http://no de:7421/metrics", "http://[::1/metrics",
           "http://[]:7421/metrics", "http://[::1]x/metrics", "http://[zz]:7421/metrics",
           "http://node:7421/me trics", "http://node:7421/m\"x", "http://node:7421/m\n"}) {
    EXPECT_FALSE(scrapeTarget(bad)) << bad;
  }
}

}  // namespace
}  // namespace zlh::coordinator::api
