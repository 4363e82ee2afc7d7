#include "agent/shim/line_tail.h"

#include <string.h>

#include <algorithm>

namespace zlh::agent::shim {

void LineTail::endLine() {
  // Recycle the oldest line's buffer: a flood of lines costs no allocation per line.
  std::string recycled;
  if (lines_.size() >= max_lines_) {
    recycled = std::move(lines_.front());
    lines_.pop_front();
  }
  lines_.push_back(std::move(current_));
  current_ = std::move(recycled);
  current_.clear();
}

void LineTail::textByte(char c) {
  auto u = static_cast<unsigned char>(c);
  if (c == '\n') {
    endLine();
  } else if (c == '\b') {
    if (!current_.empty()) current_.pop_back();
  } else if (c == '\t' || u >= 0x20) {
    if (u != 0x7f && current_.size() < max_line_bytes_) current_.push_back(c);
  }
  // Other C0 controls (\r, bell, ...) carry no text.
}

namespace {
/// Printable text: kept as is (tab included, DEL not).
inline bool plain(unsigned char u) { return (u >= 0x20 && u != 0x7f) || u == '\t'; }
}  // namespace

size_t LineTail::skippable(std::string_view bytes) const {
  if (state_ != State::kText) return 0;
  // The (max_lines_ + 1)th newline from the end: the lines after it evict every older one.
  const char* end = bytes.data() + bytes.size();
  for (size_t found = 0; found <= max_lines_; ++found) {
    const void* nl = ::memrchr(bytes.data(), '\n', static_cast<size_t>(end - bytes.data()));
    if (nl == nullptr) return 0;
    end = static_cast<const char*>(nl);
  }
  const size_t skip = static_cast<size_t>(end - bytes.data()) + 1;
  // Only text before it: the state there is text, and every newline in it ended a line.
  return ::memchr(bytes.data(), '\x1b', skip) == nullptr ? skip : 0;
}

void LineTail::feed(std::string_view bytes) {
  if (size_t skip = skippable(bytes); skip > 0) {
    // A flood: what a walk through the skipped bytes would leave behind is evicted by the
    // max_lines_ lines that follow them, except the unterminated line they would have built.
    current_.clear();
    bytes.remove_prefix(skip);
  }
  const char* p = bytes.data();
  const char* const end = p + bytes.size();
  while (p < end) {
    if (state_ == State::kText && plain(static_cast<unsigned char>(*p))) {
      // A run of plain text at once (most output is): one append, capped at the line limit.
      const char* run = p;
      while (p < end && plain(static_cast<unsigned char>(*p))) ++p;
      const size_t room = max_line_bytes_ > current_.size() ? max_line_bytes_ - current_.size() : 0;
      current_.append(run, std::min(room, static_cast<size_t>(p - run)));
      continue;
    }
    const char c = *p++;
    auto u = static_cast<unsigned char>(c);
    switch (state_) {
      case State::kText:
        if (c == '\x1b') {
          state_ = State::kEscape;
        } else {
          textByte(c);
        }
        break;
      case State::kEscape:
        if (c == '[') {
          state_ = State::kCsi;
        } else if (c == ']' || c == 'P' || c == '_' || c == '^' || c == 'X') {
          state_ = State::kString;  // OSC, DCS, APC, PM, SOS: up to BEL or ESC backslash
        } else if (u >= 0x20 && u <= 0x2f) {
          // intermediate byte of a two-character escape ("ESC ( B"): the final byte follows
        } else {
          state_ = State::kText;
        }
        break;
      case State::kCsi:
        if (u >= 0x40 && u <= 0x7e) state_ = State::kText;  // final byte
        break;
      case State::kString:
        if (c == '\a') {
          state_ = State::kText;
        } else if (c == '\x1b') {
          state_ = State::kStringEscape;
        }
        break;
      case State::kStringEscape:
        state_ = c == '\\' ? State::kText : State::kString;
        break;
    }
  }
}

std::vector<std::string> LineTail::lines() const {
  std::vector<std::string> out(lines_.begin(), lines_.end());
  if (!current_.empty()) {
    out.push_back(current_);
    if (out.size() > max_lines_) out.erase(out.begin());
  }
  return out;
}

}  // namespace zlh::agent::shim
