#include "agent/shim/rotating_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace zlh::agent::shim {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class RotatingFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/zlh-shim-rot-XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(RotatingFileTest, ExactSplitKeepsEveryByteAcrossOneRotation) {
  RotatingFile f;
  auto path = (dir_ / "console.log").string();
  ASSERT_TRUE(f.open(path, 10, RotatingFile::Split::kExact).ok());
  ASSERT_TRUE(f.append("0123456").ok());
  ASSERT_TRUE(f.append("789abcdef").ok());  // 16 bytes: 10 in the first file, then rotate
  EXPECT_EQ(slurp(path + ".1"), "0123456789");
  EXPECT_EQ(slurp(path), "abcdef");
  ASSERT_TRUE(f.append("ghijk").ok());
  EXPECT_EQ(slurp(path + ".1"), "abcdefghij") << "only one old generation is kept";
  EXPECT_EQ(slurp(path), "k");
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(RotatingFileTest, ReopenAppendsAndCountsTheExistingSize) {
  auto path = (dir_ / "console.log").string();
  {
    RotatingFile f;
    ASSERT_TRUE(f.open(path, 10, RotatingFile::Split::kExact).ok());
    ASSERT_TRUE(f.append("12345678").ok());
  }
  RotatingFile f;
  ASSERT_TRUE(f.open(path, 10, RotatingFile::Split::kExact).ok());
  EXPECT_EQ(f.size(), 8u);
  ASSERT_TRUE(f.append("abc").ok());
  EXPECT_EQ(slurp(path + ".1"), "12345678ab");
  EXPECT_EQ(slurp(path), "c");
}

TEST_F(RotatingFileTest, WholeWritesRotateBeforeAWriteThatDoesNotFit) {
  auto path = (dir_ / "shim.log").string();
  RotatingFile f;
  ASSERT_TRUE(f.open(path, 12, RotatingFile::Split::kWholeWrite).ok());
  ASSERT_TRUE(f.append("line one\n").ok());
  ASSERT_TRUE(f.append("line two\n").ok());
  EXPECT_EQ(slurp(path + ".1"), "line one\n");
  EXPECT_EQ(slurp(path), "line two\n");
}

TEST_F(RotatingFileTest, OpenFailsInAMissingDirectory) {
  RotatingFile f;
  auto s = f.open((dir_ / "missing" / "x.log").string(), 10, RotatingFile::Split::kExact);
  EXPECT_FALSE(s.ok());
  EXPECT_FALSE(f.append("x").ok());
}

}  // namespace
}  // namespace zlh::agent::shim
