#include "coordinator/common/version.h"

namespace zlh::coordinator::common {
std::string_view version() { return ZLH_COORDINATOR_VERSION; }
}  // namespace zlh::coordinator::common
