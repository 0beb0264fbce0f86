#!/usr/bin/env bash
# rampart daemon under abuse, on loopback, no lab needed (issue 13, defect 2; docs/benchmarks.md "Connections that do not read"):
#   benchmarks/flood.sh                          # 600 connections that never read, then a 10-minute soak
#   PHASES=flood CONNECTIONS=200 benchmarks/flood.sh
#   PHASES=soak SOAK_SECONDS=60 benchmarks/flood.sh
# Phase flood: benchmarks/nonreading_flood.py opens CONNECTIONS (600) connections that write requests and never read
#   the replies, probes a fresh lookup every 0.25 s, and prints the daemon's RSS before, held and after closing them.
# Phase soak: socketmap-load (--io epoll) paced at SOAK_RATE (1500) lookups/s over SOAK_CONNECTIONS (128) connections
#   for SOAK_SECONDS (600), SOAK_MALFORMED (2) % of the requests malformed (a control character: PERM, the connection
#   stays); the daemon's RSS sampled every 10 s; "flat" = every sample after the first minute within 10 % of the
#   first-minute one.
# The lookups need no DNS (the daemon's resolver is 127.0.0.1:9): keys `[192.0.2.N]` are answered NOTFOUND by the
# socketmap front end without a policy lookup, so this measures the server (connections, framing, buffers, logging),
# not the policy cache (run-daemon.sh does that, in the lab).
# Uses RAMPART_DLL (default: the repository's ./rampart build) and builds Rampart.Benchmarks into ART.
set -euo pipefail
REPO=$(cd "$(dirname "$0")/.." && pwd)
PHASES=${PHASES:-"flood soak"}
CONNECTIONS=${CONNECTIONS:-600}
FLOOD_SECONDS=${FLOOD_SECONDS:-120}
SOAK_SECONDS=${SOAK_SECONDS:-600}
SOAK_RATE=${SOAK_RATE:-1500}
SOAK_CONNECTIONS=${SOAK_CONNECTIONS:-128}
SOAK_MALFORMED=${SOAK_MALFORMED:-2}
PORT=${PORT:-18471}
ART=${ART:-/tmp/art-bench}
WORK=$(mktemp -d /tmp/rampart-flood-XXXXXX)
RAMPART_DLL=${RAMPART_DLL:-}
if [ -z "$RAMPART_DLL" ]; then
    "$REPO/rampart" --version >/dev/null
    RAMPART_DLL=$REPO/.build/cli/rampart.dll
fi
dotnet build "$REPO/benchmarks/Rampart.Benchmarks" -c Release --artifacts-path "$ART" -v q -nologo >/dev/null
B=$ART/bin/Rampart.Benchmarks/release/Rampart.Benchmarks

echo "flood.sh: $(date -u +%FT%TZ); $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(free -g | awk '/Mem:/ {print $2 " GiB"}');" \
     "load average $(cut -d' ' -f1-3 /proc/loadavg); .NET $(dotnet --version); $(git -C "$REPO" rev-parse --short HEAD)"
ulimit -n 65536 2>/dev/null || true
dotnet "$RAMPART_DLL" daemon --listen "127.0.0.1:$PORT" --state-dir "$WORK/state" --resolver 127.0.0.1:9 >"$WORK/daemon.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true; wait $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do grep -q "listening on" "$WORK/daemon.log" && break; sleep 0.2; done
echo "flood.sh: daemon PID $PID: dotnet $RAMPART_DLL daemon --listen 127.0.0.1:$PORT --resolver 127.0.0.1:9; log $WORK/daemon.log"
rss_kib() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

for phase in $PHASES; do
    case $phase in
    flood)
        echo "== flood: $CONNECTIONS connections that never read (bound ${FLOOD_SECONDS} s)"
        timeout $((FLOOD_SECONDS + 120)) python3 "$REPO/benchmarks/nonreading_flood.py" --target "127.0.0.1:$PORT" --pid "$PID" \
            --connections "$CONNECTIONS" --seconds "$FLOOD_SECONDS"
        echo "flood.sh: load average after the flood: $(cut -d' ' -f1-3 /proc/loadavg)"
        ;;
    soak)
        echo "== soak: $SOAK_RATE lookups/s over $SOAK_CONNECTIONS connections for $SOAK_SECONDS s, $SOAK_MALFORMED % malformed"
        "$B" socketmap-load --target "127.0.0.1:$PORT" --io epoll --connections "$SOAK_CONNECTIONS" --rate "$SOAK_RATE" \
            --duration "$SOAK_SECONDS" --pattern '[192.0.2.{i}]' --first 1 --distinct 250 --malformed "$SOAK_MALFORMED" \
            --timeout 10 >"$WORK/soak.txt" 2>&1 &
        LOAD=$!
        samples=()
        for _ in $(seq 1 $((SOAK_SECONDS / 10))); do
            sleep 10
            kill -0 $LOAD 2>/dev/null || break
            samples+=("$(rss_kib "$PID")")
        done
        wait $LOAD || echo "flood.sh: socketmap-load exited $? (see below)"
        cat "$WORK/soak.txt"
        printf '%s\n' "${samples[@]}" | awk -v every=10 '
            { kib[NR] = $1 }
            END {
                if (NR < 7) { print "soak: too few RSS samples (" NR ")"; exit }
                for (i = 1; i <= 6; i++) base += kib[i]; base /= 6
                lo = hi = kib[7]
                for (i = 7; i <= NR; i++) { if (kib[i] < lo) lo = kib[i]; if (kib[i] > hi) hi = kib[i] }
                printf "soak: RSS first minute %.1f MiB; after it min %.1f, max %.1f, last %.1f MiB (%+.1f %% .. %+.1f %%); %s\n",
                    base / 1024, lo / 1024, hi / 1024, kib[NR] / 1024, (lo - base) * 100 / base, (hi - base) * 100 / base,
                    (hi - base) * 100 / base <= 10 && (base - lo) * 100 / base <= 10 ? "flat within 10 %" : "NOT flat within 10 %"
                printf "soak: RSS every %d s (MiB):", every
                for (i = 1; i <= NR; i++) printf " %.0f", kib[i] / 1024
                print ""
            }'
        echo "flood.sh: load average after the soak: $(cut -d' ' -f1-3 /proc/loadavg)"
        ;;
    *) echo "flood.sh: unknown phase '$phase' (flood, soak)" >&2; exit 2 ;;
    esac
done
echo "flood.sh: daemon log lines: $(wc -l < "$WORK/daemon.log") ($(grep -c 'malformed' "$WORK/daemon.log" || true) about malformed requests)"
