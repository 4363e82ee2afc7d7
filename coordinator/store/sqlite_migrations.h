#pragma once
// Versioned schema of the SQLite engine. Append new versions; never edit an applied one.
#include <vector>

namespace zlh::coordinator::store::sqlite {

struct Migration {
  int version;
  const char* name;
  const char* sql;
};

const std::vector<Migration>& migrations();

}  // namespace zlh::coordinator::store::sqlite
