#pragma once
// Reading /proc and /sys files cheaply: one open/read/close into a buffer the caller keeps between
// scrapes (no iostreams, no per-read allocation once the buffer has grown), and a cursor over the
// text that splits fields and parses numbers without copying.
#include <cstdint>
#include <string>
#include <string_view>

namespace zlh::plugins::metrics {

/// Reads the whole file at `path` into `buf` (resized to the bytes read). False when the file
/// cannot be opened or read; `buf` is then empty. Files under /proc report size 0, so this reads
/// until EOF, growing `buf` only when it is full.
bool readFileInto(const char* path, std::string& buf);

/// Like readFileInto, from offset 0 of an open descriptor (pread: the offset is not moved).
bool readFdInto(int fd, std::string& buf);

/// A forward-only cursor over text. Fields are separated by spaces and tabs; lines by '\n'.
class TextCursor {
 public:
  explicit TextCursor(std::string_view text) : text_(text) {}

  bool atEnd() const { return pos_ >= text_.size(); }
  /// The rest of the current line (without '\n'); moves past it.
  std::string_view line();
  /// The next field on the current line; empty at the end of the line (does not cross '\n').
  std::string_view field();
  /// Skips to the start of the next line.
  void nextLine();

 private:
  std::string_view text_;
  size_t pos_ = 0;
};

/// Splits fields out of one line.
class FieldSplitter {
 public:
  explicit FieldSplitter(std::string_view line) : line_(line) {}
  std::string_view next();  ///< empty when none is left

 private:
  std::string_view line_;
  size_t pos_ = 0;
};

/// Decimal unsigned integer filling the whole of `s`; false on anything else or overflow.
bool parseU64(std::string_view s, uint64_t& out);
/// Decimal floating-point number filling the whole of `s` (e.g. "0.39").
bool parseDouble(std::string_view s, double& out);

/// Undoes the octal escapes of /proc/*/mounts (\040 space, \011 tab, \012 newline, \134 '\').
void unescapeMountField(std::string_view in, std::string& out);

}  // namespace zlh::plugins::metrics
