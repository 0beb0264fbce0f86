#!/usr/bin/env bash
# benchmarks/run-daemon.sh: `rampart daemon` against postfix-mta-sts-resolver's `mta-sts-daemon` under socketmap load
# (issue 4), in one run, both daemons on the same lab data, one after the other (never both under load at once):
#   z. the ceiling: `socketmap-echo`, a socketmap server that does no work, under the same load (what this machine
#      allows at all: no daemon can beat it);
#   a. cached lookups/s and latency at 1, 8, 32 and 128 connections (CACHED warmed *.bench.test domains), closed loop,
#      then paced (open loop) at PACED_RATES lookups/s over 128 connections: p99 when the daemon is not saturated,
#      then pipelined at 32 connections with DEPTHS requests in flight each (the server's capacity once the kernel's
#      per-request cost is shared; Postfix itself sends one request at a time);
#   b. COLD distinct fresh *.bench.test domains (wall time, lookups/s, latency, RSS before/after);
#   c. BURST simultaneous first lookups of one new domain: policy fetches counted at the lab's policy host log;
#   d. DNS outage with cached policies: both daemons resolve through benchmarks/peer/dns_relay.py, which is then
#      switched to drop every query; OUTAGE cached domains looked up (their cache_grace of 5 s has passed);
#   e. RSS with BIG cached policies: each program's own SQLite store prefilled (one real fetched row copied BIG
#      times with sqlite3), then BIG lookups driven through it (Rampart: again once the background refreshes those
#      lookups queued are done, BIG more lookups answered from its decision cache, and after its first proactive sweep);
#   t. the tail as Postfix sees it: a thread-per-connection blocking client (`socketmap-load --io blocking`, one
#      request at a time per connection, as Postfix's smtp processes ask) at TAIL_CONNS (8 32 128) connections against
#      the ceiling, the old Rampart (BASE=<git rev>, built from `git archive` into a directory of its own), this Rampart
#      and the peer, all running at once and measured one at a time, interleaved, TAIL_ROUNDS (3) rounds; each round
#      also measures the epoll client at 32 connections (cached throughput). The summary gives medians and spreads.
# The load generator is `Rampart.Benchmarks socketmap-load --io epoll` (built into ART): one thread, one epoll set,
# ~14 µs of CPU per lookup (the thread-per-connection client of runs A-C cost 55-75 µs and capped every daemon);
# each measured run first warms the client's own code with 5 unmeasured lookups per connection of a key the
# measurement does not ask for (--warmup). Everything runs inside the lab's
# network namespace (lab/run): Unbound, the lab CA (SSL_CERT_FILE), both daemons and the load on 127.0.0.x.
# Both daemons read the same postfix-mta-sts-resolver YAML (Rampart: `daemon --config FILE`, a drop-in); the peer
# runs at `-v warn`, with uvloop, from /usr/bin/python3.
#
#   benchmarks/run-daemon.sh                                        # the documented run (~12-15 min)
#   CACHED=200 COLD=300 DURATION=3 OUTAGE=20 BIG=2000 benchmarks/run-daemon.sh   # a quick check (~3 min)
#   RAMPART_DLL=/tmp/art-x/bin/Rampart.Cli/release/rampart.dll benchmarks/run-daemon.sh
#   RAMPART_DLL=$PWD/.build/native/linux-x64/rampart PHASES=e benchmarks/run-daemon.sh   # the native binary, 100,000 policies
#   BASE=2f61135 PHASES=t benchmarks/run-daemon.sh                   # the tail, old (BASE) and new in one run (~12 min)
#
# Knobs: RAMPART_DLL (default: the repo's own build, .build/cli/rampart.dll, made by ./rampart when stale; a path
# not ending in .dll is run as a program itself: the native build), ART
# (where Rampart.Benchmarks is built, default /tmp/art-bench), CACHED, CONNS, DURATION, COLD, COLD_CONNS, BURST,
# OUTAGE, OUTAGE_CONNS, BIG, BIG_CONNS, TIME_LIMIT (seconds, bound of every load run), PHASES (default "z a b c d e t"),
# PACED_RATES (default "5000 10000"), DEPTHS (pipelined runs at 32 connections, default "8"; "" for none),
# IO (the client's I/O: epoll, or blocking as in runs A-C), TRANSPORT (tcp, default: 127.0.0.1 ports; unix: every
# server on a Unix socket in the work directory, as Postfix's socketmap:unix:/path:NAME reaches it),
# OUT (results directory, default /tmp/rampart-run-daemon-<time>: run.log, results.jsonl, summary.txt).
# Phase t: BASE (a git revision of this repository to measure as "rampart-base"; unset: no old build), BASE_ART (where
# it is built, default /tmp/rampart-base-<commit>; an existing build is reused), TAIL_CONNS, TAIL_ROUNDS, TAIL_DURATION
# (seconds per run, default DURATION), TAIL_EPOLL (1: also the epoll client at 32 connections each round; 0: not).
# Lab instance: RAMPART_LAB_NAME / RAMPART_LAB_STATE (default netns rampart-daemon, state /tmp/rampart-daemon-lab);
# brought up if down and then taken down again; a running one is used and left running. Needs root.
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
ART=${ART:-/tmp/art-bench}
RAMPART_DLL=${RAMPART_DLL:-}
CACHED=${CACHED:-1000}
CONNS=${CONNS:-1 8 32 128}
DURATION=${DURATION:-10}
COLD=${COLD:-10000}
COLD_CONNS=${COLD_CONNS:-32}
BURST=${BURST:-50}
OUTAGE=${OUTAGE:-100}
OUTAGE_CONNS=${OUTAGE_CONNS:-20}
BIG=${BIG:-100000}
BIG_CONNS=${BIG_CONNS:-32}
TIME_LIMIT=${TIME_LIMIT:-600}
PHASES=${PHASES:-z a b c d e t}
BASE=${BASE:-}
BASE_ART=${BASE_ART:-}
TAIL_CONNS=${TAIL_CONNS:-8 32 128}
TAIL_ROUNDS=${TAIL_ROUNDS:-3}
TAIL_DURATION=${TAIL_DURATION:-$DURATION}
TAIL_EPOLL=${TAIL_EPOLL:-1}
PACED_RATES=${PACED_RATES:-5000 10000}
DEPTHS=${DEPTHS-8}
IO=${IO:-epoll}
TRANSPORT=${TRANSPORT:-tcp}
OUT=${OUT:-/tmp/rampart-run-daemon-$(date -u +%Y%m%dT%H%M%SZ)}
export RAMPART_LAB_NAME=${RAMPART_LAB_NAME:-rampart-daemon}
RAMPART_LAB_STATE=$(realpath -m "${RAMPART_LAB_STATE:-/tmp/rampart-daemon-lab}")
export RAMPART_LAB_STATE
LAB_NAME=$RAMPART_LAB_NAME
PEER_PY=/usr/bin/python3
BENCH=$ART/bin/Rampart.Benchmarks/release/Rampart.Benchmarks
RAMPART_ADDR=127.0.0.1:18461
METRICS_ADDR=127.0.0.1:19461
PEER_ADDR=127.0.0.1:18462
BASE_ADDR=127.0.0.1:18464              # phase t: the old Rampart (BASE)
BASE_METRICS_ADDR=127.0.0.1:19464
RELAY_IP=127.0.0.4                     # dns_relay.py: forwards to Unbound (127.0.0.1), or drops everything
RUN=$(printf '%x%x' "$(date +%s)" $$)  # fresh names every run: no cache (daemons', Unbound's) helps across runs

