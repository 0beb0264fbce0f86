#!/usr/bin/env bash
# rampart daemon at its connection cap under the open-files limit of the report (issue 13): connections refused per
# second, and the lookups of connections opened before the flood still answered.
#   benchmarks/run-fd-limit.sh [SECONDS=20] [FLOODERS=8] [POSTFIX_CONNECTIONS=8] [NOFILE=1024]
# Needs: python3, util-linux (prlimit). Builds the CLI into /tmp/art-fd-limit (or uses RAMPART_DLL=path/to/rampart.dll).
set -euo pipefail
SECONDS_RUN=${1:-20}; FLOODERS=${2:-8}; POSTFIX=${3:-8}; NOFILE=${4:-1024}
REPO=$(cd "$(dirname "$0")/.." && pwd)
PORT=${RAMPART_BENCH_PORT:-18461}; METRICS=$((PORT + 1000))
DLL=${RAMPART_DLL:-}
if [ -z "$DLL" ]; then
    dotnet build "$REPO/src/Rampart.Cli/Rampart.Cli.csproj" -c Release --artifacts-path /tmp/art-fd-limit -v q -nologo >/dev/null
    DLL=/tmp/art-fd-limit/bin/Rampart.Cli/release/rampart.dll
fi
STATE=$(mktemp -d)
prlimit --nofile="$NOFILE:$NOFILE" dotnet "$DLL" daemon --listen "127.0.0.1:$PORT" --metrics "127.0.0.1:$METRICS" \
    --state-dir "$STATE" --resolver 127.0.0.1:9 > "$STATE/daemon.log" 2>&1 &
DAEMON=$!
trap 'kill $DAEMON 2>/dev/null; wait $DAEMON 2>/dev/null; rm -rf "$STATE"' EXIT
for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$METRICS/metrics" >/dev/null && break; sleep 0.1; done
head -1 "$STATE/daemon.log"
python3 "$REPO/benchmarks/fd_limit_flood.py" "$PORT" "$METRICS" "$SECONDS_RUN" "$FLOODERS" "$POSTFIX"
kill -0 $DAEMON && echo "daemon alive; RSS $(awk '/VmRSS/ {print $2, $3}' /proc/$DAEMON/status), $(ls /proc/$DAEMON/fd | wc -l) descriptors open"
echo "warn lines: $(grep -c ' warn listener: ' "$STATE/daemon.log")"; grep ' warn listener: ' "$STATE/daemon.log" | tail -1
