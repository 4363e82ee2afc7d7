#!/usr/bin/env bash
# check_includes.sh [ROOT]: fails when an #include crosses a dependency boundary (STYLE.md,
# "Boundaries"). ROOT defaults to the repository holding this script.
#
# Our headers are included by their path from the repository root ("agent/sdk/plugin.h"). Rules,
# by the directory of the including file:
#   proto/           nothing of ours outside proto/ (agent/, plugins/, coordinator/)
#   agent/sdk/       no agent/ outside agent/sdk/ (agent/core, agent/main, ...), plugins/, coordinator/
#   agent/core/      no plugins/, coordinator/, agent/main/
#   agent/<other>/   no coordinator/; agent/shim/ no plugins/ either
#   plugins/<name>/  no agent/ outside agent/sdk/, coordinator/, plugins/<other>/
#   coordinator/     no agent/, plugins/
# A relative include that climbs out of its component ("../") is an error too, and what it
# resolves to is checked against the rules above.
# Prints "file:line: #include ...: reason" per violation; exit 1 if any, 0 if none.
set -euo pipefail

root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || exit 2
# A wrong root must not pass as "no violations".
if [ ! -d proto ]; then
  echo "check_includes: $root has no proto/ directory: not a zlh source tree" >&2
  exit 2
fi

# The component a file belongs to: proto, agent/<part>, plugins/<name> or coordinator.
component_of() {
  case $1 in
    proto/*) echo proto ;;
    coordinator/*) echo coordinator ;;
    agent/*/* | plugins/*/*) local rest=${1#*/}; echo "${1%%/*}/${rest%%/*}" ;;
    *) echo "${1%/*}" ;;
  esac
}

# Lexically resolves DIR/REL ("a/b" + "../c/d.h" -> "a/c/d.h"); prints nothing when it climbs out
# of the repository.
resolve() {
  local -a out=() parts=()
  local part
  IFS=/ read -r -a parts <<< "$1/$2"
  for part in "${parts[@]}"; do
    case $part in
      '' | .) ;;
      ..) [ ${#out[@]} -gt 0 ] || return 0; unset 'out[-1]' ;;
      *) out+=("$part") ;;
    esac
  done
  (IFS=/; echo "${out[*]}")
}

# The rule that COMPONENT breaks by including TARGET (a path from the root), or nothing.
rule_for() {
  local comp=$1 target=$2
  case $comp:$target in
    proto:agent/* | proto:plugins/* | proto:coordinator/*)
      echo "proto/ must not include anything of ours outside proto/" ;;
    agent/sdk:agent/sdk/*) ;;
    agent/sdk:agent/* | agent/sdk:plugins/* | agent/sdk:coordinator/*)
      echo "agent/sdk may include only proto/ and agent/sdk/" ;;
    agent/core:plugins/* | agent/core:coordinator/* | agent/core:agent/main/*)
      echo "agent/core must not include plugins/, coordinator/ or agent/main/" ;;
    agent/shim:plugins/*)
      echo "agent/shim must not include plugins/" ;;
    agent/*:coordinator/*)
      echo "agent/ must not include coordinator/" ;;
    plugins/*:plugins/*)
      [ "${target#"$comp"/}" != "$target" ] ||
        echo "a plugin must not include another plugin (plugins cooperate through jobs and events)" ;;
    plugins/*:agent/sdk/*) ;;
    plugins/*:agent/*)
      echo "a plugin may include agent/sdk/ only, not agent/core, agent/main or agent/shim" ;;
    plugins/*:coordinator/*)
      echo "a plugin must not include coordinator/" ;;
    coordinator:agent/* | coordinator:plugins/*)
      echo "coordinator/ must not include agent/ or plugins/" ;;
  esac
}

# Every include of every C/C++ file under our component directories, as "file:line:path".
list_includes() {
  local dirs=() d
  for d in proto agent plugins coordinator; do
    [ -d "$d" ] && dirs+=("$d")
  done
  find "${dirs[@]}" -type f \( -name '*.h' -o -name '*.hpp' -o -name '*.hh' -o -name '*.ipp' \
       -o -name '*.inl' -o -name '*.c' -o -name '*.cc' -o -name '*.cpp' -o -name '*.cxx' \) \
       -print0 | sort -z | xargs -0 -r grep -HnE '^[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]' |
    sed -E 's/^([^:]+:[0-9]+):[[:space:]]*#[[:space:]]*include[[:space:]]*[<"]([^>"]*)[>"].*$/\1:\2/'
}

violations=0
report() {
  echo "$1:$2: #include \"$3\": $4"
  violations=$((violations + 1))
}

checked=0
while IFS=: read -r file line inc; do
  checked=$((checked + 1))
  comp=$(component_of "$file")
  dir=${file%/*}
  target=$inc
  case /$inc/ in
    */../* | */./*)
      target=$(resolve "$dir" "$inc")
      if [ -z "$target" ]; then
        report "$file" "$line" "$inc" "relative include climbs out of the repository"
        continue
      fi
      if [ "${target#"$comp"/}" = "$target" ]; then
        report "$file" "$line" "$inc" "relative include climbs out of $comp/ (to $target): include it by its path from the repository root"
      fi ;;
    *)
      # The compiler looks beside the including file first: "x/y.h" may be a subdirectory's.
      [ -f "$dir/$inc" ] && target=$dir/$inc ;;
  esac
  reason=$(rule_for "$comp" "$target")
  [ -z "$reason" ] || report "$file" "$line" "$inc" "$reason"
done < <(list_includes)

if [ "$checked" -eq 0 ]; then
  echo "check_includes: no #include found under $root: refusing to pass an empty tree" >&2
  exit 2
fi
if [ "$violations" -gt 0 ]; then
  echo "check_includes: $violations include(s) cross a boundary (rules: tests/boundaries/check_includes.sh, STYLE.md)" >&2
  exit 1
fi
echo "check_includes: $checked includes checked under $root: no boundary crossed"