mkdir -p "$OUT"
RESULTS=$OUT/results.jsonl
WORK=$(mktemp -d /tmp/rampart-daemon-work.XXXXXX)
ECHO_ADDR=127.0.0.1:18463
case $TRANSPORT in
    tcp) ;;
    unix) RAMPART_ADDR=unix:$WORK/rampart.sock PEER_ADDR=unix:$WORK/peer.sock ECHO_ADDR=unix:$WORK/echo.sock BASE_ADDR=unix:$WORK/base.sock ;;
    *) echo "run-daemon: TRANSPORT must be tcp or unix, not '$TRANSPORT'" >&2; exit 2 ;;
esac
cd "$REPO"
exec > >(tee "$OUT/run.log") 2>&1
say() { printf '\n== %s  [load %s]\n' "$*" "$(cut -d' ' -f1-3 /proc/loadavg)"; }
die() { echo "run-daemon: error: $*" >&2; exit 1; }
source "$(dirname "$0")/lab.sh"
(( EUID == 0 )) || die "run as root (the lab uses network namespaces)"

# --- prerequisites -------------------------------------------------------------------------------
"$PEER_PY" -c 'import postfix_mta_sts_resolver' 2>/dev/null \
    || die "postfix-mta-sts-resolver is missing: apt-get install -y postfix-mta-sts-resolver python3-uvloop"
# The peer's own recommendation, and how it runs in production: without uvloop its event loop is ~20% slower
# (measured: 24,242 vs 29,050-30,320 cached lookups/s at 32 connections), which would flatter Rampart.
"$PEER_PY" -c 'import uvloop' 2>/dev/null \
    || die "python3-uvloop is missing (postfix-mta-sts-resolver recommends it and uses it when present): apt-get install -y python3-uvloop"
command -v sqlite3 >/dev/null || die "sqlite3 is missing: apt-get install -y sqlite3"
build_release benchmarks/Rampart.Benchmarks "$ART" "$BENCH"
if [[ -z $RAMPART_DLL ]]; then
    say "the repo's rampart build (./rampart builds .build/cli when sources changed)"
    timeout 900 ./rampart --help >/dev/null || die "./rampart --help failed (build error?)"
    RAMPART_DLL=$REPO/.build/cli/rampart.dll
fi
[[ -f $RAMPART_DLL ]] || die "RAMPART_DLL $RAMPART_DLL does not exist"
BASE_DLL=
if [[ -n $BASE && " $PHASES " == *" t "* ]]; then
    base_commit=$(git rev-parse --verify "$BASE^{commit}") || die "BASE $BASE is not a commit of this repository"
    BASE_ART=${BASE_ART:-/tmp/rampart-base-$base_commit}
    # Sources and build output side by side: sources inside an --artifacts-path would be left out of the build.
    BASE_DLL=$BASE_ART/out/bin/Rampart.Cli/release/rampart.dll
    if [[ ! -f $BASE_DLL ]]; then
        say "the old Rampart: $BASE ($base_commit) from git archive into $BASE_ART/src"
        rm -rf "$BASE_ART/src"; mkdir -p "$BASE_ART/src"
        git archive "$base_commit" | tar -x -C "$BASE_ART/src"
        build_release "$BASE_ART/src/src/Rampart.Cli" "$BASE_ART/out" "$BASE_DLL"
    fi
fi

# --- processes: every one started here is stopped at exit, by PID -------------------------------
PIDS=()
RELAY_PID=
stop_pid() { # stop_pid PID: SIGTERM, up to 20 s, then SIGKILL
    local pid=$1 i
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 200; i++)); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    echo "run-daemon: PID $pid ignored SIGTERM for 20 s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do stop_pid "$pid"; done
    [[ -n $RELAY_PID ]] && stop_pid "$RELAY_PID"
    if [[ ${started_lab:-no} == yes ]]; then say "lab/down (this script brought it up)"; timeout 120 lab/down || true; fi
    rm -rf "$WORK"
}

use_lab
trap cleanup EXIT
trap 'exit 130' INT TERM
timeout 20 lab/run dig +short +time=2 +tries=2 "check$RUN.bench.test" MX | grep -q . || die "the lab does not answer: lab/run dig check$RUN.bench.test MX is empty"
timeout 20 lab/run curl -sS -m 5 -o /dev/null "https://mta-sts.check$RUN.bench.test/.well-known/mta-sts.txt" \
    || die "the lab's policy host does not serve *.bench.test"
