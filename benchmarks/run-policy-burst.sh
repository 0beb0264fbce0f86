#!/usr/bin/env bash
# benchmarks/run-policy-burst.sh LABEL BINARY [ROUNDS]: the RSS of one `rampart daemon` build (native binary or JIT
# apphost) with BIG (default 100,000) policies in its SQLite store, as benchmarks/run-daemon.sh's phase e measures it,
# without building Rampart.Benchmarks first (BENCH: an existing build of it, default /tmp/art-bench/…): after start,
# 5 s after BIG lookups (each answered from the policy store, at most 4,096 background refreshes waiting, the rest
# skipped), once the daemon's CPU is idle, after each of ROUNDS (default 2) more rounds of BIG lookups (how many the
# decision cache answered), and after the first proactive sweep (a minute after start). Run from the repository, root,
# with the lab up (RAMPART_LAB_NAME): everything in the lab's network namespace, the daemon on 127.0.0.1:19610/19611.
# docs/benchmarks.md section 22.
set -euo pipefail
label=$1 bin=$2 rounds=${3:-2} BIG=${BIG:-100000}
BENCH=${BENCH:-/tmp/art-bench/bin/Rampart.Benchmarks/release/Rampart.Benchmarks}
addr=127.0.0.1:19610 metrics=127.0.0.1:19611
RUN=$(printf '%x%x' "$(date +%s)" $$)
dir=$(mktemp -d "/tmp/policy-burst-$label.XXXXXX")
log=$dir/daemon.log
trap 'kill "${PID:-}" 2>/dev/null || true' EXIT # the daemon, if a failure left it running
rss() { awk '/^VmRSS/ { r = $2 } /^VmHWM/ { h = $2 } END { printf "%.1f MiB (peak %.1f MiB)", r / 1024, h / 1024 }' "/proc/$PID/status"; }
cpu_ticks() { sed 's/^.*) //' "/proc/$PID/stat" | awk '{ print $12 + $13 }'; }
metric() { lab/run curl -s -m 10 "http://$metrics/metrics" | awk -v name="$1" '$1 == name { print $2 }'; }
hits() { echo $(( $(metric 'rampart_decision_cache_total{result="hit"}') + $(metric 'rampart_decision_cache_total{result="stale"}') )); }
start() {
  lab/run "$bin" daemon --listen "$addr" --state-dir "$dir" --metrics "$metrics" --resolver 127.0.0.1:53 >>"$log" 2>&1 &
  PID=$!
  for ((i = 0; i < 600; i++)); do lab/run "$BENCH" socketmap-load --target "$addr" --count 1 --pattern "probe{i}.invalid" --timeout 30 >/dev/null 2>&1 && break; sleep 0.5; done
  PID=$(pgrep -f -n -- "--state-dir $dir") # the daemon itself, not lab/run
}
stop() { kill -TERM "$PID"; for ((i = 0; i < 60; i++)); do kill -0 "$PID" 2>/dev/null || break; sleep 0.5; done; }
load() { timeout 900 lab/run "$BENCH" socketmap-load --target "$addr" --io epoll --duration 600 --pattern "p{i}-$RUN.bench.test" --count "$1" --connections 32 --timeout 30 --expect OK --json | tr -d '\n' | cut -c1-300; echo; }
settle() { for ((i = 0; i < 120; i++)); do t0=$(cpu_ticks); sleep 5; (( $(cpu_ticks) - t0 < $(getconf CLK_TCK) / 10 )) && break; done; echo $((i * 5 + 5)); }
echo "# $label $bin  $(date -u +%T) UTC, load $(cut -d' ' -f1-3 /proc/loadavg)"
start; load 1 >/dev/null; stop
now_ms=$(($(date +%s) * 1000))
sqlite3 "$dir/policy-cache.sqlite" "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $BIG - 1)
  INSERT INTO mta_sts_policy (domain, policy_id, policy_text, fetched_ms, expires_ms, checked_ms)
  SELECT 'p' || i || '-$RUN.bench.test', policy_id, policy_text, $now_ms, expires_ms - fetched_ms + $now_ms, $now_ms
  FROM n, (SELECT * FROM mta_sts_policy WHERE domain = 'p0-$RUN.bench.test');"
echo "rows: $(sqlite3 "$dir/policy-cache.sqlite" 'SELECT count(*) FROM mta_sts_policy')"
start
echo "after start: $(rss)"
load "$BIG"
sleep 5
echo "5 s after $BIG lookups: $(rss)"
s=$(settle); echo "once refreshes are done ($s s; skipped $(metric rampart_decision_refreshes_skipped_total)): $(rss)"
for ((r = 1; r <= rounds; r++)); do
  b=$(hits); load "$BIG" >/dev/null; h=$(( $(hits) - b ))
  echo "round $r: $h of $BIG from the decision cache: $(rss)"
  (( h >= BIG )) && break
  s=$(settle); echo "  settled $s s: $(rss)"
done
for ((i = 0; i < 240; i++)); do (( $(metric 'rampart_proactive_refresh_total{result="sweep"}' || echo 0) >= 1 )) && break; sleep 1; done
sleep 5
echo "after the first sweep ($(metric 'rampart_proactive_refresh_total{result="sweep"}') sweeps): $(rss)"
stop
echo "# done $(date -u +%T) UTC, load $(cut -d' ' -f1-3 /proc/loadavg)"
