#include "agent/shim/line_tail.h"

#include <gtest/gtest.h>

#include <random>

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

// Whole feeds of many lines skip to their last lines: the result must be what feeding the same
// bytes one at a time (which never skips) gives, whatever the text, escapes and feed sizes.
TEST(LineTail, SkippingAFloodChangesNothing) {
  std::mt19937 rng(7);
  const std::string pieces[] = {"line", "\n", "\n", "\n", "\r\n", "\b", "\x1b[1;32m", "\x1b]0;t\x07",
                                "\x1b(B", "\x1b]2;a\nb\x1b\\", "\x1b[", "\t", std::string(40, 'x')};
  for (int round = 0; round < 300; ++round) {
    const bool escapes = round % 3 == 0;
    std::string text;
    while (text.size() < 4000) {
      const auto& piece = pieces[rng() % std::size(pieces)];
      if (escapes || piece.find('\x1b') == std::string::npos) text += piece;
    }
    LineTail whole(4, 16), bytewise(4, 16);
    for (size_t off = 0; off < text.size();) {
      size_t n = std::min<size_t>(text.size() - off, 1 + rng() % 600);
      whole.feed(std::string_view(text).substr(off, n));
      off += n;
    }
    for (char c : text) bytewise.feed(std::string_view(&c, 1));
    ASSERT_EQ(whole.lines(), bytewise.lines()) << "round " << round;
  }
}

}  // namespace
}  // namespace zlh::agent::shim