POLICY_LOG=$RAMPART_LAB_STATE/log/policy-host.log

say "machine"
{
machine_lines
echo "rampart:  $RAMPART_DLL ($(stat -c %y "$RAMPART_DLL" | cut -d. -f1)), tree $(git describe --always --dirty)"
[[ -n $BASE_DLL ]] && echo "base:     $BASE_DLL (BASE=$BASE, $(git log -1 --format='%h %cs' "$BASE"))"
peer_line
echo "lab:      netns $LAB_NAME, state $RAMPART_LAB_STATE; transport $TRANSPORT; run id $RUN; results in $OUT"
echo "load:     $(cut -d' ' -f1-3 /proc/loadavg) (1/5/15 min)"
} | tee "$OUT/machine.txt"

# --- configuration: one postfix-mta-sts-resolver YAML per setup, read by both daemons ------------------
yml() { # yml FILE GRACE CACHE-BLOCK
    local listen
    if [[ $PEER_ADDR == unix:* ]]; then listen="path: ${PEER_ADDR#unix:}"$'\n'"mode: 0666"; else listen="host: 127.0.0.1"$'\n'"port: ${PEER_ADDR##*:}"; fi
    printf '%s\nshutdown_timeout: 5\ncache_grace: %s\n%s\ndefault_zone:\n  strict_testing: false\n  timeout: 4\n' \
        "$listen" "$2" "$3" > "$1"
}
# cache_grace 3600 in main.yml: no entry turns stale during phase a, so its numbers are the cached path alone (with 60,
# as in runs A-D, entries went stale after a minute and their background refreshes ran during the measurements).
yml "$WORK/main.yml" 3600 $'cache:\n  type: internal\n  options:\n    cache_size: 200000'
yml "$WORK/outage.yml" 5 $'cache:\n  type: internal\n  options:\n    cache_size: 200000'
printf 'nameserver %s\noptions trust-ad edns0\n' "$RELAY_IP" > "$WORK/resolv-relay.conf"

cat > "$WORK/digest.py" <<'EOF'
import json, sys
d = json.loads(sys.argv[1])
l = d.get("latency_ms") or {}
f = lambda v: "-" if v is None else f"{v:.3f}"
print(f"  {d['label']}: {d.get('lookups_per_s', 0):.1f} lookups/s, {d.get('answered', 0)} answered in {d.get('wall_s', 0):.2f} s, "
      f"p50 {f(l.get('p50'))} p99 {f(l.get('p99'))} max {f(l.get('max'))} ms, answers {d.get('answers')}, errors {d.get('errors')}, "
      f"server cpu {d['server_cpu_s']} s, exit {d.get('exit')}")
EOF

PID=        # the daemon under test
wait_port() { # wait_port ADDR PID LOG: until ADDR accepts a connection (60 s), or the process died
    local addr=$1 pid=$2 log=$3 i
    for ((i = 0; i < 120; i++)); do
        kill -0 "$pid" 2>/dev/null || { tail -5 "$log"; die "the daemon (PID $pid) exited; log $log"; }
        if [[ $addr == unix:* ]]; then
            "$PEER_PY" -c 'import socket, sys; socket.socket(socket.AF_UNIX).connect(sys.argv[1])' "${addr#unix:}" 2>/dev/null && return 0
        else
            lab/run bash -c "exec 3<>/dev/tcp/${addr%:*}/${addr##*:}" 2>/dev/null && return 0
        fi
        sleep 0.5
    done
    die "nothing listens on $addr after 60 s; log $log"
}
start_rampart() { # start_rampart NAME STATE-DIR RESOLVER [ARGS…]: in the lab netns; sets PID. DLL/ADDR/METRICS: another build
    local name=$1 dir=$2 resolver=$3 log=$OUT/rampart-$1.log dll=${DLL:-$RAMPART_DLL} addr=${ADDR:-$RAMPART_ADDR}
    shift 3
    mkdir -p "$dir"
    local run=(dotnet "$dll")
    [[ $dll == *.dll ]] || run=("$dll") # the native binary
    lab/run env ${RAMPART_ENV:-} "${run[@]}" daemon --listen "$addr" --state-dir "$dir" --metrics "${METRICS:-$METRICS_ADDR}" \
        --resolver "$resolver" "$@" >> "$log" 2>&1 &
    PID=$!
    PIDS+=("$PID")
    wait_port "$addr" "$PID" "$log"
    echo "rampart ($name) PID $PID: ${RAMPART_ENV:+$RAMPART_ENV }${run[*]} daemon --listen $addr --resolver $resolver $*; RSS $(rss "$PID")"
}
start_peer() { # start_peer NAME YML [RESOLV.CONF]: in the lab netns, /etc/resolv.conf bind-mounted when given; sets PID
    local name=$1 yml=$2 resolv=${3:-} log=$OUT/peer-$1.log
    if [[ -n $resolv ]]; then
        lab/run unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf && exec "$2" /usr/bin/mta-sts-daemon -c "$3" -v warn' \
            sh "$resolv" "$PEER_PY" "$yml" >> "$log" 2>&1 &
    else
        lab/run "$PEER_PY" /usr/bin/mta-sts-daemon -c "$yml" -v warn >> "$log" 2>&1 &
    fi
    PID=$!
    PIDS+=("$PID")
    wait_port "$PEER_ADDR" "$PID" "$log"
    echo "peer ($name) PID $PID: mta-sts-daemon -c $(basename "$yml") -v warn${resolv:+ (resolv.conf: nameserver $RELAY_IP)}; RSS $(rss "$PID")"
}
stop_daemon() {
    stop_pid "$PID"
    local kept=() p
    for p in "${PIDS[@]}"; do [[ $p == "$PID" ]] || kept+=("$p"); done
    PIDS=("${kept[@]}")
    PID=
}
rss() { awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } END { printf "%.1f MiB (peak %.1f MiB)", r / 1024, h / 1024 }' "/proc/$1/status" 2>/dev/null || echo "(PID $1 has exited)"; }
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
hwm_kib() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo 0; }
cpu_ticks() { sed 's/^.*) //' "/proc/$1/stat" | awk '{ print $12 + $13 }'; }
fetches() { grep -c "sni=mta-sts.$1 .*GET /.well-known/mta-sts.txt" "$POLICY_LOG" || true; }
record() { # record JSON-OBJECT-TEXT: one line into results.jsonl
    printf '%s\n' "$1" >> "$RESULTS"
}

