#include "proto/v1/error.h"

#include <gtest/gtest.h>

#include <set>

#include "proto/v1/result.h"

namespace zlh::proto {
namespace {
using nlohmann::json;

struct Row {
  ErrorCode code;
  const char* wire;
  int http;
};
// The contract of STYLE.md "Errors" and docs/api.md.
constexpr Row kRows[] = {
    {ErrorCode::kInvalidArgument, "invalid_argument", 400},
    {ErrorCode::kUnauthenticated, "unauthenticated", 401},
    {ErrorCode::kPaymentRequired, "payment_required", 402},
    {ErrorCode::kPermissionDenied, "permission_denied", 403},
    {ErrorCode::kNotFound, "not_found", 404},
    {ErrorCode::kConflict, "conflict", 409},
    {ErrorCode::kFailedPrecondition, "failed_precondition", 422},
    {ErrorCode::kUnavailable, "unavailable", 503},
    {ErrorCode::kDeadlineExceeded, "deadline_exceeded", 504},
    {ErrorCode::kUnimplemented, "unimplemented", 501},
    {ErrorCode::kInternal, "internal", 500},
};

TEST(ErrorCodes, WireNamesAndHttpStatuses) {
  std::set<std::string> names;
  std::set<int> statuses;
  for (const auto& r : kRows) {
    EXPECT_EQ(toWire(r.code), r.wire);
    EXPECT_EQ(httpStatus(r.code), r.http) << r.wire;
    EXPECT_EQ(errorCodeFromWire(r.wire), r.code) << r.wire;
    names.insert(r.wire);
    statuses.insert(r.http);
  }
  EXPECT_EQ(names.size(), std::size(kRows));
  EXPECT_EQ(statuses.size(), std::size(kRows));  // one to one
}

TEST(ErrorCodes, UnknownNamesAndValues) {
  EXPECT_FALSE(errorCodeFromWire("").has_value());
  EXPECT_FALSE(errorCodeFromWire("NOT_FOUND").has_value());
  EXPECT_FALSE(errorCodeFromWire("bad_shape").has_value());  // a codec code, not an ErrorCode
  const auto bogus = static_cast<ErrorCode>(999);
  EXPECT_EQ(toWire(bogus), "internal");
  EXPECT_EQ(httpStatus(bogus), 500);
}

TEST(ErrorCodes, ErrorJson) {
  json j = Error{ErrorCode::kNotFound, "no such instance"};
  EXPECT_EQ(j, json::parse(R"({"code":"not_found","message":"no such instance"})"));
  auto back = j.get<Error>();
  EXPECT_EQ(back.code, ErrorCode::kNotFound);
  EXPECT_EQ(back.message, "no such instance");
  EXPECT_THROW(json::parse(R"({"code":"nope","message":"x"})").get<Error>(), json::exception);
  EXPECT_THROW(json::parse(R"({"code":"internal"})").get<Error>(), json::exception);
  EXPECT_THROW(json::parse(R"({"message":"x"})").get<Error>(), json::exception);
  EXPECT_THROW(json::parse(R"({"code":1,"message":"x"})").get<Error>(), json::exception);
  EXPECT_THROW(json::parse(R"("internal")").get<Error>(), json::exception);
}

TEST(ErrorCodes, WithContext) {
  Error e{ErrorCode::kUnavailable, "no space left on device"};
  auto c = e.withContext("restore backup 42");
  EXPECT_EQ(c.code, ErrorCode::kUnavailable);
  EXPECT_EQ(c.message, "restore backup 42: no space left on device");
}

TEST(ResultType, HoldsValueOrError) {
  Result<int> ok = 5;
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, 5);
  Result<int> bad = makeError(ErrorCode::kConflict, "x");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kConflict);
  Status s;
  EXPECT_TRUE(s.ok());
  Status f = makeError(ErrorCode::kInternal, "y");
  EXPECT_FALSE(f.ok());
  EXPECT_EQ(f.error().message, "y");
}

}  // namespace
}  // namespace zlh::proto
