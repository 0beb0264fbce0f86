#!/usr/bin/env bash
# First-lookup latency (docs/benchmarks.md section 16): one fresh `rampart resolve` process (its caches empty) against
# postfix-mta-sts-resolver's `mta-sts-query`, for sts-enforce.test, nosts.test and dane.test, with every DNS query held
# 0 ms and then 50 ms by benchmarks/dns_delay_relay.py (127.0.0.5:53) in front of the lab's Unbound, whose cache is
# warmed first (one untimed run of each tool per domain), so each query costs the relay's delay. Wall time per run, median
# of RUNS (default 5), and per run the DNS round trips in sequence counted from the relay's log (longest chain of queries
# each asked after the one before was answered; at 0 ms a chain link needs no delay, so the count is only meaningful at 50),
# and the CPU time (user + system) the run's processes used, median of the runs: on a loaded machine the wall time is
# mostly waiting for a core, the CPU time is not.
#   lab/up && lab/run benchmarks/run-first-lookup.sh [RAMPART] [RUNS]      (DELAYS="50": only that delay)
# RAMPART: the rampart executable (default: the JIT build tests/Rampart.Cli.Tests/bin/Release/net10.0/rampart).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "${RAMPART_LAB:-}" = 1 ] || { echo "run-first-lookup.sh: run it inside the lab: lab/run benchmarks/run-first-lookup.sh" >&2; exit 2; }
rampart=${1:-$PWD/tests/Rampart.Cli.Tests/bin/Release/net10.0/rampart} runs=${2:-5}
command -v mta-sts-query >/dev/null || { echo "run-first-lookup.sh: mta-sts-query missing: apt-get install postfix-mta-sts-resolver" >&2; exit 2; }
work=$(mktemp -d) relay=
trap '[ -n "$relay" ] && kill "$relay" 2>/dev/null; rm -rf "$work"' EXIT
echo "nameserver 127.0.0.5" > "$work/resolv.conf"
wall() { # wall COMMAND... -> ms (wall); the CPU ms of COMMAND and its children go to the file $work/cpu
  local t0 t1 c0; times > "$work/times"; c0=$(cpu_ms); t0=$(date +%s%N); "$@" >/dev/null 2>&1 || true; t1=$(date +%s%N)
  times > "$work/times"; echo $(($(cpu_ms) - c0)) > "$work/cpu"; echo $(((t1 - t0) / 1000000))
}
# cpu_ms: the CPU (user + system, ms) of the waited-for children of the shell that wrote $work/times with `times`
# (that shell itself: a forked subshell starts its children's count at zero, so wall is never called inside $(…)).
cpu_ms() { awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, "m"); t += a[1] * 60000 + a[2] * 1000 } printf "%d\n", t }' "$work/times"; }
# rounds LOG FROM: the longest chain of queries (relay log lines from line FROM) each of which arrived after the one before
# it was answered: the DNS round trips made in sequence, from the relay's own clock.
rounds() {
  tail -n +"$2" "$1" | python3 -c '
import sys
q = sorted((float(a), float(b)) for a, b, *_ in (l.split() for l in sys.stdin if l[0].isdigit()))
n = [1] * len(q)
for i in range(len(q)):
    n[i] = 1 + max([n[j] for j in range(i) if q[j][1] <= q[i][0]] or [0])
print(max(n or [0]))'
}
peer() { unshare -m sh -c 'mount --bind "$1" /etc/resolv.conf && exec mta-sts-query "$2"' sh "$work/resolv.conf" "$1"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
echo "# $(date -u '+%F %T') UTC, load $(cut -d' ' -f1-3 /proc/loadavg), $runs runs each, rampart $rampart"
for delay in ${DELAYS:-0 50}; do
  python3 benchmarks/dns_delay_relay.py 127.0.0.5 "$delay" --seconds 900 > "$work/relay-$delay.log" 2> "$work/relay.err" &
  relay=$!
  for ((i = 0; i < 300; i++)); do grep -q relaying "$work/relay.err" && break; sleep 0.1; done # listening (at most 30 s)
  for domain in sts-enforce.test nosts.test dane.test; do
    wall "$rampart" resolve "$domain" --resolver 127.0.0.5 >/dev/null; wall peer "$domain" >/dev/null # warm Unbound
    r=() p=() rr=() pr=() rc=() pc=()
    for ((i = 0; i < runs; i++)); do
      from=$(($(wc -l < "$work/relay-$delay.log") + 1)); wall "$rampart" resolve "$domain" --resolver 127.0.0.5 > "$work/ms"; r+=("$(cat "$work/ms")") rc+=("$(cat "$work/cpu")")
      sleep 0.5; rr+=("$(rounds "$work/relay-$delay.log" "$from")") # queries left in flight at exit are logged too
      from=$(($(wc -l < "$work/relay-$delay.log") + 1)); wall peer "$domain" > "$work/ms"; p+=("$(cat "$work/ms")") pc+=("$(cat "$work/cpu")")
      sleep 0.5; pr+=("$(rounds "$work/relay-$delay.log" "$from")")
    done
    printf '%s ms/query  %-17s rampart resolve %5s ms (%s; rounds %s; CPU %s ms)   mta-sts-query %5s ms (%s; rounds %s; CPU %s ms)\n' "$delay" "$domain" \
      "$(printf '%s\n' "${r[@]}" | median)" "${r[*]}" "${rr[*]}" "$(printf '%s\n' "${rc[@]}" | median)" \
      "$(printf '%s\n' "${p[@]}" | median)" "${p[*]}" "${pr[*]}" "$(printf '%s\n' "${pc[@]}" | median)"
  done
  kill "$relay"; wait "$relay" 2>/dev/null || true; relay=
done
echo "# done $(date -u '+%T') UTC, load $(cut -d' ' -f1-3 /proc/loadavg)"
