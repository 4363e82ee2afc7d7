#pragma once
/// @file
/// Result and error types of the SDK: the wire's own (proto/v1), so a plugin's error reaches the
/// coordinator unchanged. No exception crosses the SDK: every fallible call returns one of these.
#include "proto/v1/error.h"
#include "proto/v1/result.h"

namespace zlh::agent::sdk {

using proto::Error;
using proto::ErrorCode;
using proto::makeError;
using proto::Result;
using proto::Status;

}  // namespace zlh::agent::sdk
