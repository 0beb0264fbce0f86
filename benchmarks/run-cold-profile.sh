#!/usr/bin/env bash
# benchmarks/run-cold-profile.sh: where a `rampart daemon`'s CPU goes on new domains (docs/benchmarks.md section 23).
# Starts the daemon in the lab (as run-daemon.sh phase b does: the peer's YAML, the internal SQLite cache, Unbound),
# then `perf record -g` on it while COLD (default 10000) distinct never-seen *.bench.test domains are looked up over
# 32 connections, then prints the lookups/s, the daemon's CPU seconds and the top of `perf report` by shared object
# and by symbol. A JIT build runs with DOTNET_PerfMapEnabled=1 so perf names managed frames (jitted code in the map,
# ahead-of-time code of the framework by its .dll/.so name).
#   RAMPART_LAB_NAME=NAME RAMPART_LAB_STATE=DIR benchmarks/run-cold-profile.sh RAMPART [OUT]
# RAMPART: rampart.dll of a JIT build (run with dotnet) or a native executable. ART: where Rampart.Benchmarks is
# built (default /tmp/art-bench). Ports: ADDR (default 127.0.0.1:19961), inside the lab's own network namespace.
# Needs root, perf (linux-perf), a lab that is up.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
RAMPART=${1:?usage: run-cold-profile.sh RAMPART [OUT]}
OUT=${2:-/tmp/rampart-cold-profile-$(date -u +%Y%m%dT%H%M%SZ)}
ART=${ART:-/tmp/art-bench}
COLD=${COLD:-10000}
ADDR=${ADDR:-127.0.0.1:19961}
BENCH=$ART/bin/Rampart.Benchmarks/release/Rampart.Benchmarks
RUN=$(printf '%x%x' "$(date +%s)" $$)
say() { printf '\n== %s  [load %s]\n' "$*" "$(cut -d' ' -f1-3 /proc/loadavg)"; }
die() { echo "run-cold-profile: error: $*" >&2; exit 1; }
cd "$REPO"
source benchmarks/lab.sh
(( EUID == 0 )) || die "run as root (the lab uses network namespaces)"
command -v perf >/dev/null || die "perf is missing: apt-get install -y linux-perf"
[[ -e /run/netns/${RAMPART_LAB_NAME:-rampart-lab} ]] || die "the lab ${RAMPART_LAB_NAME:-rampart-lab} is not up: lab/up"
[[ -x $BENCH ]] || build_release benchmarks/Rampart.Benchmarks "$ART" "$BENCH"
mkdir -p "$OUT/state"
printf 'host: 127.0.0.1\nport: %s\ncache_grace: 3600\ncache:\n  type: internal\n  options:\n    cache_size: 200000\ndefault_zone:\n  strict_testing: false\n  timeout: 4\n' \
    "${ADDR##*:}" > "$OUT/main.yml"
run=("$RAMPART"); [[ $RAMPART == *.dll ]] && run=(dotnet "$RAMPART")
say "start: ${run[*]} daemon (state $OUT/state)"
lab/run env DOTNET_PerfMapEnabled=1 "${run[@]}" daemon --listen "$ADDR" --state-dir "$OUT/state" --resolver 127.0.0.1:53 \
    --config "$OUT/main.yml" >> "$OUT/daemon.log" 2>&1 &
launcher=$!
pid=
cleanup() { [[ -n $pid ]] && kill -TERM "$pid" 2>/dev/null; wait "$launcher" 2>/dev/null || true; }
trap cleanup EXIT
for ((i = 0; i < 120; i++)); do # listening: at most 60 s
    lab/run bash -c "exec 3<>/dev/tcp/${ADDR%:*}/${ADDR##*:}" 2>/dev/null && break
    kill -0 "$launcher" 2>/dev/null || die "the daemon exited: $(tail -3 "$OUT/daemon.log")"
    sleep 0.5
done
# The newest process with this command line is the daemon itself (lab/run and env exec or wait above it).
pid=$(pgrep -f -n "daemon --listen $ADDR --state-dir $OUT/state") || die "no daemon process for $ADDR"
cpu() { sed 's/^.*) //' "/proc/$pid/stat" | awk '{ print $12 + $13 }'; }
say "perf record -g -p $pid during $COLD new domains k{i}-$RUN.bench.test, 32 connections"
perf record -F 499 -g -p "$pid" -o "$OUT/perf.data" 2> "$OUT/perf-record.log" &
perf_pid=$!
before=$(cpu)
timeout 900 lab/run "$BENCH" socketmap-load --target "$ADDR" --label cold --json --io epoll --duration 600 \
    --pattern "k{i}-$RUN.bench.test" --count "$COLD" --connections 32 --timeout 30 --expect OK > "$OUT/load.json" \
    || echo "run-cold-profile: not every lookup answered OK (load.json has the counts); the profile is still written"
after=$(cpu)
kill -INT "$perf_pid"; wait "$perf_pid" || true
python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
print("lookups/s %.1f, answered %s, wall %.1f s, answers %s, errors %s" % (d.get("lookups_per_s", 0), d.get("answered"), d.get("wall_s", 0), d.get("answers"), d.get("errors")))' "$OUT/load.json"
echo "daemon CPU: $(( (after - before) * 1000 / $(getconf CLK_TCK) )) ms for $COLD domains; load $(cut -d' ' -f1-3 /proc/loadavg)"
perf report -i "$OUT/perf.data" --no-children --sort dso --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -25 | tee "$OUT/by-dso.txt"
perf report -i "$OUT/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null | grep -v '^#' | grep -v '^$' | head -60 > "$OUT/by-symbol.txt"
echo "results in $OUT (perf.data, by-dso.txt, by-symbol.txt, daemon.log)"
