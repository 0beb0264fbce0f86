#!/usr/bin/env bash
# benchmarks/run-dane.sh: the DANE measurements (docs/benchmarks.md section 3).
#   1. micro-benchmarks: TlsaMatchBenchmarks (DaneMatcher.Match, TlsaAssociation.Compute), BenchmarkDotNet (MICRO=0 skips);
#   2. lab latency of one domain's sender decision, cold and warm (Rampart.Benchmarks resolve-dane), for each of
#      DOMAINS (default: dane.test, dane-ta.test, and sts-enforce.test as the MTA-STS comparison);
#   3. a reference, not a peer: posttls-finger -c -l dane (Postfix's own DANE lookup + SMTP/STARTTLS handshake +
#      DANE check, one process each), cold and warm, PTF_COUNT runs each (PTF_COUNT=0 skips).
# Cold = `unbound-control flush_zone <domain>` before each lookup (Unbound asks NSD again and re-validates);
# warm = Unbound's cache left warm. Each resolve-dane run is one process: JIT warm-up first, then cold, then warm.
# Uses its own lab instance (netns rampart-dane, state /tmp/rampart-dane-lab) unless RAMPART_LAB_NAME /
# RAMPART_LAB_STATE say otherwise; brings it up when it is down and takes it down again at the end (a running
# instance is left running). Needs root. Everything printed is also written to OUT.
#
#   benchmarks/run-dane.sh                                  # the documented run
#   MICRO=0 REPEAT=20 PTF_COUNT=5 benchmarks/run-dane.sh    # a quick one
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
REPEAT=${REPEAT:-50}                    # cold and warm lookups per domain
WARMUP=${WARMUP:-5}                     # cold + warm lookups first, not counted (JIT)
DOMAINS=${DOMAINS:-"dane.test:dane-only dane-ta.test:dane-only sts-enforce.test:mta-sts"}   # domain:expected decision
PTF_COUNT=${PTF_COUNT:-20}              # posttls-finger runs per mode (0: skip)
PTF_DOMAINS=${PTF_DOMAINS:-dane.test}
MICRO=${MICRO:-1}                       # 1: run TlsaMatchBenchmarks first
BDN_ARTIFACTS=${BDN_ARTIFACTS:-/tmp/rampart-bdn}   # BenchmarkDotNet reports (results/*-report-github.md)
TIME_LIMIT=${TIME_LIMIT:-600}
ART=${ART:-/tmp/art-bench}              # isolated build output: never build in place
OUT=${OUT:-/tmp/rampart-run-dane-$(date -u +%Y%m%dT%H%M%SZ).log}
export RAMPART_LAB_NAME=${RAMPART_LAB_NAME:-rampart-dane}
RAMPART_LAB_STATE=$(realpath -m "${RAMPART_LAB_STATE:-/tmp/rampart-dane-lab}")
export RAMPART_LAB_STATE
BENCH=$ART/bin/Rampart.Benchmarks/release/Rampart.Benchmarks

cd "$REPO"
exec > >(tee "$OUT") 2>&1
say() { printf '\n== %s\n' "$*"; }
die() { echo "run-dane: error: $*" >&2; exit 1; }
source "$(dirname "$0")/lab.sh"
load() { echo "load average (1/5/15 min; the machine may be shared): $(cut -d' ' -f1-3 /proc/loadavg)"; }
(( EUID == 0 )) || die "run as root (the lab uses network namespaces)"

build_release benchmarks/Rampart.Benchmarks "$ART" "$BENCH"

say "machine"
machine_lines
echo "unbound:  $(dpkg-query -W -f '${Version}' unbound 2>/dev/null || echo '?'), nsd $(dpkg-query -W -f '${Version}' nsd 2>/dev/null || echo '?'), postfix $(dpkg-query -W -f '${Version}' postfix 2>/dev/null || echo 'not installed')"
load

status=0
if [[ $MICRO == 1 ]]; then
    say "micro-benchmarks: TlsaMatchBenchmarks"
    echo "\$ (cd /tmp && $BENCH --filter '*TlsaMatch*' --artifacts $BDN_ARTIFACTS)"
    (cd /tmp && timeout 1200 "$BENCH" --filter '*TlsaMatch*' --artifacts "$BDN_ARTIFACTS") || status=1
    load
