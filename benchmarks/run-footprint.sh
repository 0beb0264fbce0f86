#!/usr/bin/env bash
# benchmarks/run-footprint.sh 'LABEL|BINARY|VAR=VALUE …' …: the footprint of one or more native `rampart` builds (each
# optionally with runtime settings given through the environment) against postfix-mta-sts-resolver's daemon, in one
# run (docs/benchmarks.md section 19). Run inside the lab (lab/run), as root, with the peer installed:
#   apt-get install postfix-mta-sts-resolver
#   lab/run benchmarks/run-footprint.sh "before|/tmp/native-before/rampart" "after|.build/native/linux-x64/rampart"
# Per daemon: exec to the first socketmap answer (`postfix [127.0.0.1]`, answered without DNS by both, polled every
# 5 ms over loopback TCP), then RSS (anonymous and file-backed) and threads 5 s later; started from / without
# SSL_CERT_FILE (as a service starts), an empty state each time; STARTS starts (default 5) per daemon, the daemons
# interleaved start by start (the machine's load changes under all of them alike); the median of each. Then the CPU
# (perf task-clock) and wall of `--version`, `mta-sts parse FILE` and `check sts-enforce.test` per build, and of the
# peer's `mta-sts-query sts-enforce.test`, mean of RUNS (default 10). Loopback inside the lab's namespace only.
# The RSS with 100,000 cached policies is benchmarks/run-daemon.sh's phase e (RAMPART_DLL=BINARY PHASES=e).
set -euo pipefail
cd "$(dirname "$0")/.."
(($# >= 1)) || { echo "usage: lab/run benchmarks/run-footprint.sh 'LABEL|BINARY|VAR=VALUE …' …" >&2; exit 2; }
[ "${RAMPART_LAB:-}" = 1 ] || { echo "run-footprint.sh: run it inside the lab: lab/run benchmarks/run-footprint.sh …" >&2; exit 2; }
[ -x /usr/bin/mta-sts-daemon ] || { echo "run-footprint.sh: the peer is missing: apt-get install postfix-mta-sts-resolver" >&2; exit 2; }
starts=${STARTS:-5} runs=${RUNS:-10}
work=$(mktemp -d)
daemon=
trap '[ -n "$daemon" ] && kill "$daemon" 2>/dev/null; rm -rf "$work"' EXIT
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
source "$(dirname "$0")/socketmap-probe.sh"
port=19601
printf 'host: 127.0.0.1\nport: %s\ncache:\n  type: sqlite\n  options:\n    filename: "%s/peer-cache.db"\n' "$port" "$work" >"$work/peer.yml"
printf 'version: STSv1\r\nmode: enforce\r\nmx: mx1.example.org\r\nmx: *.backup.example.org\r\nmax_age: 604800\r\n' >"$work/policy.txt"

labels=() binaries=() settings=()
for spec in "$@"; do
  IFS='|' read -r label binary env <<<"$spec"
  [ -x "$binary" ] || { echo "run-footprint.sh: $binary is not an executable (from '$spec')" >&2; exit 2; }
  labels+=("$label") binaries+=("$(realpath "$binary")") settings+=("$env")
done
labels+=(postfix-mta-sts-resolver)

echo "# $(date -u '+%F %T') UTC, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
for ((b = 0; b < ${#binaries[@]}; b++)); do
  echo "${labels[b]}: ${binaries[b]} ($(stat -c %s "${binaries[b]}") bytes)${settings[b]:+ with ${settings[b]}}"
done
echo "postfix-mta-sts-resolver $(dpkg-query -W -f='${Version}' postfix-mta-sts-resolver), $(/usr/bin/python3 --version)"

# start_once INDEX: one start of daemon INDEX (the peer after the builds); appends "first rss anon file threads".
start_once() {
  local i=$1 started reply deadline first
  rm -rf "$work/state" "$work/peer-cache.db"
  started=$(date +%s%N)
  if ((i < ${#binaries[@]})); then
    # shellcheck disable=SC2086 # settings[i] is a list of VAR=VALUE words
    (cd / && exec env -u SSL_CERT_FILE -u NOTIFY_SOCKET ${settings[i]} "${binaries[i]}" daemon --listen "127.0.0.1:$port" \
      --state-dir "$work/state" --log-level warn) >"$work/daemon.log" 2>&1 &
  else
    (cd / && exec env -u SSL_CERT_FILE /usr/bin/python3 /usr/bin/mta-sts-daemon -c "$work/peer.yml" -v warn) >"$work/daemon.log" 2>&1 &
  fi
  daemon=$!
  deadline=$((started + 30000000000))
  until reply=$(lookup "$port") && [ -n "$reply" ]; do
    (( $(date +%s%N) < deadline )) || { echo "${labels[i]}: no answer within 30 s" >&2; cat "$work/daemon.log" >&2; exit 1; }
    sleep 0.005
  done
  first=$(( ($(date +%s%N) - started) / 1000000 ))
  sleep 5   # idle: what the process holds when nothing happens (a measurement interval)
  awk -v first="$first" '/^VmRSS|^RssAnon|^RssFile/ { v[$1] = $2 / 1024 } /^Threads/ { t = $2 }
    END { print first, v["VmRSS:"], v["RssAnon:"], v["RssFile:"], t }' "/proc/$daemon/status" >>"$work/daemon-$i"
  kill -TERM "$daemon"; wait "$daemon" || true; daemon=
  echo "$reply" >"$work/reply-$i"
}
echo "## daemons: median of $starts starts, interleaved"
for ((s = 0; s < starts; s++)); do
  for ((i = 0; i < ${#labels[@]}; i++)); do start_once "$i"; done
done
for ((i = 0; i < ${#labels[@]}; i++)); do
  f=$work/daemon-$i
  printf '%-28s first answer %5.0f ms  idle RSS %5.1f MiB (anon %4.1f, file %4.1f)  threads %s  (reply %s)\n' "${labels[i]}" \
    "$(cut -d' ' -f1 "$f" | median)" "$(cut -d' ' -f2 "$f" | median)" "$(cut -d' ' -f3 "$f" | median)" \
    "$(cut -d' ' -f4 "$f" | median)" "$(cut -d' ' -f5 "$f" | median)" "$(cat "$work/reply-$i")"
  echo "  each start (first ms, RSS, anon, file MiB, threads): $(paste -sd';' "$f")"
done

# cli LABEL COMMAND…: mean CPU (every thread, user + system) and wall of RUNS runs after one warm-up run.
cli() {
  local label=$1; shift
  "$@" >/dev/null 2>&1 || true
  perf stat -r "$runs" -x, -e task-clock,duration_time -o "$work/perf" -- "$@" >/dev/null 2>&1 || true
  printf '%-44s cpu %7.1f ms  wall %7.1f ms\n' "$label" "$(awk -F, '$3 == "task-clock" { print $1 }' "$work/perf")" \
    "$(awk -F, '$3 == "duration_time" { print $1 / 1000000 }' "$work/perf")"
}
echo "## CLI, mean of $runs runs"
for ((b = 0; b < ${#binaries[@]}; b++)); do
  # shellcheck disable=SC2086
  cli "${labels[b]} --version" env ${settings[b]} "${binaries[b]}" --version
  # shellcheck disable=SC2086
  cli "${labels[b]} mta-sts parse FILE" env ${settings[b]} "${binaries[b]}" mta-sts parse "$work/policy.txt"
  # shellcheck disable=SC2086
  cli "${labels[b]} check sts-enforce.test" env ${settings[b]} "${binaries[b]}" check sts-enforce.test
done
cli "mta-sts-query sts-enforce.test (the peer)" /usr/bin/mta-sts-query sts-enforce.test
echo "# done $(date -u '+%T') UTC, load $(cut -d' ' -f1-3 /proc/loadavg)"
