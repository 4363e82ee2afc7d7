#include "agent/shim/line_tail.h"

namespace zlh::agent::shim {

void LineTail::endLine() {
  lines_.push_back(std::move(current_));
  current_.clear();
  while (lines_.size() > max_lines_) lines_.pop_front();
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

void LineTail::feed(std::string_view bytes) {
  for (char c : bytes) {
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
