# Shared by scripts/test and scripts/demo. Sourced, not run.

# phase NAME CMD...: runs a phase and records how long it took.
PHASES=()
phase() {
  local name=$1 start end rc=0
  shift
  echo "==> ${name}"
  start=$(date +%s)
  "$@" || rc=$?
  end=$(date +%s)
  PHASES+=("$(printf '%-28s %5ss%s' "$name" $((end - start)) "$([[ $rc -ne 0 ]] && echo "  (failed: exit $rc)")")")
  return $rc
}

print_phases() {
  echo "==> phase times"
  local p
  for p in "${PHASES[@]}"; do echo "    $p"; done
}

# kill_recorded DIR: ends every process recorded in DIR (one file per PID holding its command
# line), but only when /proc still shows that same command: a PID may have been reused.
kill_recorded() {
  local dir=$1 f pid want have
  [[ -d $dir ]] || return 0
  for sig in TERM KILL; do
    for f in "$dir"/*; do
      [[ -f $f ]] || continue
      pid=$(basename "$f")
      [[ $pid =~ ^[0-9]+$ ]] || { rm -f "$f"; continue; }
      want=$(head -c 200 "$f")
      have=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | head -c 200) || have=
      if [[ -n $have && ${have% } == "${want% }"* ]]; then
        kill -s "$sig" "$pid" 2>/dev/null || true
      else
        rm -f "$f"
      fi
    done
    [[ $sig == TERM ]] && sleep 0.5
  done
  rm -f "$dir"/* 2>/dev/null || true
}

# kill_test_shims: shims started by tests (their specs live in temp dirs) outlive a killed test.
kill_test_shims() {
  pkill -TERM -f '^[^ ]*zlh-shim --spec /tmp/zlh-' 2>/dev/null || true
}

# record_pid DIR PID: remembers a process we started.
record_pid() {
  mkdir -p "$1"
  tr '\0' ' ' <"/proc/$2/cmdline" >"$1/$2" 2>/dev/null || true
}
