#pragma once
// Times: std::chrono::system_clock inside, RFC 3339 UTC on the API, unix ms in storage.
#include <chrono>
#include <cstdint>
#include <string>

namespace zlh::coordinator::common {

using Time = std::chrono::system_clock::time_point;

inline Time now() { return std::chrono::system_clock::now(); }
int64_t toUnixMs(Time t);
Time fromUnixMs(int64_t ms);
/// "2025-01-31T12:34:56.789Z".
std::string formatRfc3339(Time t);

}  // namespace zlh::coordinator::common
