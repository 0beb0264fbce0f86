#!/usr/bin/env bash
# TLS-RPT datagram intake: `rampart daemon` with tlsrpt_reporting.datagram_socket, fed libtlsrpt's datagrams by
# Rampart.Benchmarks tlsrpt-datagrams (DatagramLoad.cs). Three bounded phases against one daemon:
#   1. capacity: 4 blocking senders for DURATION s (results/s sustained, collector CPU per result);
#   2. Postfix's way: MSG_DONTWAIT at 2,000 datagrams/s for DURATION s (must lose none: refused 0, all stored);
#   3. MSG_DONTWAIT at 20,000 datagrams/s for DURATION s (what a full queue costs at the target rate).
# Prints one line per phase and the store's size; the daemon's state is a temporary directory.
#
#   benchmarks/run-tlsrpt-datagrams.sh [DURATION]        (default 20 s per phase)
#   ARTIFACTS=/tmp/art-x benchmarks/run-tlsrpt-datagrams.sh
#   DOMAINS=100000 benchmarks/run-tlsrpt-datagrams.sh     (report domains of the load; default 1,000)
#   STORE=postgres benchmarks/run-tlsrpt-datagrams.sh   (the fleet's store: the daemon adds into a throw-away
#                                                          PostgreSQL, benchmarks/pg_temp.sh; CPU per result is then the
#                                                          daemon's and the server's)
#   QLEN=512 benchmarks/run-tlsrpt-datagrams.sh           (root: the run in a network namespace of its own whose
#                                                          net.unix.max_dgram_qlen is QLEN, as systemd sets it; the
#                                                          host's value stays as it is)
#   NO_BUILD=1 ARTIFACTS=DIR ...                     (use what DIR/bin/{Rampart.Cli,Rampart.Benchmarks}/release hold)
set -euo pipefail
cd "$(dirname "$0")/.."
duration=${1:-20}
artifacts=${ARTIFACTS:-/tmp/rampart-bench-datagrams}
if [ -z "${IN_NETNS:-}" ]; then
  if [ -z "${NO_BUILD:-}" ]; then
    dotnet build src/Rampart.Cli/Rampart.Cli.csproj -c Release --nologo -v quiet -clp:ErrorsOnly --artifacts-path "$artifacts" >&2
    dotnet build benchmarks/Rampart.Benchmarks -c Release --nologo -v quiet -clp:ErrorsOnly --artifacts-path "$artifacts" >&2
  fi
  if [ -n "${QLEN:-}" ]; then
    exec unshare -n env IN_NETNS=1 ARTIFACTS="$artifacts" bash -c \
      "ip link set lo up && sysctl -qw net.unix.max_dgram_qlen=$QLEN && exec '$0' '$duration'"
  fi
fi
bench="$artifacts/bin/Rampart.Benchmarks/release/Rampart.Benchmarks"
work=$(mktemp -d /tmp/rampart-datagrams.XXXXXX)
port=$((20000 + RANDOM % 20000)) metrics=$((40000 + RANDOM % 20000))
store_yml=""
if [ "${STORE:-sqlite}" = postgres ]; then
  . benchmarks/pg_temp.sh
  store_yml="  store: $PG_URL
  host: bench"
fi
cat > "$work/rampart.yml" <<YML
listen: 127.0.0.1:$port
metrics: 127.0.0.1:$metrics
state_dir: $work/state
tlsrpt_reporting:
  datagram_socket: $work/tlsrpt.sock
$store_yml
YML
dotnet "$artifacts/bin/Rampart.Cli/release/rampart.dll" daemon --config "$work/rampart.yml" --resolver 127.0.0.1:9 > "$work/daemon.log" 2>&1 &
daemon=$!
trap 'kill $daemon 2>/dev/null; wait $daemon 2>/dev/null; [ -n "$store_yml" ] && pg_temp_stop; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$metrics/metrics" >/dev/null && break; sleep 0.2; done
[ -n "$store_yml" ] && pg_cpu_start=$(pg_cpu)
echo "net.unix.max_dgram_qlen $(cat /proc/sys/net/unix/max_dgram_qlen); $(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg)"
common=(--socket "$work/tlsrpt.sock" --metrics "http://127.0.0.1:$metrics/metrics" --pid "$daemon" --duration "$duration" --domains "${DOMAINS:-1000}")
status=0
"$bench" tlsrpt-datagrams "${common[@]}" --rate 0 --senders 4 || status=1
"$bench" tlsrpt-datagrams "${common[@]}" --rate 2000 --senders 4 || status=1
"$bench" tlsrpt-datagrams "${common[@]}" --rate 20000 --senders 4 || true
if [ -n "$store_yml" ]; then
  echo "store: PostgreSQL $(du -sk "$pg_dir/data" | cut -f1) KiB data directory; server CPU over the phases $(echo "$(pg_cpu) - $pg_cpu_start" | bc) s; daemon RSS $(ps -o rss= -p $daemon) KiB"
else
echo "store: $(du -k "$work/state/tlsrpt-sessions.sqlite" | cut -f1) KiB (+ WAL $(du -k "$work/state/tlsrpt-sessions.sqlite-wal" 2>/dev/null | cut -f1) KiB); daemon RSS $(ps -o rss= -p $daemon) KiB"
fi
grep -E "warn|error" "$work/daemon.log" | grep -v DNSSEC || true
exit $status
