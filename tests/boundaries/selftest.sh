#!/usr/bin/env bash
# selftest.sh: check_includes.sh must pass a clean tree and fail, naming file:line, on a planted
# violation of each rule, one tree per violation, so that the boundary check cannot silently pass.
set -euo pipefail

check=$(cd "$(dirname "$0")" && pwd)/check_includes.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }

# put TREE FILE LINE...: writes FILE (path from TREE) with the given lines.
put() {
  local tree=$1 file=$2
  shift 2
  mkdir -p "$tree/$(dirname "$file")"
  printf '%s\n' "$@" > "$tree/$file"
}

# A tree whose includes are all allowed.
clean_tree() {
  local t=$1
  put "$t" proto/v1/codec.h '#pragma once' '#include "proto/v1/result.h"' '#include <string>'
  put "$t" proto/v1/result.h '#pragma once'
  put "$t" agent/sdk/plugin.h '#pragma once' '#include "proto/v1/result.h"'
  put "$t" agent/core/host.cpp '#include "agent/sdk/plugin.h"' '#include "agent/core/host.h"' \
      '#include "plugins/table.h"' '#include "agent/shim/protocol.h"'
  # "plugins/table.h" above is agent/core/plugins/table.h: the compiler looks beside the file first.
  put "$t" agent/core/plugins/table.h '#pragma once'
  put "$t" agent/core/host.h '#pragma once'
  put "$t" agent/shim/protocol.h '#pragma once' '#include "proto/v1/codec.h"'
  put "$t" agent/main/main.cpp '#include "agent/core/host.h"' '#include "plugins/system/system.h"'
  put "$t" plugins/system/system.h '#pragma once' '#include "agent/sdk/plugin.h"'
  put "$t" plugins/system/system.cpp '#include "plugins/system/system.h"' '#include "proto/v1/codec.h"'
  put "$t" plugins/system/tests/system_test.cpp '#include "../system.h"'
  put "$t" coordinator/store/store.h '#pragma once' '#include "proto/v1/result.h"'
  put "$t" coordinator/api/api.cpp '#include "../store/store.h"' '#include "coordinator/store/store.h"'
}

# expect_violation NAME FILE LINE: a clean tree plus FILE holding LINE (its line 2) must fail with
# exactly one report, naming FILE:2.
expect_violation() {
  local name=$1 file=$2 include=$3 t=$tmp/$1 out rc=0
  clean_tree "$t"
  put "$t" "$file" '// planted' "$include"
  out=$(bash "$check" "$t" 2>&1) || rc=$?
  if [ "$rc" -ne 1 ]; then
    fail "$name: check exited $rc, expected 1 for $file: $include"
  elif ! grep -q "^$file:2: " <<< "$out"; then
    fail "$name: report does not name $file:2: $out"
  elif [ "$(grep -c "^$file:2: " <<< "$out")" -ne 1 ] ||
       [ "$(grep -c '^[a-z].*:[0-9]*: #include' <<< "$out")" -ne 1 ]; then
    fail "$name: expected exactly one report: $out"
  else
    echo "ok: $name -> $(grep "^$file:2: " <<< "$out")"
  fi
}

clean_tree "$tmp/clean"
if out=$(bash "$check" "$tmp/clean" 2>&1); then
  echo "ok: clean tree passes"
else
  fail "clean tree rejected: $out"
fi

expect_violation proto-agent       proto/v1/bad.h            '#include "agent/sdk/plugin.h"'
expect_violation proto-plugins     proto/v1/bad.cpp          '#include "plugins/system/system.h"'
expect_violation proto-coordinator proto/v1/bad.h            '#include <coordinator/store/store.h>'
expect_violation sdk-core          agent/sdk/bad.h           '#include "agent/core/host.h"'
expect_violation sdk-main          agent/sdk/bad.h           '#include "agent/main/main.h"'
expect_violation sdk-plugins       agent/sdk/bad.h           '#include "plugins/system/system.h"'
expect_violation sdk-coordinator   agent/sdk/bad.h           '#include "coordinator/store/store.h"'
expect_violation plugin-core       plugins/system/bad.cpp    '#include "agent/core/host.h"'
expect_violation plugin-main       plugins/system/bad.cpp    '#  include "agent/main/main.h"'
expect_violation plugin-coordinator plugins/system/bad.cpp   '#include "coordinator/store/store.h"'
expect_violation plugin-other      plugins/console/bad.cpp   '#include "plugins/system/system.h"'
expect_violation coordinator-agent coordinator/api/bad.cpp   '#include "agent/sdk/plugin.h"'
expect_violation coordinator-plugins coordinator/bad.h       '#include "plugins/system/system.h"'
expect_violation core-plugins      agent/core/bad.cpp        '#include "plugins/system/system.h"'
expect_violation core-coordinator  agent/core/bad.cpp        '#include "coordinator/store/store.h"'
expect_violation relative-climb    agent/core/bad.cpp        '#include "../sdk/plugin.h"'
expect_violation relative-out-of-repo coordinator/bad.cpp    '#include "../../etc/passwd"'

# A relative include that crosses a boundary is reported as both a climb and a boundary crossing.
t=$tmp/relative-boundary
clean_tree "$t"
put "$t" coordinator/api/bad.cpp '#include "../../agent/sdk/plugin.h"'
if out=$(bash "$check" "$t" 2>&1); then
  fail "relative-boundary: passed"
elif [ "$(grep -c '^coordinator/api/bad.cpp:1: ' <<< "$out")" -ne 2 ]; then
  fail "relative-boundary: expected two reports: $out"
else
  echo "ok: relative-boundary"
fi

# A root that is not a source tree must not pass.
mkdir -p "$tmp/empty/proto" "$tmp/notatree"
for root in empty notatree; do
  if bash "$check" "$tmp/$root" > /dev/null 2>&1; then
    fail "root '$root' passed"
  else
    echo "ok: root '$root' fails"
  fi
done

if [ "$failures" -ne 0 ]; then
  echo "selftest: $failures failure(s)" >&2
  exit 1
fi
echo "selftest: the boundary check catches every rule"