fi

use_lab
timeout 20 lab/run dig +short +time=2 +tries=2 _25._tcp.mx.dane.test TLSA | grep -q . || die "the lab does not answer: no TLSA at _25._tcp.mx.dane.test"

for entry in $DOMAINS; do
    domain=${entry%%:*} expect=${entry#*:}
    say "rampart resolve-dane: $domain (expect $expect), $REPEAT cold + $REPEAT warm"
    load
    echo "\$ lab/run $BENCH resolve-dane --domain $domain --expect $expect --repeat $REPEAT --warmup $WARMUP --time-limit $TIME_LIMIT"
    timeout $((TIME_LIMIT + 60)) lab/run "$BENCH" resolve-dane --domain "$domain" --expect "$expect" \
        --repeat "$REPEAT" --warmup "$WARMUP" --time-limit "$TIME_LIMIT" || status=1
done

# posttls-finger: one process per run (Postfix's DNS lookups through the lab's resolv.conf with DNSSEC, TLSA, TCP
# connect, EHLO, STARTTLS, TLS handshake, DANE match, QUIT). Timed inside the netns with bash's EPOCHREALTIME, so
# lab/run's own start-up is not included but posttls-finger's process start and main.cf parsing are.
if (( PTF_COUNT > 0 )) && command -v posttls-finger >/dev/null; then
    for domain in $PTF_DOMAINS; do
        say "reference: posttls-finger -c -l dane $domain, $PTF_COUNT cold + $PTF_COUNT warm (includes an SMTP + TLS handshake)"
        load
        # shellcheck disable=SC2016 # expanded by the inner bash
        timeout 600 lab/run bash -c '
            set -uo pipefail
            domain=$1 count=$2 conf=$RAMPART_LAB_STATE/unbound/unbound.conf
            stats() { # nearest-rank p50/p95, max of the numbers on stdin
                sort -n | awk '\''{ v[NR] = $1 } END { p50 = int((NR * 50 + 99) / 100); p95 = int((NR * 95 + 99) / 100);
                    printf "n %d  ms: min %.2f  p50 %.2f  p95 %.2f  max %.2f\n", NR, v[1], v[p50], v[p95], v[NR] }'\''
            }
            once() { # level: prints the milliseconds; fails unless posttls-finger verified the peer
                local t0 t1 out
                t0=$EPOCHREALTIME
                out=$(posttls-finger -c -l "$1" "$domain" 2>&1)
                t1=$EPOCHREALTIME
                grep -q "TLS connection established" <<<"$out" \
                    || { echo "posttls-finger -l $1 $domain failed: $out" >&2; return 1; }
                [[ $1 != dane ]] || grep -q "Matched DANE" <<<"$out" || { echo "no DANE match: $out" >&2; return 1; }
                awk -v a="${t0/./}" -v b="${t1/./}" "BEGIN { printf \"%.3f\\n\", (b - a) / 1000 }"
            }
            for i in 1 2 3; do once dane >/dev/null || exit 1; done   # page cache, Postfix config
            cold=() warm=() enc=()
            for ((i = 0; i < count; i++)); do
                unbound-control -c "$conf" flush_zone "$domain" >/dev/null || exit 1
                ms=$(once dane) || exit 1
                cold+=("$ms")
            done
            once dane >/dev/null || exit 1
            for ((i = 0; i < count; i++)); do ms=$(once dane) || exit 1; warm+=("$ms"); done
            for ((i = 0; i < count; i++)); do ms=$(once encrypt) || exit 1; enc+=("$ms"); done
            echo "cold  -l dane:    $(printf "%s\n" "${cold[@]}" | stats)"
            echo "warm  -l dane:    $(printf "%s\n" "${warm[@]}" | stats)"
            echo "warm  -l encrypt: $(printf "%s\n" "${enc[@]}" | stats)  (no TLSA lookup, no DANE check: the process + SMTP/TLS floor)"
        ' posttls-finger-bench "$domain" "$PTF_COUNT" || status=1
    done
elif (( PTF_COUNT > 0 )); then
    say "reference skipped: posttls-finger not installed (apt-get install postfix)"
fi

load
say "done: log in $OUT; exit status $status"
exit $status
