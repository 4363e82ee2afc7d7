#!/usr/bin/env bash
# check_debs.sh BUILD_DIR: builds the Debian packages of a configured and built release tree with
# `cpack -G DEB` (into BUILD_DIR/packaging/check) and checks them:
#   - exactly zlh-agent_<ver>_<arch>.deb and zlh-coordinator_<ver>_<arch>.deb, control fields;
#   - each holds its binary (an ELF executable), its systemd unit, its conffile(s) (every file
#     under /etc listed in conffiles and every listed conffile present), copyright, changelog and
#     manual page, identical to the sources in packaging/ (the coordinator also its monitoring
#     files); the maintainer scripts pass `sh -n`;
#   - the packaged agent refuses the packaged agent.toml as shipped (node_id: missing) and accepts
#     it with the required keys filled in (--check-config);
#   - `systemd-analyze verify` on the units, against the tree extracted from the packages (it
#     checks that ExecStart= binaries exist there); any diagnostic fails;
#   - lintian: any E: line fails, W: lines are printed.
# Exit 0 all good, 1 a check failed (each failure printed as "FAIL: ..."), 77 not applicable
# (sanitizer build, or a tree not configured for /usr: use the release preset).
set -uo pipefail

build=${1:?usage: check_debs.sh BUILD_DIR}
build=$(cd "$build" && pwd) || exit 1
src=$(cd "$(dirname "$0")/../.." && pwd)
cache=$build/CMakeCache.txt
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
cache_get() { sed -n "s/^$1:[A-Z]*=//p" "$cache" | head -n 1; }

if [ ! -f "$cache" ]; then
  echo "FAIL: $build is not a configured build tree (no CMakeCache.txt)" >&2
  exit 1
fi
if [ "$(cache_get ZLH_SANITIZE)" = "ON" ]; then
  echo "SKIP: sanitizer build (ZLH_SANITIZE=ON): packages come from the release build"
  exit 77
fi
if [ "$(cache_get CMAKE_INSTALL_PREFIX)" != "/usr" ]; then
  echo "SKIP: CMAKE_INSTALL_PREFIX is not /usr: packages come from the release preset"
  exit 77
fi

version=$(cache_get CMAKE_PROJECT_VERSION)
if [ -z "$version" ]; then
  echo "FAIL: no CMAKE_PROJECT_VERSION in $cache" >&2
  exit 1
fi
arch=$(dpkg --print-architecture)
cpack=$(dirname "$(cache_get CMAKE_COMMAND)")/cpack
out=$build/packaging/check
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
packages="zlh-agent zlh-coordinator"

# The real binaries must be configured and built: a package without its binary is no package.
check_binaries() {
  local option
  for option in ZLH_WITH_AGENT ZLH_WITH_COORDINATOR; do
    [ "$(cache_get "$option")" = "ON" ] || fail "$option is not ON: both packages need their binary"
  done
  for pkg in $packages; do
    [ -x "$build/bin/$pkg" ] || fail "$build/bin/$pkg is missing: build the tree first"
  done
  if [ ! -f "$build/CPackConfig.cmake" ]; then
    fail "$build/CPackConfig.cmake is missing: packaging/cpack.cmake was not included"
  fi
  [ "$failures" -eq 0 ]
}

run_cpack() {
  rm -rf "$out"
  mkdir -p "$out"
  if ! (cd "$build" && "$cpack" -G DEB -B "$out") > "$tmp/cpack.log" 2>&1; then
    cat "$tmp/cpack.log" >&2
    fail "cpack -G DEB failed"
    return 1
  fi
  local expected actual
  expected=$(printf '%s\n' "zlh-agent_${version}_${arch}.deb" "zlh-coordinator_${version}_${arch}.deb")
  actual=$(find "$out" -maxdepth 1 -name '*.deb' -printf '%f\n' | sort)
  if [ "$actual" != "$expected" ]; then
    fail "expected exactly: ${expected//$'\n'/ }; cpack made: ${actual//$'\n'/ }"
    return 1
  fi
}

