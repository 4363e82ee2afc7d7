// Prints one or more samples of every message type, encoded by the C++ encoder, one JSON per
// line (tests/schema/validate.mjs checks them against the JSON Schemas).
//   proto_samples            the samples; exit 1 when a type of knownTypes() has none
//   proto_samples --cases    {"name","expect","text"} per line: variants with the decoder's verdict
//   proto_samples --decode   reads envelopes from stdin, prints "ok" or the error code per line
#include <iostream>
#include <set>
#include <string>
#include <string_view>

#include "proto/v1/codec.h"
#include "proto/v1/tests/samples.h"

namespace {
using namespace zlh::proto;

int printSamples() {
  std::set<std::string> seen;
  int bad = 0;
  for (const auto& s : samples::all()) {
    auto env = decode(s.text);
    if (!env.ok()) {
      std::cerr << "sample " << s.type << "/" << s.variant
                << " does not decode: " << env.error().message << "\n";
      ++bad;
    }
    seen.insert(s.type);
    std::cout << s.text << "\n";
  }
  for (const auto& t : knownTypes()) {
    if (!seen.count(t)) {
      std::cerr << "no sample for message type " << t << "\n";
      ++bad;
    }
  }
  return bad == 0 ? 0 : 1;
}

int printCases() {
  for (const auto& c : samples::cases())
    std::cout << nlohmann::json{{"name", c.name}, {"expect", c.expect}, {"text", c.text}}.dump()
              << "\n";
  return 0;
}

int decodeLines() {
  std::string line;
  while (std::getline(std::cin, line)) {
    auto env = decode(line);
    std::cout << (env.ok() ? std::string_view("ok") : toWire(env.error().kind)) << "\n";
  }
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  const std::string_view mode = argc > 1 ? argv[1] : "";
  if (mode.empty()) return printSamples();
  if (mode == "--cases") return printCases();
  if (mode == "--decode") return decodeLines();
  std::cerr << "usage: proto_samples [--cases | --decode]\n";
  return 2;
}