# load SERVER TEST ADDR ARGS…: one socketmap-load run against the daemon PID; its JSON report plus the daemon's
# CPU seconds during the run go to results.jsonl, a one-line digest to the log.
load() {
    local server=$1 test=$2 addr=$3 before after json rc=0
    shift 3
    before=$(cpu_ticks "$PID")
    json=$(timeout $((TIME_LIMIT + 120)) lab/run "$BENCH" socketmap-load --target "$addr" --label "$server/$test" --json \
        --io "${LOAD_IO:-$IO}" --duration "$TIME_LIMIT" "$@") || rc=$?
    after=$(cpu_ticks "$PID" 2>/dev/null || echo "$before")
    kill -0 "$PID" 2>/dev/null || echo "  WARNING: the daemon (PID $PID) exited during $server/$test; see its log in $OUT"
    [[ -n $json ]] || json='{"label":"'"$server/$test"'","exit":'$rc'}'
    json=$("$PEER_PY" -c 'import json,sys; d=json.loads(sys.argv[1]); d.update(server=sys.argv[2], test=sys.argv[3], server_cpu_s=round(int(sys.argv[4])/int(sys.argv[5]),2), rss_kib=int(sys.argv[6]), load=sys.argv[7]); d.update({"round": int(sys.argv[8])} if sys.argv[8] else {}); print(json.dumps(d))' \
        "$json" "$server" "$test" "$((after - before))" "$(getconf CLK_TCK)" "$(rss_kib "$PID")" "$(cut -d' ' -f1 /proc/loadavg)" "${ROUND:-}")
    record "$json"
    "$PEER_PY" "$WORK/digest.py" "$json"
    return 0
}

# warm KEY: the client-side warm-up arguments: 5 unmeasured lookups of KEY per connection first.
warm() { echo "--warmup 5 --warmup-key $1"; }

# --- z: the ceiling --------------------------------------------------------------------------------------
if [[ " $PHASES " == *" z "* && $IO == epoll ]]; then
    say "z: the ceiling: socketmap-echo (no work at all) on $ECHO_ADDR, the same loads"
    lab/run "$BENCH" socketmap-echo --listen "$ECHO_ADDR" --duration "$TIME_LIMIT" >> "$OUT/echo.log" 2>&1 &
    PID=$!
    PIDS+=("$PID")
    wait_port "$ECHO_ADDR" "$PID" "$OUT/echo.log"
    for c in $CONNS; do
        load ceiling cached-c$c "$ECHO_ADDR" --pattern "c{i}-$RUN.bench.test" --distinct "$CACHED" --connections "$c" --duration "$DURATION" $(warm w.bench.test)
    done
    for r in $PACED_RATES; do
        load ceiling paced-c128-r$r "$ECHO_ADDR" --pattern "c{i}-$RUN.bench.test" --distinct "$CACHED" --connections 128 --rate "$r" --duration "$DURATION" $(warm w.bench.test)
    done
    for d in $DEPTHS; do
        load ceiling pipelined-c32-d$d "$ECHO_ADDR" --pattern "c{i}-$RUN.bench.test" --distinct "$CACHED" --connections 32 --depth "$d" --duration "$DURATION" $(warm w.bench.test)
    done
    stop_daemon
fi

servers=(rampart peer)
start_server() { # start_server SERVER NAME (main setup: resolver = Unbound through the lab's resolv.conf)
    if [[ $1 == rampart ]]; then start_rampart "$2" "$WORK/rampart-$2" 127.0.0.1:53 --config "$WORK/main.yml"; else start_peer "$2" "$WORK/main.yml"; fi
}
addr_of() { [[ $1 == rampart ]] && echo "$RAMPART_ADDR" || echo "$PEER_ADDR"; }

