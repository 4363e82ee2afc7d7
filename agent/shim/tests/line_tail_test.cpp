#include "agent/shim/line_tail.h"

#include <gtest/gtest.h>

namespace zlh::agent::shim {
namespace {

using Lines = std::vector<std::string>;

TEST(LineTail, StripsCrAndAnsiEscapes) {
  LineTail tail;
  tail.feed("\x1b[32mgreen\x1b[0m text\r\n");
  tail.feed("\x1b]0;window title\x07title gone\r\n");
  tail.feed("\x1b(Bcharset\r\n");
  EXPECT_EQ(tail.lines(), (Lines{"green text", "title gone", "charset"}));
}

TEST(LineTail, EscapesAndLinesMaySpanFeeds) {
  LineTail tail;
  tail.feed("ab\x1b[");
  tail.feed("1;3");
  tail.feed("1mcd\r");
  tail.feed("\nef");
  EXPECT_EQ(tail.lines(), (Lines{"abcd", "ef"}));
}

TEST(LineTail, KeepsOnlyTheLastLines) {
  LineTail tail(3);
  for (int i = 1; i <= 10; ++i) tail.feed(std::to_string(i) + "\n");
  EXPECT_EQ(tail.lines(), (Lines{"8", "9", "10"}));
  tail.feed("partial");
  EXPECT_EQ(tail.lines(), (Lines{"9", "10", "partial"}));
}

TEST(LineTail, CapsLineLengthAndHandlesBackspace) {
  LineTail tail(5, 4);
  tail.feed("abcdefgh\n");
  tail.feed("xy\bz\n");
  EXPECT_EQ(tail.lines(), (Lines{"abcd", "xz"}));
}

}  // namespace
}  // namespace zlh::agent::shim