check_fields() {
  local pkg=$1 deb=$2 field value
  for field in Package Version Architecture Maintainer Section Priority Description Depends; do
    value=$(dpkg-deb --field "$deb" "$field")
    [ -n "$value" ] || fail "$pkg: control field $field is empty"
  done
  [ "$(dpkg-deb --field "$deb" Package)" = "$pkg" ] || fail "$pkg: wrong Package field"
  [ "$(dpkg-deb --field "$deb" Version)" = "$version" ] || fail "$pkg: Version is not $version"
  [ "$(dpkg-deb --field "$deb" Architecture)" = "$arch" ] || fail "$pkg: Architecture is not $arch"
  # dpkg-shlibdeps ran: every binary links libc.
  dpkg-deb --field "$deb" Depends | grep -q 'libc6' || fail "$pkg: Depends lacks shlibdeps (libc6)"
  if [ "$pkg" = "zlh-coordinator" ]; then
    dpkg-deb --field "$deb" Depends | grep -qw 'adduser' || fail "$pkg: Depends lacks adduser"
  fi
}

# The control archive: conffiles consistent with /etc in the data, sane maintainer scripts.
check_control() {
  local pkg=$1 deb=$2 ctl=$tmp/control/$1 script f
  dpkg-deb --control "$deb" "$ctl"
  for script in postinst prerm postrm; do
    if [ ! -x "$ctl/$script" ]; then
      fail "$pkg: maintainer script $script missing or not executable"
    elif ! sh -n "$ctl/$script"; then
      fail "$pkg: $script: shell syntax error"
    fi
  done
  [ -s "$ctl/conffiles" ] || { fail "$pkg: no conffiles"; return; }
  while IFS= read -r f; do
    [ -f "$tmp/data/$pkg$f" ] || fail "$pkg: conffile $f is listed but not in the package"
  done < "$ctl/conffiles"
  while IFS= read -r f; do
    grep -qxF "/$f" "$ctl/conffiles" || fail "$pkg: /$f is under /etc but not a conffile"
  done < <(cd "$tmp/data/$pkg" && find etc -type f 2>/dev/null)
}

# The data archive: what must be there, identical to the sources in packaging/.
check_data() {
  local pkg=$1 deb=$2 d=$tmp/data/$1 config
  config=$([ "$pkg" = zlh-agent ] && echo agent.toml || echo coordinator.toml)
  mkdir -p "$d"
  dpkg-deb --extract "$deb" "$d"
  dpkg-deb --extract "$deb" "$root"
  if [ ! -x "$d/usr/bin/$pkg" ] || [ "$(head -c 4 "$d/usr/bin/$pkg" | od -An -c | tr -d ' ')" != '177ELF' ]; then
    fail "$pkg: /usr/bin/$pkg missing or not an ELF executable"
  fi
  cmp -s "$d/usr/lib/systemd/system/$pkg.service" "$src/packaging/systemd/$pkg.service" ||
    fail "$pkg: /usr/lib/systemd/system/$pkg.service missing or not packaging/systemd/$pkg.service"
  cmp -s "$d/etc/$pkg/$config" "$src/packaging/config/$config" ||
    fail "$pkg: /etc/$pkg/$config missing or not packaging/config/$config"
  cmp -s "$d/usr/share/doc/$pkg/copyright" "$src/packaging/debian/copyright" ||
    fail "$pkg: /usr/share/doc/$pkg/copyright missing or not packaging/debian/copyright"
  [ -s "$d/usr/share/man/man8/$pkg.8.gz" ] || fail "$pkg: manual page /usr/share/man/man8/$pkg.8.gz missing"
  if ! gzip -dc "$d/usr/share/doc/$pkg/changelog.gz" > "$tmp/changelog.$pkg" 2>/dev/null; then
    fail "$pkg: /usr/share/doc/$pkg/changelog.gz missing or not gzip"
  elif [ "$(dpkg-parsechangelog -l "$tmp/changelog.$pkg" -S Version)" != "$version" ]; then
    fail "$pkg: top entry of packaging/debian/changelog is not version $version (add an entry)"
  fi
}

# The agent package carries the shim beside the agent (the default [agent] shim_path), the built-in
# templates where [plugins.lifecycle] templates_dir points by default, and its shlibdeps name
# OpenSSL (TLS of the link and of artifact downloads).
check_agent_parts() {
  local d=$tmp/data/zlh-agent t
  [ -x "$d/usr/bin/zlh-shim" ] || fail "zlh-agent: /usr/bin/zlh-shim missing (install it, COMPONENT agent)"
  for t in minecraft-java process; do
    [ -s "$d/usr/share/zlh-agent/templates/$t.toml" ] ||
      fail "zlh-agent: built-in template /usr/share/zlh-agent/templates/$t.toml missing"
  done
  dpkg-deb --field "$out/zlh-agent_${version}_${arch}.deb" Depends | grep -q 'libssl3' || fail "zlh-agent: Depends lacks libssl3"
}