# --- a, b, c: one daemon instance per server ------------------------------------------------------
for server in "${servers[@]}"; do
    [[ " $PHASES " =~ \ [abc]\  ]] || break
    addr=$(addr_of "$server")
    say "$server: start (main.yml: internal cache of 200000, cache_grace 3600 s)"
    start_server "$server" main
    if [[ " $PHASES " == *" a "* ]]; then
        say "$server a: fill $CACHED domains c{i}-$RUN.bench.test (cold, 32 connections), then cached load at connections $CONNS, $DURATION s each"
        load "$server" fill "$addr" --pattern "c{i}-$RUN.bench.test" --count "$CACHED" --connections 32 --timeout 30 --expect OK
        # Not counted: a running daemon has its hot path compiled (.NET tiered JIT); so does the peer's interpreter state.
        load "$server" jit-warmup "$addr" --pattern "c{i}-$RUN.bench.test" --distinct "$CACHED" --connections 32 --duration 5 >/dev/null
        for c in $CONNS; do
            # Looked up once more first (not counted): the same connections' worth of warm decisions for every run.
            load "$server" rewarm-c$c "$addr" --pattern "c{i}-$RUN.bench.test" --count "$CACHED" --connections 32 --expect OK >/dev/null
            load "$server" cached-c$c "$addr" --pattern "c{i}-$RUN.bench.test" --distinct "$CACHED" --connections "$c" --duration "$DURATION" --expect OK $(warm "c0-$RUN.bench.test")
        done
        if [[ $IO == epoll ]]; then
            for r in $PACED_RATES; do
                load "$server" rewarm-paced-r$r "$addr" --pattern "c{i}-$RUN.bench.test" --count "$CACHED" --connections 32 --expect OK >/dev/null
                load "$server" paced-c128-r$r "$addr" --pattern "c{i}-$RUN.bench.test" --distinct "$CACHED" --connections 128 --rate "$r" --duration "$DURATION" --expect OK $(warm "c0-$RUN.bench.test")
            done
            for d in $DEPTHS; do
                load "$server" rewarm-pipelined-d$d "$addr" --pattern "c{i}-$RUN.bench.test" --count "$CACHED" --connections 32 --expect OK >/dev/null
                load "$server" pipelined-c32-d$d "$addr" --pattern "c{i}-$RUN.bench.test" --distinct "$CACHED" --connections 32 --depth "$d" --duration "$DURATION" --expect OK $(warm "c0-$RUN.bench.test")
            done
        fi
    fi
    if [[ " $PHASES " == *" b "* ]]; then
        say "$server b: $COLD distinct new domains k{i}-$RUN.bench.test, cold, $COLD_CONNS connections"
        echo "  RSS before: $(rss "$PID")"
        load "$server" cold "$addr" --pattern "k{i}-$RUN.bench.test" --count "$COLD" --connections "$COLD_CONNS" --timeout 30 --expect OK
        echo "  RSS after:  $(rss "$PID")"
    fi
    if [[ " $PHASES " == *" c "* ]]; then
        domain=burst0-$server-$RUN.bench.test
        say "$server c: $BURST simultaneous first lookups of $domain"
        before=$(fetches "$domain")
        load "$server" burst "$addr" --pattern "burst{i}-$server-$RUN.bench.test" --first 0 --distinct 1 --count "$BURST" --connections "$BURST" --timeout 30 --expect OK
        sleep 2   # a fetch still running in the background after the answers
        n=$(( $(fetches "$domain") - before ))
        metric=
        if [[ $server == rampart ]]; then
            metric=$(lab/run curl -s -m 5 "http://$METRICS_ADDR/metrics" | awk '/^rampart_policy_fetches_total/ { s += $2 } END { print s + 0 }')
            echo "  rampart /metrics rampart_policy_fetches_total (whole daemon life): $metric"
        fi
        echo "  policy fetches of mta-sts.$domain at the lab's policy host: $n"
        record "{\"server\":\"$server\",\"test\":\"burst-fetches\",\"domain\":\"$domain\",\"fetches\":$n,\"lookups\":$BURST${metric:+,\"metrics_fetches_total\":$metric}}"
    fi
    say "$server: stop (RSS $(rss "$PID"))"
    stop_daemon
done

# --- d: DNS outage with cached policies -----------------------------------------------------------------
if [[ " $PHASES " == *" d "* ]]; then
    say "d: DNS relay on $RELAY_IP:53 -> Unbound (benchmarks/peer/dns_relay.py)"
    lab/run "$PEER_PY" benchmarks/peer/dns_relay.py --listen "$RELAY_IP" --upstream 127.0.0.1 >> "$OUT/dns-relay.log" 2>&1 &
    RELAY_PID=$!
    sleep 1
    kill -0 "$RELAY_PID" 2>/dev/null || die "dns_relay.py did not start: $(cat "$OUT/dns-relay.log")"
    for server in "${servers[@]}"; do
        addr=$(addr_of "$server")
        say "$server d: outage.yml (cache_grace 5 s), resolver = the relay; fill $OUTAGE domains o{i}-$server-$RUN.bench.test"
        if [[ $server == rampart ]]; then
            start_rampart outage "$WORK/rampart-outage" "$RELAY_IP:53" --config "$WORK/outage.yml"
        else
            start_peer outage "$WORK/outage.yml" "$WORK/resolv-relay.conf"
        fi
        load "$server" outage-fill "$addr" --pattern "o{i}-$server-$RUN.bench.test" --count "$OUTAGE" --connections 20 --timeout 30 --expect OK
        # j{i}: a second cached set, looked up (not counted) before each measurement so that the code path being
        # measured has run before (JIT); the outage measurement itself only asks for o{i}.
        load "$server" outage-fill-j "$addr" --pattern "j{i}-$server-$RUN.bench.test" --count 100 --connections 20 --timeout 30 --expect OK >/dev/null
        sleep 7   # past cache_grace (5 s): every cached entry now wants a refresh
        load "$server" outage-jit-warmup "$addr" --pattern "j{i}-$server-$RUN.bench.test" --count 50 --connections 10 --timeout 30 --expect OK >/dev/null
        kill -USR1 "$RELAY_PID"; sleep 0.2
        say "$server d: resolver unresponsive; $OUTAGE cached domains, $OUTAGE_CONNS connections"
        load "$server" outage "$addr" --pattern "o{i}-$server-$RUN.bench.test" --count "$OUTAGE" --connections "$OUTAGE_CONNS" --timeout 60 --expect OK $(warm "j0-$server-$RUN.bench.test")
        if [[ $server == rampart ]]; then
            say "rampart d: restarted during the outage (in-memory decisions gone, SQLite policy store kept)"
            stop_daemon
            start_rampart outage-restarted "$WORK/rampart-outage" "$RELAY_IP:53" --config "$WORK/outage.yml"
            load "$server" outage-restarted-jit-warmup "$addr" --first 50 --pattern "j{i}-$server-$RUN.bench.test" --count 50 --connections 10 --timeout 60 --expect OK >/dev/null
            load "$server" outage-restarted "$addr" --pattern "o{i}-$server-$RUN.bench.test" --count "$OUTAGE" --connections "$OUTAGE_CONNS" --timeout 60 --expect OK $(warm "j0-$server-$RUN.bench.test")
        fi
        kill -USR2 "$RELAY_PID"
        stop_daemon
    done
    stop_pid "$RELAY_PID"; RELAY_PID=
