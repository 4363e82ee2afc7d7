#pragma once
// What this node offers, for hello: usable CPUs, memory and the state dir's file system size.
#include <filesystem>

#include "proto/v1/messages.h"

namespace zlh::agent::core {

proto::Capacity readCapacity(const std::filesystem::path& state_dir);

}  // namespace zlh::agent::core
