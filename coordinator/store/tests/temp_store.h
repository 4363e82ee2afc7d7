#pragma once
// Tests only: a migrated SQLite store in a fresh temp dir, removed with this object. Declare it
// before whatever uses the store, so it goes last.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>

#include "coordinator/store/store.h"

namespace zlh::coordinator::store::testing {

class TempStore {
 public:
  explicit TempStore(const std::string& prefix = "zlh-store-test") {
    std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
    dir = mkdtemp(tmpl.data());
    url = "sqlite://" + dir + "/zlh.db";
    auto s = openStore(url, {.create = true});
    EXPECT_TRUE(s.ok()) << s.error().message;
    if (!s.ok()) return;
    store = std::move(*s);
    auto m = store->migrate();
    EXPECT_TRUE(m.ok()) << m.error().message;
  }
  ~TempStore() {
    store.reset();
    std::filesystem::remove_all(dir);
  }
  TempStore(const TempStore&) = delete;
  TempStore& operator=(const TempStore&) = delete;

  std::string dir, url;
  std::unique_ptr<Store> store;
};

}  // namespace zlh::coordinator::store::testing
