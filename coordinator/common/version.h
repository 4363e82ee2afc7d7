#pragma once
#include <string_view>

namespace zlh::coordinator::common {
/// The coordinator's version (the CMake project version).
std::string_view version();
}  // namespace zlh::coordinator::common
