#pragma once
// Sample messages of every type, encoded by the C++ encoder, and a table of valid and invalid
// variants with the decoder's expected verdict. Shared by the unit tests, `proto_samples` (which
// feeds tests/schema/validate.mjs, so the JSON Schemas are checked against the same cases) and
// the fuzz corpus.
#include <string>
#include <vector>

namespace zlh::proto::samples {

struct Sample {
  std::string type;
  std::string variant;  // "full", "minimal", "error", ...
  std::string text;     // the encoded envelope
};

/// At least one sample of every type in knownTypes(); fixed ids and ts.
std::vector<Sample> all();

struct Case {
  std::string name;    // "<type>/<variant> <pointer> = <value>" or "envelope: ..."
  std::string expect;  // "ok" or the decode error's wire code ("bad_shape", "malformed", ...)
  std::string text;    // envelope text
};

/// Envelope-level cases and, for every body field, missing/null/ill-typed/boundary variants.
/// Only cases a JSON Schema can judge the same way (no depth or size limits, no 1.0 vs 1).
std::vector<Case> cases();

}  // namespace zlh::proto::samples
