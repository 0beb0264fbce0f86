#!/usr/bin/env bash
# TLS-RPT Postfix 3.7 log source (docs/benchmarks.md §12): lines/s and CPU of `rampart tlsrpt ingest-log` and of the
# daemon's follower (tlsrpt_reporting.postfix_log) on a synthetic log with DOMAINS distinct domains, and the daemon's
# memory once a day of them is counted. No lab needed; loopback ports 19150-19151.
#   DOMAINS=100000 PER=1 [RAMPART=src/Rampart.Cli/bin/Release/net10.0/rampart] benchmarks/run-tlsrpt-log.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DOMAINS=${DOMAINS:-100000}
PER=${PER:-1}
out=${OUT:-/tmp/rampart-bench-tlsrpt-log}
rm -rf "$out" && mkdir -p "$out"
# RAMPART=path/to/rampart uses a build at hand; otherwise an isolated build (others build the repository too).
R=${RAMPART:-}
if [ -z "$R" ]; then
    dotnet build src/Rampart.Cli -c Release --nologo -v quiet -clp:ErrorsOnly --artifacts-path "$out/art" >/dev/null
    R="$out/art/bin/Rampart.Cli/release/rampart"
fi
python3 benchmarks/tlsrpt_log_generate.py "$DOMAINS" "$PER" "$out/mail.log"
lines=$(wc -l <"$out/mail.log")
echo "log: $lines lines, $(du -m "$out/mail.log" | cut -f1) MiB, $DOMAINS domains x $PER; load $(cut -d' ' -f1-3 /proc/loadavg)"

# 1. ingest-log: the replay path (reader + policy join + SQLite store)
/usr/bin/time -f "%e s wall, %U s user, %S s sys, %M KiB max RSS" "$R" tlsrpt ingest-log --state-dir "$out/ingest" --json "$out/mail.log" \
    >"$out/ingest.json" 2>"$out/ingest.time"
echo "ingest-log: $(cat "$out/ingest.time"); $(python3 -c "import json,sys; j=json.load(open('$out/ingest.json')); print(j['sessions'], 'sessions,', j['counted'], 'counted')")"

# 2. the daemon's follower: the whole log appended at once to the file it follows
: >"$out/follow.log"
cat >"$out/rampart.yml" <<YML
tlsrpt_reporting:
  postfix_log: $out/follow.log
YML
"$R" daemon --config "$out/rampart.yml" --listen 127.0.0.1:19150 --metrics 127.0.0.1:19151 --state-dir "$out/daemon" --resolver 127.0.0.1:9 \
    >"$out/daemon.out" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 200); do grep -q "listening on" "$out/daemon.out" && break; sleep 0.1; done
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
rss() { awk '/^VmRSS/{print $2}' "/proc/$pid/status"; }
sleep 1
rss0=$(rss); cpu0=$(cpu); t0=$(date +%s.%N)
cat "$out/mail.log" >>"$out/follow.log"
read_lines() { curl -s http://127.0.0.1:19151/metrics | awk '/^rampart_tlsrpt_log_lines_total /{print $2}'; }
deadline=$((SECONDS + 1200))
until [ "$(read_lines)" = "$lines" ]; do
    [ $SECONDS -lt $deadline ] || { echo "follower did not catch up: $(read_lines) of $lines"; exit 1; }
    sleep 0.05
done
t1=$(date +%s.%N); cpu1=$(cpu)
hz=$(getconf CLK_TCK)
python3 - "$t0" "$t1" "$cpu0" "$cpu1" "$hz" "$lines" "$rss0" "$(rss)" "$(awk '/^VmHWM/{print $2}' /proc/$pid/status)" <<'PY'
import sys
t0, t1, c0, c1, hz, lines, rss0, rss1, hwm = map(float, sys.argv[1:])
wall, cpu = t1 - t0, (c1 - c0) / hz
print(f"follower: {lines:.0f} lines in {wall:.1f} s = {lines / wall:,.0f} lines/s; CPU {cpu:.1f} s ({cpu / lines * 1e6:.1f} us/line); "
      f"RSS {rss0 / 1024:.0f} MiB idle -> {rss1 / 1024:.0f} MiB after (peak {hwm / 1024:.0f} MiB)")
PY
curl -s http://127.0.0.1:19151/metrics | grep '^rampart_tlsrpt_sessions_total' | sed 's/^/  /'
echo "store: $(du -k "$out/daemon/tlsrpt-sessions.sqlite" | cut -f1) KiB ($(du -k "$out/daemon/tlsrpt-sessions.sqlite-wal" 2>/dev/null | cut -f1 || echo 0) KiB WAL)"
kill $pid; wait $pid 2>/dev/null || true
