#!/usr/bin/env bash
# benchmarks/run-deb.sh DEB [JIT_RAMPART]: the installed Debian package against postfix-mta-sts-resolver's, each
# daemon started the way its own systemd unit starts it (packaging/deb/unit-exec UNIT: its ExecStart=, User=,
# StateDirectory=, …), in one run (docs/benchmarks.md section 14). Run inside the lab (lab/run), as root, with both
# packages installed and neither daemon running:
#   apt-get install ./.build/deb/rampart_*_amd64.deb postfix-mta-sts-resolver
#   lab/run benchmarks/run-deb.sh .build/deb/rampart_*_amd64.deb tests/Rampart.Cli.Tests/bin/Release/net10.0/rampart
# Measures: package and file sizes; per daemon, exec to the first socketmap answer (`postfix [127.0.0.1]`, answered
# without DNS by both, polled every 5 ms over loopback TCP) and RSS (anonymous and file-backed) and threads 5 s later,
# median of 5 starts with an empty state; Rampart also with three GC settings given through the environment; CPU
# (perf task-clock) and wall of one CLI lookup of sts-enforce.test: `rampart resolve` native and JIT,
# `mta-sts-query` (the peer's), mean of 10 runs. Loopback inside the lab's namespace only.
set -euo pipefail
cd "$(dirname "$0")/.."
(($# >= 1)) || { echo "usage: lab/run benchmarks/run-deb.sh DEB [JIT_RAMPART]" >&2; exit 2; }
deb=$1 jit=${2:-} unit_exec=$PWD/packaging/deb/unit-exec
[ "${RAMPART_LAB:-}" = 1 ] || { echo "run-deb.sh: run it inside the lab: lab/run benchmarks/run-deb.sh …" >&2; exit 2; }
for need in /usr/bin/rampart /usr/bin/mta-sts-daemon /lib/systemd/system/rampart-daemon.service \
            /lib/systemd/system/postfix-mta-sts-resolver.service; do
  [ -e "$need" ] || { echo "run-deb.sh: $need missing: apt-get install $deb postfix-mta-sts-resolver" >&2; exit 2; }
done
work=$(mktemp -d)
daemon=
trap '[ -n "$daemon" ] && kill "$daemon" 2>/dev/null; rm -rf "$work"' EXIT
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
source "$(dirname "$0")/socketmap-probe.sh"

echo "# $(date -u '+%F %T') UTC, $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "## sizes"
echo "rampart .deb: $(stat -c %s "$deb") bytes; Installed-Size $(dpkg-query -W -f='${Installed-Size}' rampart) KiB; Depends: $(dpkg-query -W -f='${Depends}' rampart)"
echo "  /usr/lib/rampart/rampart $(stat -c %s /usr/lib/rampart/rampart) bytes, libe_sqlite3.so $(stat -c %s /usr/lib/rampart/libe_sqlite3.so) bytes"
peer_deps=$(dpkg-query -W -f='${Depends}' postfix-mta-sts-resolver)
echo "postfix-mta-sts-resolver: Installed-Size $(dpkg-query -W -f='${Installed-Size}' postfix-mta-sts-resolver) KiB; Depends: $peer_deps"
python_size=0
for pkg in $(tr ',' '\n' <<<"$peer_deps" | sed -E 's/\(.*//; s/:any//; s/ //g' | grep -E '^python3'); do
  python_size=$((python_size + $(dpkg-query -W -f='${Installed-Size}' "$pkg" 2>/dev/null || echo 0)))
done
echo "  its python3 dependencies named directly: $python_size KiB (python3 itself and their own dependencies not counted)"

# daemon NAME UNIT [VAR=VALUE…]: 5 starts as UNIT starts it, each with its state emptied; the median row.
daemon() {
  local name=$1 unit=$2; shift 2
  local pass=() var
  for var in "$@"; do export "${var?}"; pass+=(--pass "${var%%=*}"); done
  : >"$work/times"
  for ((i = 0; i < 5; i++)); do
    rm -rf /var/lib/rampart/* /var/lib/mta-sts/cache.db
    local started; started=$(date +%s%N)
    (cd / && exec env -u SSL_CERT_FILE -u NOTIFY_SOCKET "$unit_exec" "${pass[@]}" "$unit") >"$work/daemon.log" 2>&1 &
    daemon=$!
    local deadline=$((started + 30000000000)) reply=
    until reply=$(lookup 8461) && [ -n "$reply" ]; do
      (( $(date +%s%N) < deadline )) || { echo "$name: no answer within 30 s" >&2; cat "$work/daemon.log" >&2; exit 1; }
      sleep 0.005
    done
    local first=$(( ($(date +%s%N) - started) / 1000000 ))
    sleep 5   # idle: what the process holds when nothing happens
    awk -v first="$first" '/^VmRSS|^RssAnon|^RssFile/ { v[$1] = $2 / 1024 } /^Threads/ { t = $2 }
      END { print first, v["VmRSS:"], v["RssAnon:"], v["RssFile:"], t }' "/proc/$daemon/status" >>"$work/times"
    kill -TERM "$daemon"; wait "$daemon" || true; daemon=
  done
  for var in "$@"; do unset "${var%%=*}"; done
  printf '%-44s first answer %5.0f ms  idle RSS %5.1f MiB (anon %4.1f, file %4.1f)  threads %s  (reply %s)\n' "$name" \
    "$(cut -d' ' -f1 "$work/times" | median)" "$(cut -d' ' -f2 "$work/times" | median)" "$(cut -d' ' -f3 "$work/times" | median)" \
    "$(cut -d' ' -f4 "$work/times" | median)" "$(cut -d' ' -f5 "$work/times" | median)" "$reply"
}
echo "## daemons as their units start them: median of 5 starts"
daemon "rampart (rampart-daemon.service)" /lib/systemd/system/rampart-daemon.service
daemon "  + DOTNET_GCgen0size=100000 (1 MiB)" /lib/systemd/system/rampart-daemon.service DOTNET_GCgen0size=100000
daemon "  + DOTNET_GCConserveMemory=7" /lib/systemd/system/rampart-daemon.service DOTNET_GCConserveMemory=7
daemon "  + DOTNET_GCHeapHardLimit=2000000 (32 MiB)" /lib/systemd/system/rampart-daemon.service DOTNET_GCHeapHardLimit=2000000
daemon "postfix-mta-sts-resolver (its unit)" /lib/systemd/system/postfix-mta-sts-resolver.service

# cli NAME ARGS...: mean CPU and wall of 10 runs (perf stat, one warm-up run first)
cli() {
  local name=$1; shift
  "$@" >/dev/null 2>&1 || true
  perf stat -r 10 -x, -e task-clock,duration_time -o "$work/perf" -- "$@" >/dev/null 2>&1 || true
  printf '%-44s cpu %7.1f ms  wall %7.1f ms\n' "$name" "$(awk -F, '$3 == "task-clock" { print $1 }' "$work/perf")" \
    "$(awk -F, '$3 == "duration_time" { print $1 / 1000000 }' "$work/perf")"
}
echo "## one CLI lookup of sts-enforce.test (DNS, HTTPS policy fetch), mean of 10 runs"
cli "rampart resolve (native, installed)" /usr/bin/rampart resolve sts-enforce.test
[ -z "$jit" ] || cli "rampart resolve (JIT: $(basename "$(dirname "$jit")"))" "$jit" resolve sts-enforce.test
cli "mta-sts-query (postfix-mta-sts-resolver)" /usr/bin/mta-sts-query sts-enforce.test
cli "rampart --version (native)" /usr/bin/rampart --version
echo "# done $(date -u '+%T') UTC, load $(cut -d' ' -f1-3 /proc/loadavg)"
