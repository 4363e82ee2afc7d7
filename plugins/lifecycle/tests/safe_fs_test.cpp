#include "plugins/lifecycle/safe_fs.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "plugins/lifecycle/tests/test_support.h"

namespace zlh::plugins::lifecycle {
namespace {
namespace sdk = agent::sdk;
namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct SafeFsTest : ::testing::Test {
  test::TempDir tmp;
  fs::path root = tmp.path() / "data";
  fs::path outside = tmp.path() / "outside";
  void SetUp() override {
    fs::create_directories(root);
    fs::create_directories(outside);
    std::ofstream(outside / "secret") << "keep";
  }
  sdk::Status write(const std::string& rel, const std::string& content = "x") {
    auto r = SafeRoot::open(root);
    EXPECT_TRUE(r.ok());
    return r->writeFile(rel, content, 0640);
  }
  void expectEscape(const std::string& rel) {
    auto st = write(rel);
    ASSERT_FALSE(st.ok()) << rel;
    EXPECT_EQ(st.error().code, sdk::ErrorCode::kInvalidArgument)
        << rel << ": " << st.error().message;
    EXPECT_NE(st.error().message.find("escapes the instance's data dir"), std::string::npos)
        << st.error().message;
    EXPECT_EQ(slurp(outside / "secret"), "keep");
  }
};

TEST_F(SafeFsTest, WritesNestedFilesAtomicallyWithMode) {
  ASSERT_TRUE(write("a/b/c.txt", "hello").ok());
  EXPECT_EQ(slurp(root / "a/b/c.txt"), "hello");
  struct stat st {};
  ASSERT_EQ(::stat((root / "a/b/c.txt").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  ASSERT_TRUE(write("a/b/c.txt", "again").ok());  // replaces
  EXPECT_EQ(slurp(root / "a/b/c.txt"), "again");
  ASSERT_TRUE(write("./d.txt").ok());
  ASSERT_TRUE(write("a/../e.txt").ok());  // stays beneath: allowed
  EXPECT_TRUE(fs::exists(root / "e.txt"));
  for (const auto& e : fs::directory_iterator(root / "a/b"))  // no temp files left
    EXPECT_EQ(e.path().filename(), "c.txt");
}

TEST_F(SafeFsTest, RefusesEscapes) {
  expectEscape("../outside/secret");
  expectEscape("../x");
  expectEscape("a/../../x");
  expectEscape("/etc/zlh-should-not-exist");
  expectEscape(outside.string() + "/secret");
  EXPECT_FALSE(fs::exists(tmp.path() / "x"));
}

TEST_F(SafeFsTest, RefusesSymlinkEscapes) {
  fs::create_directory_symlink(outside, root / "link");
  expectEscape("link/secret");
  expectEscape("link/new");
  fs::create_directory_symlink("../outside", root / "rel");
  expectEscape("rel/new");
  EXPECT_FALSE(fs::exists(outside / "new"));
}

TEST_F(SafeFsTest, FinalSymlinkIsReplacedNotFollowed) {
  fs::create_symlink(outside / "secret", root / "evil");
  ASSERT_TRUE(write("evil", "mine").ok());
  EXPECT_EQ(slurp(outside / "secret"), "keep");
  EXPECT_FALSE(fs::is_symlink(root / "evil"));
  EXPECT_EQ(slurp(root / "evil"), "mine");
}

TEST_F(SafeFsTest, RefusesNamesThatAreNotFiles) {
  for (const char* rel : {"", ".", "..", "a/", "a/.."}) {
    auto st = write(rel);
    ASSERT_FALSE(st.ok()) << rel;
    EXPECT_EQ(st.error().code, sdk::ErrorCode::kInvalidArgument) << rel;
  }
}

TEST_F(SafeFsTest, FallbackWalkRefusesDotDotAbsoluteAndSymlinks) {
  fs::create_directories(root / "sub");
  fs::create_directory_symlink(outside, root / "link");
  auto r = SafeRoot::open(root);
  ASSERT_TRUE(r.ok());
  int fd = openBeneathWalk(r->fd(), "sub", O_PATH | O_DIRECTORY);
  EXPECT_GE(fd, 0);
  if (fd >= 0) ::close(fd);
  EXPECT_EQ(openBeneathWalk(r->fd(), "../outside", O_PATH), -EXDEV);
  EXPECT_EQ(openBeneathWalk(r->fd(), "/etc", O_PATH), -EXDEV);
  EXPECT_LT(openBeneathWalk(r->fd(), "link/secret", O_RDONLY), 0);
  // openat2 itself gives the same answers.
  EXPECT_EQ(openBeneath(r->fd(), "../outside", O_PATH), -EXDEV);
  EXPECT_LT(openBeneath(r->fd(), "link/secret", O_RDONLY), 0);
}

TEST_F(SafeFsTest, PendingFileIsRemovedWhenNotCommitted) {
  auto r = SafeRoot::open(root);
  ASSERT_TRUE(r.ok());
  {
    auto p = r->createPending("big.bin", 0644);
    ASSERT_TRUE(p.ok());
    ASSERT_TRUE(p->write("partial").ok());
  }
  EXPECT_TRUE(fs::is_empty(root));
}

}  // namespace
}  // namespace zlh::plugins::lifecycle
