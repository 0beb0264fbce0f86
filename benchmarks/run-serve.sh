#!/usr/bin/env bash
# rampart serve under load: policy GET throughput (wrk, loopback, keep-alive, TLS) and RSS with N hosted domains.
#   benchmarks/run-serve.sh [DOMAINS=1000] [SECONDS=10] [CONNECTIONS=32]
# Needs: wrk openssl curl util-linux (apt-get install -y wrk openssl curl util-linux), root for `unshare -m`
# (wrk takes SNI from the URL host, so /etc/hosts is bind-mounted with the bench names in a private mount namespace).
# Builds the CLI into /tmp/art-serve-bench (or uses RAMPART_BIN=path/to/rampart); certificates are made once per N in $WORK (one lab-style CA, one leaf each).
set -euo pipefail
N=${1:-1000}; SECONDS_RUN=${2:-10}; CONNECTIONS=${3:-32}
REPO=$(cd "$(dirname "$0")/.." && pwd)
WORK=${RAMPART_BENCH_DIR:-/tmp/rampart-serve-bench}/$N
PORT=${RAMPART_BENCH_PORT:-18443}
for tool in wrk openssl curl unshare; do
    command -v $tool >/dev/null || { echo "run-serve: $tool missing: apt-get install -y wrk openssl curl util-linux" >&2; exit 2; }
done
RAMPART=${RAMPART_BIN:-}   # an already built rampart executable; otherwise built here
if [ -z "$RAMPART" ]; then
    dotnet build "$REPO/src/Rampart.Cli/Rampart.Cli.csproj" -c Release --artifacts-path /tmp/art-serve-bench -v q -nologo >/dev/null
    RAMPART=/tmp/art-serve-bench/bin/Rampart.Cli/release/rampart
fi
mkdir -p "$WORK/live"
if [ ! -f "$WORK/ca.key" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$WORK/ca.key" -out "$WORK/ca.pem" \
        -days 30 -subj "/CN=rampart serve bench CA" 2>/dev/null
fi
{
    echo "domains:"
    for i in $(seq 1 "$N"); do echo "  - {domain: d$i.bench.test, mx: [mx.d$i.bench.test], mode: enforce, max_age: 604800}"; done
    echo "serve:"; echo "  listen: [\"127.0.0.1:$PORT\"]"; echo "  certificates: $WORK/live"
} > "$WORK/publish.yml"
made=0
for i in $(seq 1 "$N"); do
    d="$WORK/live/mta-sts.d$i.bench.test"
    [ -f "$d/fullchain.pem" ] && continue
    mkdir -p "$d"
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$d/privkey.pem" -subj "/CN=mta-sts.d$i.bench.test" 2>/dev/null |
        openssl x509 -req -CA "$WORK/ca.pem" -CAkey "$WORK/ca.key" -days 30 -out "$d/fullchain.pem" \
            -extfile <(printf 'subjectAltName=DNS:mta-sts.d%s.bench.test' "$i") 2>/dev/null
    made=$((made + 1))
done
echo "run-serve: $N domains ($made certificates made now) in $WORK"
"$RAMPART" serve --config "$WORK/publish.yml" --no-reports >"$WORK/serve.log" 2>&1 &
PID=$!
trap 'kill $PID 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do curl -sk -o /dev/null --resolve "mta-sts.d1.bench.test:$PORT:127.0.0.1" "https://mta-sts.d1.bench.test:$PORT/healthz" && break; sleep 0.2; done
rss() { awk '/VmRSS/ {print $2 " kB"}' "/proc/$PID/status"; }
echo "run-serve: RSS after start ($N domains, certificates loaded): $(rss)"
start=$(date +%s.%N)
for i in $(seq 1 "$N"); do
    curl -sk -o /dev/null --cacert "$WORK/ca.pem" --resolve "mta-sts.d$i.bench.test:$PORT:127.0.0.1" "https://mta-sts.d$i.bench.test:$PORT/.well-known/mta-sts.txt" ||
        { echo "run-serve: fetch of d$i failed" >&2; exit 1; }
done
echo "run-serve: one new TLS connection + GET per domain, all $N: $(echo "$(date +%s.%N) - $start" | bc) s (curl process per fetch included)"
echo "run-serve: RSS after every domain served once: $(rss)"
printf '127.0.0.1 mta-sts.d1.bench.test mta-sts.d%s.bench.test\n' "$N" > "$WORK/hosts"
unshare -m sh -c "mount --bind '$WORK/hosts' /etc/hosts && wrk -t2 -c$CONNECTIONS -d${SECONDS_RUN}s --latency https://mta-sts.d$N.bench.test:$PORT/.well-known/mta-sts.txt"
echo "run-serve: RSS after wrk: $(rss)"
