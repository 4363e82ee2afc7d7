#pragma once
// The last N console lines with ANSI escape sequences stripped, kept incrementally (escapes and
// lines may span reads) for the exit record.
#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

namespace zlh::agent::shim {

class LineTail {
 public:
  explicit LineTail(size_t max_lines = 50, size_t max_line_bytes = 1024)
      : max_lines_(max_lines), max_line_bytes_(max_line_bytes) {}

  /// Costs a walk through every byte only where lines() could tell: in a flood of many lines
  /// per feed, the bytes before the last lines are skipped unless an escape sequence is there.
  void feed(std::string_view bytes);
  /// Complete lines, oldest first, plus the unterminated last line when it is not empty.
  std::vector<std::string> lines() const;

 private:
  enum class State : uint8_t { kText, kEscape, kCsi, kString, kStringEscape };
  size_t skippable(std::string_view bytes) const;
  void endLine();
  void textByte(char c);

  size_t max_lines_;
  size_t max_line_bytes_;
  State state_ = State::kText;
  std::deque<std::string> lines_;
  std::string current_;
};

}  // namespace zlh::agent::shim
