#!/usr/bin/env bash
# check_conffiles.sh [SOURCE_DIR]: the default configuration files shipped as conffiles
# (packaging/config/*.toml) hold exactly the keys and defaults of the TOML blocks in
# docs/configuration.md. A key may be commented out ("#key = value", no space after '#') only when
# the document marks it required: it has no default, and the operator must set it.
# Exit 0 when both files match the document, 1 otherwise (with a diff).
set -euo pipefail

src=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
doc=$src/docs/configuration.md
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The ```toml block of docs/configuration.md whose first line is "# <path>".
doc_block() {
  awk -v want="# $1" '
    /^```toml/ { infence = 1; first = 1; next }
    /^```/ { infence = 0; keep = 0; next }
    infence && first { first = 0; keep = ($0 == want); next }
    infence && keep { print }' "$doc"
}

# One "section.key = value" line per assignment, comments stripped; with mark=1, keys commented
# out as "#key = value" are printed too, prefixed with "#".
normalize() {
  awk -v mark="$1" '
    function strip(s,    i, c, q, out) {
      q = 0; out = ""
      for (i = 1; i <= length(s); i++) {
        c = substr(s, i, 1)
        if (c == "\"") q = !q
        if (c == "#" && !q) break
        out = out c
      }
      gsub(/^[ \t]+|[ \t]+$/, "", out)
      return out
    }
    {
      prefix = ""
      if (mark && $0 ~ /^#[a-z_]+ *=/) { prefix = "#"; $0 = substr($0, 2) }
      line = strip($0)
      if (line == "") next
      if (line ~ /^\[[a-z_.]+\]$/) { section = substr(line, 2, length(line) - 2) "."; next }
      eq = index(line, "=")
      if (eq == 0) { print "unparsed: " line; next }
      key = substr(line, 1, eq - 1); val = substr(line, eq + 1)
      gsub(/[ \t]+$/, "", key); gsub(/^[ \t]+/, "", val)
      print prefix section key " = " val
    }'
}

status=0
for pair in "agent.toml:/etc/zlh-agent/agent.toml" \
            "coordinator.toml:/etc/zlh-coordinator/coordinator.toml"; do
  file=$src/packaging/config/${pair%%:*}
  path=${pair#*:}
  doc_block "$path" > "$tmp/block"
  if [ ! -s "$tmp/block" ]; then
    echo "FAIL: docs/configuration.md has no \`\`\`toml block starting with '# $path'" >&2
    status=1
    continue
  fi
  normalize 0 < "$tmp/block" | sort > "$tmp/doc"
  normalize 1 < "$file" > "$tmp/marked"
  sed 's/^#//' "$tmp/marked" | sort > "$tmp/conf"
  if ! diff -u --label "docs/configuration.md ($path)" --label "packaging/config/${pair%%:*}" \
       "$tmp/doc" "$tmp/conf"; then
    echo "FAIL: packaging/config/${pair%%:*} differs from docs/configuration.md (above)" >&2
    status=1
  fi
  # A commented-out key must be one the document calls required.
  while IFS= read -r commented; do
    key=${commented#\#}
    key=${key%% = *}
    name=${key##*.}
    if ! grep -Eq "^${name} *=.*# *required" "$tmp/block"; then
      echo "FAIL: packaging/config/${pair%%:*}: $key is commented out but has a documented" \
           "default (only required keys may be left for the operator)" >&2
      status=1
    fi
  done < <(grep '^#' "$tmp/marked" || true)
done

[ "$status" -eq 0 ] && echo "conffiles match docs/configuration.md"
exit "$status"
