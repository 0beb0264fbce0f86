#!/usr/bin/env bash
# benchmarks/run-lab.sh: the side-by-side load run in the offline lab.
#   Rampart.Core's SenderPolicyResolver (Rampart.Benchmarks resolve-lab) and postfix-mta-sts-resolver's
#   STSResolver (benchmarks/peer/sts_resolve_bench.py), each on N fresh *.bench.test domains:
#   1. throughput: COUNT domains at CONCURRENCY (default 1000 at 32);
#   2. latency:    LAT_COUNT domains one at a time (default 200 at 1).
# It uses a lab instance of its own by default (netns rampart-bench, state /tmp/rampart-bench-lab): the
# integration tests bring the shared lab (rampart-lab) up and down as they run, which would cut a load run
# short, and the load would disturb them. RAMPART_LAB_NAME / RAMPART_LAB_STATE choose another instance.
# The instance is brought up when it is down (and taken down again at the end); a running one is left running.
# Needs root (the lab does). Everything printed is also written to OUT (default /tmp/rampart-run-lab-<time>.log).
#
#   benchmarks/run-lab.sh                                         # the documented run
#   COUNT=200 LAT_COUNT=50 benchmarks/run-lab.sh                  # a quick one
#   RAMPART_LAB_NAME=rampart-lab RAMPART_LAB_STATE=$PWD/.lab benchmarks/run-lab.sh   # in the shared lab
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
COUNT=${COUNT:-1000}
CONCURRENCY=${CONCURRENCY:-32}
LAT_COUNT=${LAT_COUNT:-200}
TIME_LIMIT=${TIME_LIMIT:-300}          # each runner stops itself after this many seconds
ART=${ART:-/tmp/art-bench}              # isolated build output: never build in place
OUT=${OUT:-/tmp/rampart-run-lab-$(date -u +%Y%m%dT%H%M%SZ).log}
export RAMPART_LAB_NAME=${RAMPART_LAB_NAME:-rampart-bench}
RAMPART_LAB_STATE=$(realpath -m "${RAMPART_LAB_STATE:-/tmp/rampart-bench-lab}")
export RAMPART_LAB_STATE
LAB_NAME=$RAMPART_LAB_NAME
LAB_STATE=$RAMPART_LAB_STATE
PEER_PY=/usr/bin/python3                # the Debian Python postfix-mta-sts-resolver is installed for
BENCH=$ART/bin/Rampart.Benchmarks/release/Rampart.Benchmarks

cd "$REPO"
exec > >(tee "$OUT") 2>&1
say() { printf '\n== %s\n' "$*"; }
die() { echo "run-lab: error: $*" >&2; exit 1; }
source "$(dirname "$0")/lab.sh"
(( EUID == 0 )) || die "run as root (the lab uses network namespaces)"

# --- prerequisites -----------------------------------------------------------------------------
if ! "$PEER_PY" -c 'import postfix_mta_sts_resolver' 2>/dev/null; then
    say "installing the peer: postfix-mta-sts-resolver (apt)"
    DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y postfix-mta-sts-resolver python3-uvloop >/dev/null
fi
build_release benchmarks/Rampart.Benchmarks "$ART" "$BENCH"

# --- the lab -----------------------------------------------------------------------------------
use_lab
timeout 20 lab/run dig +short +time=2 +tries=2 sts-enforce.test MX | grep -q . || die "the lab does not answer: lab/run dig sts-enforce.test MX is empty"
timeout 20 lab/run curl -sS -m 5 -o /dev/null "https://mta-sts.check$$.bench.test/.well-known/mta-sts.txt" \
    || die "the lab's policy host does not serve *.bench.test"

# --- machine -----------------------------------------------------------------------------------
say "machine"
machine_lines
peer_line
echo "lab:      $(ip netns pids "$LAB_NAME" | wc -l) processes in netns $LAB_NAME"

# CPU seconds (user+sys) used so far by the lab's servers (NSD, Unbound, the policy host): they share the
# two cores with the runner under test, so each run reports what it cost them too.
lab_servers() { # the PIDs of the lab's servers, one line
    local pid comm
    for pid in $(ip netns pids "$LAB_NAME" 2>/dev/null); do
        comm=$(cat "/proc/$pid/comm" 2>/dev/null) || continue
        case $comm in nsd | unbound | Rampart.Lab) printf '%s ' "$pid" ;; esac
    done
}
lab_cpu() { # CPU seconds so far of the PIDs given
    local pid ticks=0 t
    for pid in "$@"; do
        t=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | awk '{ print $12 + $13 }') || continue
        ticks=$((ticks + ${t:-0}))
    done
    awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }'
}
nsd_log=$LAB_STATE/log/nsd.log
rrl_blocks() { grep -c 'ratelimit block' "$nsd_log" 2>/dev/null || true; }

status=0
run() { # run LABEL CMD...
    local label=$1 servers servers_after before after rrl_before rrl_after rc=0
    shift
    say "$label"
    [[ -e /run/netns/$LAB_NAME ]] || { echo "SKIPPED: the lab is down (someone ran lab/down)"; status=1; return; }
    echo "\$ lab/run $*"
    echo "load average before (1/5/15 min; the machine may be shared): $(cut -d' ' -f1-3 /proc/loadavg)"
    servers=$(lab_servers); before=$(lab_cpu $servers); rrl_before=$(rrl_blocks)
    timeout $((TIME_LIMIT + 60)) lab/run "$@" || rc=$?
    servers_after=$(lab_servers); after=$(lab_cpu $servers); rrl_after=$(rrl_blocks)
    if [[ $servers_after != "$servers" ]]; then
        echo "WARNING: the lab's servers changed during this run (PIDs '$servers' -> '$servers_after'): someone restarted the lab; these numbers are void"
        (( rc != 0 )) || rc=1
    else
        echo "lab servers cpu (nsd+unbound+policy host, user+sys, whole run incl. warm-up): $(awk -v a="$after" -v b="$before" 'BEGIN { printf "%.2f", a - b }') s"
    fi
    if [[ -n $rrl_before && -n $rrl_after ]] && (( rrl_after > rrl_before )); then
        echo "WARNING: NSD response rate limiting blocked *.bench.test answers $((rrl_after - rrl_before)) times during this run (see $nsd_log): the lab throttled it"
    fi
    echo "exit status: $rc"
    (( rc == 0 )) || status=1
}

run "rampart: $COUNT domains, concurrency $CONCURRENCY" \
    "$BENCH" resolve-lab --count "$COUNT" --concurrency "$CONCURRENCY" --time-limit "$TIME_LIMIT"
run "postfix-mta-sts-resolver: $COUNT domains, concurrency $CONCURRENCY" \
    "$PEER_PY" benchmarks/peer/sts_resolve_bench.py --count "$COUNT" --concurrency "$CONCURRENCY" --time-limit "$TIME_LIMIT"
if (( LAT_COUNT > 0 )); then
    run "rampart: $LAT_COUNT domains, concurrency 1 (latency)" \
        "$BENCH" resolve-lab --count "$LAT_COUNT" --concurrency 1 --time-limit "$TIME_LIMIT"
    run "postfix-mta-sts-resolver: $LAT_COUNT domains, concurrency 1 (latency)" \
        "$PEER_PY" benchmarks/peer/sts_resolve_bench.py --count "$LAT_COUNT" --concurrency 1 --time-limit "$TIME_LIMIT"
fi

say "done: log in $OUT; exit status $status (1 = some runner reported errors or hit its time limit)"
exit $status
