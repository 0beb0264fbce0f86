#!/usr/bin/env bash
# benchmarks/run-native.sh [RUNS]: the footprint of the native (AOT) rampart against the JIT build, one after the
# other in one run (docs/benchmarks.md section 11). Needs both builds:
#   ./rampart --help                        (the JIT build, .build/cli/)
#   packaging/native/build                  (the native one, .build/native/linux-x64/)
# Measures: file sizes; CPU (perf's task-clock) and wall of `--version` and `mta-sts parse FILE`, mean of RUNS
# (default 20); the daemon's time from exec to its first socketmap answer (a key it answers without DNS, polled by a
# netstring client over loopback TCP), its RSS and threads once idle (5 s after that answer), median of 5 starts from /.
# Runs on loopback only; needs perf (linux-perf) and GNU time. Under lab/run it also times `resolve` and `check` of
# sts-enforce.test.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
jit=$PWD/.build/cli/rampart
native=$PWD/.build/native/linux-x64/rampart
[ -x "$jit" ] || { echo "run-native.sh: no JIT build: run ./rampart --help first" >&2; exit 2; }
[ -x "$native" ] || { echo "run-native.sh: no native build: run packaging/native/build first" >&2; exit 2; }
work=$(mktemp -d)
daemon=
trap '[ -n "$daemon" ] && kill "$daemon" 2>/dev/null; rm -rf "$work"' EXIT
export NO_COLOR=1
printf 'version: STSv1\r\nmode: enforce\r\nmx: mx1.example.org\r\nmx: *.backup.example.org\r\nmax_age: 604800\r\n' >"$work/policy.txt"

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

echo "# $(date -u '+%F %T') UTC, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "## sizes (bytes)"
echo "native rampart: $(stat -c %s "$native"), libe_sqlite3.so: $(stat -c %s "${native%/*}/libe_sqlite3.so"), files: $(find "${native%/*}" -type f ! -name '*.dbg' | wc -l)"
echo "JIT build folder (.build/cli, needs the .NET + ASP.NET Core runtimes): $(du -sb "${jit%/*}" | cut -f1), files: $(find "${jit%/*}" -type f | wc -l)"

# cli NAME BINARY ARGS...: mean CPU (task-clock: every thread, user + system) and wall of RUNS runs, by perf stat
# (one warm-up run first), and the median of the peak RSS by GNU time.
cli() {
  local name=$1 bin=$2; shift 2
  "$bin" "$@" >/dev/null 2>&1 || true
  perf stat -r "$runs" -x, -e task-clock,duration_time -o "$work/perf" -- "$bin" "$@" >/dev/null 2>&1 || true
  local cpu spread wall
  cpu=$(awk -F, '$3 == "task-clock" { print $1 }' "$work/perf")
  spread=$(awk -F, '$3 == "task-clock" { print $4 }' "$work/perf")
  wall=$(awk -F, '$3 == "duration_time" { print $1 / 1000000 }' "$work/perf")
  : >"$work/times"
  for ((i = 0; i < 5; i++)); do /usr/bin/time -f '%M' -a -o "$work/times" "$bin" "$@" >/dev/null 2>&1 || true; done
  printf '%-32s cpu %7.1f ms (±%s)  wall %7.1f ms  max RSS %5.1f MiB\n' "$name" "$cpu" "$spread" "$wall" \
    "$(awk '{ print $1 / 1024 }' "$work/times" | median)"
}
echo "## CLI start, mean of $runs runs"
for build in jit native; do
  bin=${!build}
  cli "$build --version" "$bin" --version
  cli "$build mta-sts parse FILE" "$bin" mta-sts parse "$work/policy.txt"
  if [ "${RAMPART_LAB:-}" = 1 ]; then # inside lab/run: one lab domain, resolved and checked (DNS, HTTPS, SMTP)
    cli "$build resolve sts-enforce.test" "$bin" resolve sts-enforce.test
    cli "$build check sts-enforce.test" "$bin" check sts-enforce.test
  fi
done

source "$(dirname "$0")/socketmap-probe.sh"
free_port() { local port; for ((port = 20000 + RANDOM % 20000; ; port++)); do ss -Hltn "sport = :$port" | grep -q . || { echo "$port"; return; }; done; }
echo "## daemon: exec to first socketmap answer, idle RSS (median of 5 starts from /)"
# The third row is the native binary with two GC settings given through the environment (no rebuild): no background
# GC thread, and a 4 MiB gen0 budget instead of the default sized from the CPU cache. Information for choosing GC
# settings for the daemon; not what ships.
gc_env=(DOTNET_gcConcurrent=0 DOTNET_GCgen0size=400000)
for build in jit native native-gc; do
  bin=$native settings=()
  case $build in jit) bin=$jit ;; native-gc) settings=("${gc_env[@]}") ;; esac
  : >"$work/daemon-times"
  for ((i = 0; i < 5; i++)); do
    port=$(free_port)
    rm -rf "$work/state"
    started=$(date +%s%N)
    # from /, as a service starts (systemd's default working directory), without SSL_CERT_FILE (lab/run sets it; with
    # extra roots the daemon reads the whole system store at start, ~0.3 s here)
    (cd / && exec env -u SSL_CERT_FILE "${settings[@]}" "$bin" daemon --listen "127.0.0.1:$port" --state-dir "$work/state" --log-level warn) >"$work/daemon.log" 2>&1 &
    daemon=$!
    deadline=$((started + 30000000000))
    until reply=$(lookup "$port") && [ -n "$reply" ]; do
      (( $(date +%s%N) < deadline )) || { echo "no answer within 30 s" >&2; cat "$work/daemon.log" >&2; exit 1; }
      sleep 0.005   # polling interval of the probe, so it does not take the CPU the starting daemon needs
    done
    first=$(( ($(date +%s%N) - started) / 1000000 ))
    sleep 5   # idle: what the process holds when nothing happens (a measurement interval, not a wait for an event)
    rss=$(awk '/^VmRSS/ { print $2 / 1024 }' "/proc/$daemon/status")
    threads=$(awk '/^Threads/ { print $2 }' "/proc/$daemon/status")
    kill -TERM "$daemon"; wait "$daemon" || true; daemon=
    echo "$first $rss $threads" >>"$work/daemon-times"
  done
  printf '%-9s first answer %5.0f ms after exec  idle RSS %5.1f MiB  threads %s  (reply %s)\n' "$build" \
    "$(cut -d' ' -f1 "$work/daemon-times" | median)" "$(cut -d' ' -f2 "$work/daemon-times" | median)" \
    "$(cut -d' ' -f3 "$work/daemon-times" | median)" "$reply${settings[*]:+; ${settings[*]}}"
done
echo "# done $(date -u '+%T') UTC, load $(cut -d' ' -f1-3 /proc/loadavg)"
