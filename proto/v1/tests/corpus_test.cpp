// The fuzz seed corpus names each input's verdict: <verdict>-<what>.json, where the verdict is
// "valid"/"ok" or a decode error code. Keeps the corpus honest and replays it in every build.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "proto/v1/codec.h"
#include "proto/v1/stream_frame.h"

namespace zlh::proto {
namespace {
namespace fs = std::filesystem;

std::string readFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(FuzzCorpus, EveryInputHasTheVerdictItsNameSays) {
  const fs::path dir = fs::path(ZLH_SOURCE_DIR) / "tests/fuzz/corpus/proto_decode";
  ASSERT_TRUE(fs::is_directory(dir)) << dir;
  int json = 0, frames = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    const std::string text = readFile(entry.path());
    if (entry.path().extension() == ".bin") {
      ++frames;
      const bool ok = text.size() >= kStreamHeaderBytes &&
                      text.size() - kStreamHeaderBytes <= kMaxStreamPayloadBytes;
      EXPECT_EQ(decodeStreamFrame(text).has_value(), ok) << name;
      continue;
    }
    ++json;
    std::string want = name.substr(0, name.find('-'));
    if (want == "valid") want = "ok";
    auto env = decode(text);
    EXPECT_EQ(env.ok() ? std::string("ok") : std::string(toWire(env.error().kind)), want) << name;
  }
  EXPECT_GE(json, 30);
  EXPECT_GE(frames, 3);
}

}  // namespace
}  // namespace zlh::proto