# The coordinator package carries the console page and xterm.js where server.web_dir points, and
# the monitoring files of packaging/monitoring/ as they are in the sources.
check_coordinator_parts() {
  local d=$tmp/data/zlh-coordinator/usr/share/zlh-coordinator/web f
  [ -x "$tmp/data/zlh-coordinator/usr/bin/zlhctl" ] || fail "zlh-coordinator: /usr/bin/zlhctl missing"
  for f in console.html console.js console.css xterm.js xterm.css addon-fit.js; do
    [ -s "$d/$f" ] || fail "zlh-coordinator: /usr/share/zlh-coordinator/web/$f missing"
  done
  d=$tmp/data/zlh-coordinator/usr/share/zlh-coordinator/monitoring
  for f in prometheus.yml zlh-alerts.yml zlh-dashboard.json; do
    cmp -s "$d/$f" "$src/packaging/monitoring/$f" ||
      fail "zlh-coordinator: /usr/share/zlh-coordinator/monitoring/$f missing or not packaging/monitoring/$f"
  done
}

# The packaged agent refuses the packaged config as shipped (node_id has no default) and accepts it
# once the operator filled in what is required.
check_agent_config() {
  local conf=$tmp/agent.toml token=$tmp/node.token agent=$tmp/data/zlh-agent/usr/bin/zlh-agent rc=0
  "$agent" --config "$tmp/data/zlh-agent/etc/zlh-agent/agent.toml" --check-config > "$tmp/cc.log" 2>&1 || rc=$?
  if [ "$rc" -ne 2 ] || ! grep -q 'node_id: missing' "$tmp/cc.log"; then
    cat "$tmp/cc.log" >&2
    fail "zlh-agent --check-config on the shipped agent.toml: expected exit 2 and 'node_id: missing', got $rc"
  fi
  (umask 077 && printf '%s' 'zlh_packaging_check' > "$token")
  sed -e 's|^#node_id = .*|node_id = "nd_packagingcheck"|' \
      -e 's|^#url = .*|url = "wss://coordinator.example:7420"|' \
      -e "s|^token_file = .*|token_file = \"$token\"|" \
      "$tmp/data/zlh-agent/etc/zlh-agent/agent.toml" > "$conf"
  if ! "$agent" --config "$conf" --check-config > "$tmp/cc.log" 2>&1; then
    cat "$tmp/cc.log" >&2
    fail "zlh-agent --check-config rejects the packaged agent.toml (required keys filled in)"
  fi
}

check_units() {
  # verify resolves the units' dependencies (multi-user.target, network-online.target, ...) in
  # --root: take them from the host, without overwriting the packaged units.
  cp -rn /usr/lib/systemd/system/. "$root/usr/lib/systemd/system/"
  local log=$tmp/verify.log
  if ! systemd-analyze verify --root="$root" zlh-agent.service zlh-coordinator.service > "$log" 2>&1 ||
     [ -s "$log" ]; then
    sed 's/^/  /' "$log" >&2
    fail "systemd-analyze verify reported problems with the units"
  fi
}

check_lintian() {
  local log=$tmp/lintian.log rc=0
  lintian --tag-display-limit 0 "$out"/*.deb > "$log" 2>&1 || rc=$?
  grep -E '^W: ' "$log" || true
  if grep -qE '^E: ' "$log"; then
    grep -E '^E: ' "$log" >&2
    fail "lintian reported errors"
  elif [ "$rc" -ne 0 ]; then
    cat "$log" >&2
    fail "lintian exited $rc"
  fi
}

if check_binaries && run_cpack; then
  mkdir -p "$root" "$tmp/control"
  for pkg in $packages; do
    deb=$out/${pkg}_${version}_${arch}.deb
    check_fields "$pkg" "$deb"
    check_data "$pkg" "$deb"
    check_control "$pkg" "$deb"
  done
  check_agent_parts
  check_coordinator_parts
  check_agent_config
  check_units
  check_lintian
fi

if [ "$failures" -ne 0 ]; then
  echo "packaging check: $failures failure(s)" >&2
  exit 1
fi
echo "packaging check: $(cd "$out" && echo *.deb) OK"
