#!/usr/bin/env bash
# TLS-RPT report building (issue 14): a day of sessions to DOMAINS report domains in a fresh SQLite session store,
# the day's reports built in process (Rampart.Benchmarks tlsrpt-report: read, build, JSON + gzip), then
# `rampart tlsrpt report --day D --json` over the same store, timed as a whole (its rua lookups go to RESOLVER).
#
#   benchmarks/run-tlsrpt-report.sh [DOMAINS]          (default 10000)
#   RESOLVER=127.0.0.1:53 lab/run benchmarks/run-tlsrpt-report.sh   (inside the lab: lookups answered by its Unbound)
#   STORE=postgres benchmarks/run-tlsrpt-report.sh     (the fleet's store: a throw-away PostgreSQL, benchmarks/pg_temp.sh)
#   NO_BUILD=1 ARTIFACTS=DIR ...                     (use what DIR/bin/{Rampart.Cli,Rampart.Benchmarks}/release hold)
set -euo pipefail
cd "$(dirname "$0")/.."
domains=${1:-10000}
artifacts=${ARTIFACTS:-/tmp/rampart-bench-report}
resolver=${RESOLVER:-127.0.0.1:53}
if [ -z "${NO_BUILD:-}" ]; then
  dotnet build src/Rampart.Cli/Rampart.Cli.csproj -c Release --nologo -v quiet -clp:ErrorsOnly --artifacts-path "$artifacts" >&2
  dotnet build benchmarks/Rampart.Benchmarks -c Release --nologo -v quiet -clp:ErrorsOnly --artifacts-path "$artifacts" >&2
fi
work=$(mktemp -d /tmp/rampart-report.XXXXXX)
trap 'rm -rf "$work"' EXIT
store_args=() cli_args=(--state-dir "$work")
if [ "${STORE:-sqlite}" = postgres ]; then
  . benchmarks/pg_temp.sh
  trap 'pg_temp_stop; rm -rf "$work"' EXIT
  store_args=(--store "$PG_URL")
  printf 'state_dir: %s\ntlsrpt_reporting:\n  store: %s\n  host: bench\n' "$work" "$PG_URL" > "$work/rampart.yml"
  cli_args=(--config "$work/rampart.yml")
fi
day=$(date -u -d yesterday +%F)
echo "$(nproc) cores; load $(cut -d' ' -f1-3 /proc/loadavg); day $day; resolver $resolver"
"$artifacts/bin/Rampart.Benchmarks/release/Rampart.Benchmarks" tlsrpt-report --state-dir "$work" "${store_args[@]}" --domains "$domains" --day "$day"
start=$(date +%s.%N)
/usr/bin/time -f "rampart tlsrpt report --json: %e s elapsed, %U s user, %S s system, max RSS %M KiB" \
  dotnet "$artifacts/bin/Rampart.Cli/release/rampart.dll" tlsrpt report "${cli_args[@]}" --resolver "$resolver" --day "$day" --json > "$work/report.json"
echo "report.json: $(stat -c %s "$work/report.json") bytes, $(grep -c '"report-id"' "$work/report.json") reports"
echo "load after $(cut -d' ' -f1-3 /proc/loadavg)"
