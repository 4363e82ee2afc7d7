#!/usr/bin/env bash
# check_install.sh BUILD_DIR: installs the .debs that check_debs.sh built (BUILD_DIR/packaging/check)
# into a throwaway copy of this host (an overlay over / in a private mount namespace, chroot) and
# runs the maintainer scripts for real, without systemd as PID 1: install, operator enables the
# agent and edits a conffile, reinstall (the upgrade path), remove, purge. The host is not touched.
# Exit 0 ok, 1 a check failed, 77 not applicable (not root, no overlayfs, sanitizer build or a tree
# not configured for /usr).
set -uo pipefail

if [ "${1:-}" = "--inside" ]; then
  # In the chroot: $2 is the directory holding the .debs.
  debs=$2
  failures=0
  fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
  mode_of() { stat -c '%a %U:%G' "$1" 2>/dev/null; }
  state() { find /etc/systemd /var/lib/systemd -name 'zlh-*' 2>/dev/null; }

  dpkg -i "$debs"/zlh-agent_*.deb "$debs"/zlh-coordinator_*.deb > /tmp/install.log 2>&1 ||
    { cat /tmp/install.log >&2; fail "dpkg -i failed"; exit 1; }
  grep -q 'node.token' /tmp/install.log || fail "postinst does not explain the node token"
  grep -q 'zlh-coordinator init' /tmp/install.log || fail "postinst does not explain init"
  IFS=: read -r _ _ uid _ _ home shell < <(getent passwd zlh-coordinator) || fail "no user zlh-coordinator"
  [ "${uid:-1000}" -lt 1000 ] || fail "zlh-coordinator is not a system user (uid ${uid:-none})"
  [ "${home:-}" = /var/lib/zlh-coordinator ] || fail "zlh-coordinator home is '${home:-}'"
  [ "${shell:-}" = /usr/sbin/nologin ] || fail "zlh-coordinator shell is '${shell:-}'"
  getent group zlh-coordinator > /dev/null || fail "no group zlh-coordinator"
  [ "$(mode_of /var/lib/zlh-agent)" = "700 root:root" ] || fail "/var/lib/zlh-agent: $(mode_of /var/lib/zlh-agent)"
  [ "$(mode_of /var/lib/zlh-coordinator)" = "750 zlh-coordinator:zlh-coordinator" ] ||
    fail "/var/lib/zlh-coordinator: $(mode_of /var/lib/zlh-coordinator)"
  [ "$(mode_of /etc/zlh-agent)" = "755 root:root" ] || fail "/etc/zlh-agent: $(mode_of /etc/zlh-agent)"
  dpkg-query -W -f='${Conffiles}\n' zlh-agent | grep -q '/etc/zlh-agent/agent.toml' ||
    fail "agent.toml is not registered as a conffile"
  dpkg-query -W -f='${Conffiles}\n' zlh-coordinator | grep -q '/etc/zlh-coordinator/coordinator.toml' ||
    fail "coordinator.toml is not registered as a conffile"
  [ ! -e /etc/systemd/system/multi-user.target.wants/zlh-agent.service ] ||
    fail "zlh-agent was enabled on a first install (it needs its config first)"

  # The operator configures and enables the agent; a reinstall (postinst configure <old version>)
  # keeps both.
  echo '# operator edit' >> /etc/zlh-agent/agent.toml
  (umask 077 && printf '%s' 'zlh_token' > /etc/zlh-agent/node.token)
  systemctl enable zlh-agent.service > /dev/null 2>&1 || fail "systemctl enable zlh-agent (offline) failed"
  dpkg -i "$debs"/zlh-agent_*.deb "$debs"/zlh-coordinator_*.deb > /tmp/reinstall.log 2>&1 ||
    { cat /tmp/reinstall.log >&2; fail "reinstall failed"; }
  grep -q '# operator edit' /etc/zlh-agent/agent.toml || fail "reinstall lost the operator's conffile edit"
  [ -L /etc/systemd/system/multi-user.target.wants/zlh-agent.service ] ||
    fail "reinstall disabled zlh-agent"
  [ -f /etc/zlh-agent/node.token ] || fail "reinstall removed the node token"

  dpkg -r zlh-agent zlh-coordinator > /tmp/remove.log 2>&1 || { cat /tmp/remove.log >&2; fail "dpkg -r failed"; }
  if [ -e /usr/bin/zlh-agent ] || [ -e /usr/bin/zlh-coordinator ]; then fail "remove left the binaries"; fi
  [ -f /etc/zlh-agent/agent.toml ] || fail "remove deleted the conffile (only purge may)"

  dpkg -P zlh-agent zlh-coordinator > /tmp/purge.log 2>&1 || { cat /tmp/purge.log >&2; fail "dpkg -P failed"; }
  [ ! -e /etc/zlh-agent ] || fail "purge left /etc/zlh-agent: $(ls -A /etc/zlh-agent)"
  [ ! -e /etc/zlh-coordinator ] || fail "purge left /etc/zlh-coordinator"
  [ -d /var/lib/zlh-agent ] || fail "purge deleted /var/lib/zlh-agent (instance data is kept)"
  [ -z "$(state)" ] || fail "purge left systemd state: $(state)"
  exit "$((failures > 0))"
fi

build=${1:?usage: check_install.sh BUILD_DIR}
build=$(cd "$build" && pwd) || exit 1
cache_get() { sed -n "s/^$1:[A-Z]*=//p" "$build/CMakeCache.txt" | head -n 1; }
if [ "$(cache_get ZLH_SANITIZE)" = "ON" ] || [ "$(cache_get CMAKE_INSTALL_PREFIX)" != "/usr" ]; then
  echo "SKIP: packages come from the release build"
  exit 77
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "SKIP: needs root (mount namespace, overlayfs, chroot)"
  exit 77
fi
debs=$build/packaging/check
if ! ls "$debs"/zlh-agent_*.deb "$debs"/zlh-coordinator_*.deb > /dev/null 2>&1; then
  echo "FAIL: no packages in $debs: run packaging/tests/check_debs.sh $build first" >&2
  exit 1
fi

if ! unshare --mount --propagation private true 2> /dev/null; then
  echo "SKIP: cannot create a mount namespace"
  exit 77
fi

tmp=$(mktemp -d)
# The mounts live only in the private namespace; never delete through one that leaked.
trap 'mountpoint -q "$tmp/merged" || rm -rf "$tmp"' EXIT
mkdir -p "$tmp/upper/zlh-install" "$tmp/work" "$tmp/merged"
cp "$debs"/*.deb "$0" "$tmp/upper/zlh-install/"
self=/zlh-install/$(basename "$0")

# shellcheck disable=SC2016 # expanded by the inner bash
unshare --mount --propagation private bash -c '
  set -e
  t=$1
  if ! mount -t overlay overlay -o "lowerdir=/,upperdir=$t/upper,workdir=$t/work" "$t/merged" 2> /dev/null; then
    echo "SKIP: cannot mount an overlay over /"
    exit 77
  fi
  mount --rbind /proc "$t/merged/proc"
  mount --rbind /dev "$t/merged/dev"
  exec chroot "$t/merged" bash "$2" --inside /zlh-install
' check_install "$tmp" "$self"
rc=$?
case $rc in
  0) echo "install check: install, reinstall, remove and purge OK" ;;
  77) ;;
  *) echo "install check: failed" >&2; rc=1 ;;
esac
exit "$rc"
