#include "plugins/metrics/proc_text.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace zlh::plugins::metrics {
namespace {

TEST(ReadFileInto, MissingFileIsFalseAndEmpty) {
  std::string buf = "stale";
  EXPECT_FALSE(readFileInto("/nonexistent/zlh/metrics", buf));
  EXPECT_TRUE(buf.empty());
}

TEST(ReadFileInto, ReadsProcFilesWithZeroSizeAndLargeFiles) {
  std::string buf;
  ASSERT_TRUE(readFileInto("/proc/self/status", buf));  // st_size 0: read to EOF
  EXPECT_NE(buf.find("Name:"), std::string::npos);

  char path[] = "/tmp/zlh_proc_text_XXXXXX";
  const int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  close(fd);
  const std::string big(100000, 'x');
  std::ofstream(path) << big;
  ASSERT_TRUE(readFileInto(path, buf));
  EXPECT_EQ(buf, big);
  const size_t cap = buf.capacity();
  ASSERT_TRUE(readFileInto(path, buf));  // the buffer is reused, not regrown
  EXPECT_EQ(buf.capacity(), cap);
  std::remove(path);
}

TEST(TextCursor, SplitsLinesAndFields) {
  TextCursor c("a  b\tc\nline two\n\nlast");
  EXPECT_EQ(c.field(), "a");
  EXPECT_EQ(c.field(), "b");
  EXPECT_EQ(c.field(), "c");
  EXPECT_EQ(c.field(), "");  // does not cross the newline
  c.nextLine();
  EXPECT_EQ(c.line(), "line two");
  EXPECT_EQ(c.line(), "");
  EXPECT_EQ(c.line(), "last");
  EXPECT_TRUE(c.atEnd());
}

TEST(Parse, NumbersMustFillTheField) {
  uint64_t u = 0;
  EXPECT_TRUE(parseU64("18446744073709551615", u));
  EXPECT_EQ(u, UINT64_MAX);
  EXPECT_FALSE(parseU64("18446744073709551616", u));  // overflow
  EXPECT_FALSE(parseU64("12kB", u));
  EXPECT_FALSE(parseU64("", u));
  EXPECT_FALSE(parseU64("-1", u));
  double d = 0;
  EXPECT_TRUE(parseDouble("0.39", d));
  EXPECT_DOUBLE_EQ(d, 0.39);
  EXPECT_FALSE(parseDouble("0.39x", d));
}

TEST(UnescapeMountField, OctalEscapes) {
  std::string out;
  unescapeMountField("/srv/my\\040games\\011x\\134y", out);
  EXPECT_EQ(out, "/srv/my games\tx\\y");
  unescapeMountField("/trailing\\04", out);  // incomplete escape kept as is
  EXPECT_EQ(out, "/trailing\\04");
}

}  // namespace
}  // namespace zlh::plugins::metrics