fi

# --- e: RSS with BIG cached policies ------------------------------------------------------------------------
if [[ " $PHASES " == *" e "* ]]; then
    now_ms=$(($(date +%s) * 1000)); now_s=$(date +%s)
    # Rampart: its own defaults (no --config: decision cache of 100000, SQLite store in --state-dir).
    say "rampart e: seed one real policy (p0-$RUN.bench.test), copy it to $BIG domains in Rampart's SQLite store"
    dir=$WORK/rampart-big
    start_rampart big-seed "$dir" 127.0.0.1:53
    load rampart big-seed "$RAMPART_ADDR" --pattern "p{i}-$RUN.bench.test" --count 1 --connections 1 --timeout 30 --expect OK
    stop_daemon
    db=$dir/policy-cache.sqlite
    sqlite3 "$db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $BIG - 1)
        INSERT INTO mta_sts_policy (domain, policy_id, policy_text, fetched_ms, expires_ms, checked_ms)
        SELECT 'p' || i || '-$RUN.bench.test', policy_id, policy_text, $now_ms, expires_ms - fetched_ms + $now_ms, $now_ms
        FROM n, (SELECT * FROM mta_sts_policy WHERE domain = 'p0-$RUN.bench.test');"
    echo "  rows: $(sqlite3 "$db" 'SELECT count(*) FROM mta_sts_policy'), file $(du -h "$db" | cut -f1)"
    start_rampart big "$dir" 127.0.0.1:53
    echo "  RSS after start: $(rss "$PID")"
    load rampart big "$RAMPART_ADDR" --pattern "p{i}-$RUN.bench.test" --count "$BIG" --connections "$BIG_CONNS" --timeout 30 --expect OK
    sleep 5   # background refreshes finish
    echo "  RSS after $BIG lookups: $(rss "$PID")"
    record "{\"server\":\"rampart\",\"test\":\"rss-big\",\"policies\":$BIG,\"rss_kib\":$(rss_kib "$PID"),\"hwm_kib\":$(hwm_kib "$PID")}"
    # Each lookup answered from the policy cache queued a background refresh (at most 8 run at once): wait until the
    # daemon's CPU is idle (under 0.1 s in 5 s, at most 600 s), then look every domain up again: the hits are the
    # decisions it keeps, the RSS what keeping them costs.
    for ((i = 0; i < 120; i++)); do t0=$(cpu_ticks "$PID"); sleep 5; (( $(cpu_ticks "$PID") - t0 < $(getconf CLK_TCK) / 10 )) && break; done
    echo "  RSS once the background refreshes are done ($((i * 5 + 5)) s): $(rss "$PID")"
    load rampart big-again "$RAMPART_ADDR" --pattern "p{i}-$RUN.bench.test" --count "$BIG" --connections "$BIG_CONNS" --timeout 30 --expect OK
    hits() { lab/run curl -s -m 5 "http://$METRICS_ADDR/metrics" | awk '$1 == "rampart_decision_cache_total{result=\"hit\"}" { print $2 }'; }
    echo "  RSS after $BIG more lookups ($(hits) answered from the decision cache): $(rss "$PID")"
    record "{\"server\":\"rampart\",\"test\":\"rss-big-decided\",\"policies\":$BIG,\"hits\":$(hits),\"rss_kib\":$(rss_kib "$PID"),\"hwm_kib\":$(hwm_kib "$PID")}"
    # The first proactive sweep (a minute after start) reads every valid policy of the store: what it leaves behind.
    sweeps() { lab/run curl -s -m 5 "http://$METRICS_ADDR/metrics" | awk '$1 == "rampart_proactive_refresh_total{result=\"sweep\"}" { print $2 }'; }
    for ((i = 0; i < 180; i++)); do (( $(sweeps || echo 0) >= 1 )) && break; sleep 1; done
    sleep 5
    echo "  RSS after the first proactive sweep ($(sweeps) sweeps): $(rss "$PID")"
    record "{\"server\":\"rampart\",\"test\":\"rss-big-swept\",\"policies\":$BIG,\"rss_kib\":$(rss_kib "$PID"),\"hwm_kib\":$(hwm_kib "$PID")}"
    stop_daemon

    # The peer: its SQLite cache (the Debian default), cache_grace 3600 so every lookup is a cache read.
    say "peer e: seed one real policy, copy it to $BIG domains in the peer's SQLite cache"
    mkdir -p "$WORK/peer-big"
    yml "$WORK/big.yml" 3600 "$(printf 'cache:\n  type: sqlite\n  options:\n    filename: "%s"' "$WORK/peer-big/cache.db")"
    start_peer big-seed "$WORK/big.yml"
    load peer big-seed "$PEER_ADDR" --pattern "p{i}-$RUN.bench.test" --count 1 --connections 1 --timeout 30 --expect OK
    stop_daemon
    sqlite3 "$WORK/peer-big/cache.db" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $BIG - 1)
        INSERT INTO sts_policy_cache (domain, ts, pol_id, pol_body)
        SELECT 'p' || i || '-$RUN.bench.test', $now_s, pol_id, pol_body FROM n, (SELECT * FROM sts_policy_cache WHERE domain = 'p0-$RUN.bench.test');"
    echo "  rows: $(sqlite3 "$WORK/peer-big/cache.db" 'SELECT count(*) FROM sts_policy_cache'), file $(du -h "$WORK/peer-big/cache.db" | cut -f1)"
    start_peer big "$WORK/big.yml"
    echo "  RSS after start: $(rss "$PID")"
    load peer big "$PEER_ADDR" --pattern "p{i}-$RUN.bench.test" --count "$BIG" --connections "$BIG_CONNS" --timeout 30 --expect OK
    echo "  RSS after $BIG lookups: $(rss "$PID")"
    record "{\"server\":\"peer\",\"test\":\"rss-big\",\"policies\":$BIG,\"rss_kib\":$(rss_kib "$PID"),\"hwm_kib\":$(hwm_kib "$PID")}"
    stop_daemon
