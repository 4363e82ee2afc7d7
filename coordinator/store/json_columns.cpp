#include "coordinator/store/json_columns.h"

namespace zlh::coordinator::store::columns {
using nlohmann::json;

json jsonColumn(const std::string& text, json fallback) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? fallback : j;
}

std::optional<proto::Error> errorColumn(const std::optional<std::string>& text) {
  if (!text) return std::nullopt;
  json j = jsonColumn(*text, json());
  proto::Error e{proto::ErrorCode::kInternal, ""};
  if (j.is_object()) {
    auto code = proto::errorCodeFromWire(j.value("code", ""));
    if (code) e.code = *code;
    auto msg = j.find("message");
    if (msg != j.end() && msg->is_string()) e.message = msg->get<std::string>();
  }
  return e;
}

std::optional<std::string> errorText(const std::optional<proto::Error>& error) {
  if (!error) return std::nullopt;
  return dumpJson(json{{"code", proto::toWire(error->code)}, {"message", error->message}});
}

std::string dumpJson(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace zlh::coordinator::store::columns
