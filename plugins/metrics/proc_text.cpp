#include "plugins/metrics/proc_text.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>

namespace zlh::plugins::metrics {
namespace {
bool isBlank(char c) { return c == ' ' || c == '\t'; }
}  // namespace

bool readFdInto(int fd, std::string& buf) {
  buf.clear();
  if (buf.capacity() < 4096) buf.reserve(4096);
  size_t used = 0;
  for (;;) {
    if (used == buf.capacity()) buf.reserve(buf.capacity() * 2);
    // Grow the size to the capacity without a second allocation; shrunk again below.
    buf.resize(buf.capacity());
    const ssize_t n = ::pread(fd, buf.data() + used, buf.size() - used, off_t(used));
    if (n < 0) {
      if (errno == EINTR) continue;
      buf.clear();
      return false;
    }
    if (n == 0) break;
    used += size_t(n);
  }
  buf.resize(used);
  return true;
}

bool readFileInto(const char* path, std::string& buf) {
  const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    buf.clear();
    return false;
  }
  const bool ok = readFdInto(fd, buf);
  ::close(fd);
  return ok;
}

std::string_view TextCursor::line() {
  if (atEnd()) return {};
  const size_t end = text_.find('\n', pos_);
  const size_t stop = end == std::string_view::npos ? text_.size() : end;
  std::string_view out = text_.substr(pos_, stop - pos_);
  pos_ = stop == text_.size() ? stop : stop + 1;
  return out;
}

std::string_view TextCursor::field() {
  while (pos_ < text_.size() && isBlank(text_[pos_])) ++pos_;
  const size_t start = pos_;
  while (pos_ < text_.size() && !isBlank(text_[pos_]) && text_[pos_] != '\n') ++pos_;
  return text_.substr(start, pos_ - start);
}

void TextCursor::nextLine() {
  const size_t end = text_.find('\n', pos_);
  pos_ = end == std::string_view::npos ? text_.size() : end + 1;
}

std::string_view FieldSplitter::next() {
  while (pos_ < line_.size() && isBlank(line_[pos_])) ++pos_;
  const size_t start = pos_;
  while (pos_ < line_.size() && !isBlank(line_[pos_])) ++pos_;
  return line_.substr(start, pos_ - start);
}

bool parseU64(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parseDouble(std::string_view s, double& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

void unescapeMountField(std::string_view in, std::string& out) {
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '\\' && i + 3 < in.size() && in[i + 1] >= '0' && in[i + 1] <= '3' &&
        in[i + 2] >= '0' && in[i + 2] <= '7' && in[i + 3] >= '0' && in[i + 3] <= '7') {
      out += char((in[i + 1] - '0') * 64 + (in[i + 2] - '0') * 8 + (in[i + 3] - '0'));
      i += 3;
    } else {
      out += in[i];
    }
  }
}

}  // namespace zlh::plugins::metrics