fi

# --- t: the tail with a thread-per-connection blocking client ---------------------------------------------
if [[ " $PHASES " == *" t "* ]]; then
    tail_servers=(ceiling ${BASE_DLL:+rampart-base} rampart peer)
    declare -A TAIL_PID TAIL_ADDR=([ceiling]=$ECHO_ADDR [rampart-base]=$BASE_ADDR [rampart]=$RAMPART_ADDR [peer]=$PEER_ADDR)
    say "t: the tail: ${tail_servers[*]} all started; blocking client at $TAIL_CONNS connections, $TAIL_ROUNDS rounds, interleaved"
    lab/run "$BENCH" socketmap-echo --listen "$ECHO_ADDR" --duration 3600 >> "$OUT/echo-tail.log" 2>&1 &
    PID=$!; PIDS+=("$PID"); TAIL_PID[ceiling]=$PID
    wait_port "$ECHO_ADDR" "$PID" "$OUT/echo-tail.log"
    if [[ -n $BASE_DLL ]]; then
        DLL=$BASE_DLL ADDR=$BASE_ADDR METRICS=$BASE_METRICS_ADDR start_rampart tail-base "$WORK/rampart-tail-base" 127.0.0.1:53 --config "$WORK/main.yml"
        TAIL_PID[rampart-base]=$PID
    fi
    start_rampart tail "$WORK/rampart-tail" 127.0.0.1:53 --config "$WORK/main.yml"; TAIL_PID[rampart]=$PID
    start_peer tail "$WORK/main.yml"; TAIL_PID[peer]=$PID
    for server in "${tail_servers[@]}"; do
        PID=${TAIL_PID[$server]}
        [[ $server == ceiling ]] || load "$server" tail-fill "${TAIL_ADDR[$server]}" --pattern "t{i}-$RUN.bench.test" --count "$CACHED" --connections 32 --timeout 30 --expect OK
        LOAD_IO=blocking load "$server" tail-jit-warmup "${TAIL_ADDR[$server]}" --pattern "t{i}-$RUN.bench.test" --distinct "$CACHED" --connections 32 --duration 5 >/dev/null
    done
    for ((round = 1; round <= TAIL_ROUNDS; round++)); do
        say "t: round $round of $TAIL_ROUNDS"
        # Each round starts with another server, so no server always follows the same one.
        order=("${tail_servers[@]:$(( (round - 1) % ${#tail_servers[@]} ))}" "${tail_servers[@]:0:$(( (round - 1) % ${#tail_servers[@]} ))}")
        for c in $TAIL_CONNS; do
            for server in "${order[@]}"; do
                PID=${TAIL_PID[$server]}
                expect=--expect\ OK; [[ $server == ceiling ]] && expect=
                ROUND=$round LOAD_IO=blocking load "$server" tail-blocking-c$c "${TAIL_ADDR[$server]}" --pattern "t{i}-$RUN.bench.test" --distinct "$CACHED" \
                    --connections "$c" --duration "$TAIL_DURATION" $expect $(warm "t0-$RUN.bench.test")
            done
        done
        if [[ $TAIL_EPOLL == 1 ]]; then
            for server in "${order[@]}"; do
                PID=${TAIL_PID[$server]}
                expect=--expect\ OK; [[ $server == ceiling ]] && expect=
                ROUND=$round LOAD_IO=epoll load "$server" tail-epoll-c32 "${TAIL_ADDR[$server]}" --pattern "t{i}-$RUN.bench.test" --distinct "$CACHED" \
                    --connections 32 --duration "$TAIL_DURATION" $expect $(warm "t0-$RUN.bench.test")
            done
        fi
    done
    for server in "${tail_servers[@]}"; do PID=${TAIL_PID[$server]}; say "$server: stop (RSS $(rss "$PID"))"; stop_daemon; done
fi

# --- summary ------------------------------------------------------------------------------------------
say "summary (raw numbers: $RESULTS)"
"$PEER_PY" - "$RESULTS" <<'EOF' | tee "$OUT/summary.txt"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {(r["server"], r["test"]): r for r in rows}
def get(s, t):
    return by.get((s, t))
def lat(r, k):
    v = ((r or {}).get("latency_ms") or {}).get(k)
    return "-" if v is None else (f"{v:.3f}" if v < 10 else f"{v:.0f}")
def rate(r):
    return "-" if not r or "lookups_per_s" not in r else f"{r['lookups_per_s']:.0f}"
def errs(r):
    if not r: return "-"
    bad = sum((r.get("errors") or {}).values()) + sum(v for k, v in (r.get("answers") or {}).items() if k != "OK")
    return str(bad)
def cpu(r):
    return "-" if not r or not r.get("answered") else f"{1e6 * r['server_cpu_s'] / r['answered']:.0f}"
head = "lookups/s  p50 ms  p99 ms  max ms not-OK cpu/lkp"
cols = [s for s in ("ceiling", "rampart", "peer") if any(r["server"] == s for r in rows)]
names = {"ceiling": "ceiling (socketmap-echo)", "rampart": "rampart", "peer": "postfix-mta-sts-resolver"}
skip = ("rewarm", "warmup", "fill-j", "burst-fetches", "rss-big", "big-seed")
tests = [t for t in dict.fromkeys(r["test"] for r in rows) if not any(k in t for k in skip) and not t.startswith("tail")]
if tests:
    print(f"{'':<22}" + "".join(f"{names[s]:<52}" for s in cols))
    print(f"{'measurement':<22}" + "".join(f"{head:<52}" for s in cols) + "load")
for t in tests:
    cells = []
    for s in cols:
        r = get(s, t)
        cells.append(f"{rate(r):>9} {lat(r,'p50'):>7} {lat(r,'p99'):>7} {lat(r,'max'):>7} {errs(r):>6} {cpu(r):>7}" if r else f"{'-':>9}")
    loads = "/".join(str(get(s, t)["load"]) for s in cols if get(s, t))
    print(f"{t:<22}" + "".join(f"{c:<52}" for c in cells) + loads)
