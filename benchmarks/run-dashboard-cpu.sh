#!/usr/bin/env bash
# The dashboard's main page over a report store: per GET /, the wall time and the CPU the server spent on it (utime +
# stime of the `rampart dashboard` process from /proc/PID/stat, read before and after each request), so a GET can be
# judged on a loaded machine where wall times mean little. The first GET pays the JIT.
#
#   benchmarks/run-dashboard-cpu.sh STORE [PORT] [GETS]     # STORE: a SQLite file or a postgres:// URL; PORT default 19411
#   RAMPART_DLL=src/Rampart.Cli/bin/Release/net10.0/rampart.dll benchmarks/run-dashboard-cpu.sh …   # default: that build
#   RAMPART_BIN=.build/native/linux-x64/rampart benchmarks/run-dashboard-cpu.sh …                  # a native binary
set -euo pipefail
cd "$(dirname "$0")/.."
store=${1:?usage: run-dashboard-cpu.sh STORE [PORT] [GETS]} port=${2:-19411} gets=${3:-4}
if [ -n "${RAMPART_BIN:-}" ]; then rampart=("$RAMPART_BIN"); else rampart=(dotnet "${RAMPART_DLL:-src/Rampart.Cli/bin/Release/net10.0/rampart.dll}"); fi
log=$(mktemp /tmp/rampart-dashboard-cpu.XXXXXX)
"${rampart[@]}" dashboard --store "$store" --listen "127.0.0.1:$port" >"$log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 1 1200); do   # up to 5 minutes for start-up on a loaded machine
  curl -s -o /dev/null "http://127.0.0.1:$port/style.css" && break
  kill -0 "$pid" 2>/dev/null || { echo "run-dashboard-cpu.sh: the dashboard exited: $(tail -3 "$log")" >&2; exit 1; }
  sleep 0.25
done
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
for i in $(seq 1 "$gets"); do
  before=$(cpu)
  read -r code wall < <(curl -s -o /dev/null -w '%{http_code} %{time_total}\n' "http://127.0.0.1:$port/")
  after=$(cpu)
  awk -v i="$i" -v c="$code" -v w="$wall" -v a="$before" -v b="$after" -v t="$ticks" \
    'BEGIN { printf "GET / #%d: HTTP %s, %.2f s wall, the server'"'"'s CPU %.2f s\n", i, c, w, (b - a) / t }'
done
