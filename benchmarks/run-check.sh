#!/usr/bin/env bash
# benchmarks/run-check.sh: `rampart check` on COUNT distinct, never-seen *.bench.test domains in the offline lab, in ONE
# process (`rampart check d1 d2 … --json`): wall time, peak memory (/usr/bin/time -v, maximum resident set size), and
# the statuses it reported. Every domain is fully audited: MX, DNSSEC signatures, the _mta-sts and _smtp._tls TXT
# records, the policy fetch over HTTPS (a lab-CA certificate made on the fly per name), and one STARTTLS probe of the
# MX address. All bench domains share one MX address (mx.bench.test, 127.0.1.40) and `check` allows one connection
# at a time per MX address, so the SMTP probes run one after another: this measures that bound, not the DNS side.
# Bounded: `timeout TIME_LIMIT` around the run (exit 124 when it is hit).
# Uses its own lab instance (netns rampart-check-bench, state /tmp/rampart-check-bench-lab) unless RAMPART_LAB_NAME /
# RAMPART_LAB_STATE say otherwise; brings it up when it is down and takes it down again at the end (a running
# instance is left running). Needs root. Everything printed is also written to OUT.
#
#   benchmarks/run-check.sh                                # the documented run: 1000 domains, --concurrency 16
#   COUNT=100 CONCURRENCY=4 benchmarks/run-check.sh        # a quick one
set -euo pipefail

REPO=$(cd "$(dirname "$0")/.." && pwd)
COUNT=${COUNT:-1000}
CONCURRENCY=${CONCURRENCY:-16}          # rampart check --concurrency (domains at once)
CHECK_TIMEOUT=${CHECK_TIMEOUT:-5}       # rampart check --timeout (per network step)
TIME_LIMIT=${TIME_LIMIT:-900}           # the whole run
ART=${ART:-/tmp/art-check-bench}        # isolated build output: never build in place
OUT=${OUT:-/tmp/rampart-run-check-$(date -u +%Y%m%dT%H%M%SZ).log}
export RAMPART_LAB_NAME=${RAMPART_LAB_NAME:-rampart-check-bench}
RAMPART_LAB_STATE=$(realpath -m "${RAMPART_LAB_STATE:-/tmp/rampart-check-bench-lab}")
export RAMPART_LAB_STATE
RAMPART=$ART/bin/Rampart.Cli/release/rampart
WORK=$(mktemp -d /tmp/rampart-run-check.XXXXXX)

cd "$REPO"
exec > >(tee "$OUT") 2>&1
say() { printf '\n== %s\n' "$*"; }
die() { echo "run-check: error: $*" >&2; exit 1; }
source "$(dirname "$0")/lab.sh"
load() { echo "load average (1/5/15 min; the machine may be shared): $(cut -d' ' -f1-3 /proc/loadavg)"; }
(( EUID == 0 )) || die "run as root (the lab uses network namespaces)"
[[ -x /usr/bin/time ]] || die "/usr/bin/time is missing: apt-get install time"
command -v jq >/dev/null || die "jq is missing: apt-get install jq"
[[ $COUNT =~ ^[0-9]+$ && $COUNT -ge 1 ]] || die "COUNT '$COUNT': must be a positive number"

build_release src/Rampart.Cli/Rampart.Cli.csproj "$ART" "$RAMPART"

say "machine"
machine_lines
load

use_lab
trap 'rm -rf "$WORK"; if [[ $started_lab == yes ]]; then say "lab/down (this script brought it up)"; timeout 120 lab/down || true; fi' EXIT
timeout 20 lab/run dig +short +time=2 +tries=2 mx.bench.test A | grep -q . || die "the lab does not answer: no A at mx.bench.test"

# Fresh names on every run (a tag from the clock), so Unbound has none of them cached.
tag=$(date -u +%H%M%S)
for ((i = 1; i <= COUNT; i++)); do echo "c$tag-$i.bench.test"; done >"$WORK/domains"

say "rampart check: $COUNT distinct *.bench.test domains in one process, --concurrency $CONCURRENCY, --timeout $CHECK_TIMEOUT"
load
echo "\$ timeout $TIME_LIMIT lab/run /usr/bin/time -v $RAMPART check <$COUNT domains: c$tag-1.bench.test …> --json --concurrency $CONCURRENCY --timeout $CHECK_TIMEOUT"
set +e
# shellcheck disable=SC2046 # one argument per domain
timeout "$TIME_LIMIT" lab/run /usr/bin/time -v -o "$WORK/time" "$RAMPART" check $(cat "$WORK/domains") \
    --json --concurrency "$CONCURRENCY" --timeout "$CHECK_TIMEOUT" >"$WORK/report.json" 2>"$WORK/stderr"
rc=$?
set -e
load
echo "exit status: $rc (0 ok, 1 warnings, 2 failures; 124 = TIME_LIMIT hit)"
[[ -s $WORK/time ]] || { cat "$WORK/stderr"; die "no /usr/bin/time output"; }
grep -E 'Elapsed \(wall clock\)|Maximum resident set size|User time|System time|Percent of CPU' "$WORK/time" | sed 's/^\s*/  /'
reports=$(jq 'if type == "array" then length else 1 end' "$WORK/report.json" 2>/dev/null || echo 0)
echo "reports:  $reports of $COUNT"
echo "statuses: $(jq -r 'if type == "array" then . else [.] end | group_by(.status) | map("\(.[0].status) \(length)") | join(", ")' "$WORK/report.json" 2>/dev/null || echo '?')"
echo "findings not ok/info (id: count): $(jq -r '[if type == "array" then .[] else . end | .findings[] | select(.severity == "warning" or .severity == "failure") | .id]
    | group_by(.) | map("\(.[0]): \(length)") | join(", ")' "$WORK/report.json" 2>/dev/null || echo '?')"
wall=$(awk -F': ' '/Elapsed \(wall clock\)/ { print $2 }' "$WORK/time")
seconds=$(awk -v t="$wall" 'BEGIN { n = split(t, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s }')
awk -v n="$reports" -v s="$seconds" 'BEGIN { if (s > 0) printf "rate:     %.1f domains/s (%.1f ms per domain)\n", n / s, 1000 * s / n }'
grep -v '^\s*$' "$WORK/stderr" | head -5 || true
say "done: log in $OUT"
(( rc == 124 )) && exit 1
(( reports == COUNT )) || exit 1
exit 0