if tests:
    print("cpu/lkp = the server's CPU time (user+sys) per answered lookup, in microseconds; load = 1-min load average after the run")
for s in ("rampart", "peer"):
    r = get(s, "burst-fetches")
    if r: print(f"burst: {s}: {r['lookups']} simultaneous first lookups of {r['domain']} -> {r['fetches']} policy fetches")
for s in ("rampart", "peer"):
    r = get(s, "rss-big")
    if r: print(f"rss: {s}: {r['policies']} cached policies, after as many lookups: RSS {r['rss_kib']/1024:.1f} MiB (peak {r['hwm_kib']/1024:.1f} MiB)")
for s in ("rampart", "peer"):
    for t in ("cold",):
        r = get(s, t)
        if r: print(f"cold: {s}: {r.get('answered')} lookups in {r.get('wall_s')} s, server cpu {r['server_cpu_s']} s, RSS after {r['rss_kib']/1024:.1f} MiB")
c32 = (get("rampart", "cached-c32"), get("peer", "cached-c32"))
if all(c32) and c32[1].get("lookups_per_s"):
    print(f"cached throughput at 32 connections: rampart / peer = {c32[0]['lookups_per_s'] / c32[1]['lookups_per_s']:.2f}x (target >= 5x)")
    ceiling = get("ceiling", "cached-c32")
    if ceiling:
        print(f"  the ceiling (a server doing no work) / peer = {ceiling['lookups_per_s'] / c32[1]['lookups_per_s']:.2f}x: the most any daemon can show on this machine")
for t in sorted(t for t in tests if t.startswith("pipelined-c32")):
    pipe = (get("rampart", t), get("peer", t))
    if all(pipe) and pipe[1].get("lookups_per_s"):
        print(f"{t} (requests in flight per connection; not Postfix's pattern): rampart / peer = {pipe[0]['lookups_per_s'] / pipe[1]['lookups_per_s']:.2f}x")
for s in ("ceiling", "rampart", "peer"):
    r = get(s, "cached-c128")
    if r: print(f"p99 at 128 connections, closed loop (saturated: p99 ~ queue / throughput): {s} {lat(r,'p99')} ms (target < 1 ms)")
    for t in sorted(t for t in tests if t.startswith("paced-c128")):
        r = get(s, t)
        if r: print(f"p99 at 128 connections, paced {t.split('-r')[-1]}/s: {s} {lat(r,'p99')} ms, p99.9 {lat(r,'p999')} ms, max {lat(r,'max')} ms (target < 1 ms)")
for t in ("outage", "outage-restarted"):
    for s in ("rampart", "peer"):
        r = get(s, t)
        if r: print(f"{t}: {s}: max {lat(r,'max')} ms, lookups over 5 ms: {r.get('over_5ms')} of {r.get('answered')} (target: none)")
# Phase t: every (server, test) measured in several rounds: the median of each figure, and its range over the rounds.
tail = {}
for r in rows:
    if r["test"].startswith("tail-") and "round" in r:
        tail.setdefault((r["test"], r["server"]), []).append(r)
if tail:
    from statistics import median
    def fig(rs, get):
        vs = sorted(v for v in (get(r) for r in rs) if v is not None)
        if not vs: return "-"
        f = (lambda v: f"{v:,.0f}") if vs[-1] >= 100 else (lambda v: f"{v:.3f}" if v < 10 else f"{v:.1f}")
        return f"{f(median(vs))} ({f(vs[0])}-{f(vs[-1])})" if len(vs) > 1 else f(vs[0])
    tnames = list(dict.fromkeys(t for t, _ in tail))
    snames = [s for s in ("ceiling", "rampart-base", "rampart", "peer") if any(s == k[1] for k in tail)]
    print()
    print("phase t: median (min-max) over rounds; latency in ms; blocking = a thread per connection, one request at a time (Postfix)")
    print(f"{'test':<20}{'server':<14}{'rounds':>6}  {'lookups/s':<26}{'p50':<22}{'p99':<22}{'p99.9':<22}{'max':<22}{'cpu/lkp µs':<22}not-OK")
    for t in tnames:
        for s in snames:
            rs = tail.get((t, s))
            if not rs: continue
            bad = sum(sum((r.get("errors") or {}).values()) + sum(v for k, v in (r.get("answers") or {}).items() if k != "OK") for r in rs if s != "ceiling")
            print(f"{t:<20}{s:<14}{len(rs):>6}  {fig(rs, lambda r: r.get('lookups_per_s')):<26}"
                  + "".join(f"{fig(rs, lambda r, k=k: (r.get('latency_ms') or {}).get(k)):<22}" for k in ("p50", "p99", "p999", "max"))
                  + f"{fig(rs, lambda r: 1e6 * r['server_cpu_s'] / r['answered'] if r.get('answered') else None):<22}" + str(bad))
    for t in tnames:
        meds = {s: median(r["lookups_per_s"] for r in tail[(t, s)]) for s in snames if (t, s) in tail and all("lookups_per_s" in r for r in tail[(t, s)])}
        p99 = {s: median(r["latency_ms"]["p99"] for r in tail[(t, s)]) for s in snames if (t, s) in tail and all((r.get("latency_ms") or {}).get("p99") is not None for r in tail[(t, s)])}
        if "peer" in meds and meds["peer"]:
            print(f"{t}: " + ", ".join(f"{s} {meds[s] / meds['peer']:.2f}x the peer's lookups/s, p99 {p99.get(s, float('nan')):.3f} ms" for s in snames if s in meds and s != "peer")
                  + f" (peer p99 {p99.get('peer', float('nan')):.3f} ms)")
EOF
say "done: $OUT (run.log, results.jsonl, summary.txt, daemon logs)"
