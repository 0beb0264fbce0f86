#!/usr/bin/env bash
# TLS-RPT import throughput: generates COUNT reports (default 10,000: a seeded mix of Google-style .json.gz,
# Microsoft-style .json, Mail.ru-style emails and zips of two, most 1-3 KB, every 20th with 50-300 failure-details,
# LARGE (default 5) with 20,000 each), imports them with `rampart tlsrpt import` into SQLite and into PostgreSQL
# (a throw-away cluster started here, on a Unix socket, default durability: fsync and synchronous_commit on), then
# imports them again (all duplicates), once more into PostgreSQL with synchronous_commit=off, and runs `tlsrpt summary --json` on both stores, which must print the same.
# Prints reports/s, MB/s (bytes on disk and bytes of JSON), CPU seconds (user+sys) and the importer's peak RSS for each
# run; then times `tlsrpt summary --json` and GET / of `rampart dashboard` (DASH_PORT, default 19411, on loopback;
# the first GET, then the best and median of 5 more) on each store.
#
#   benchmarks/run-tlsrpt-import.sh [--count N] [--large N] [--no-postgres] [--no-sqlite] [--no-async] [--keep] [--reports DIR]
#   (--reports DIR: import the reports generated into DIR by an earlier run, with the same --count and --large)
#   ARTIFACTS=/tmp/art-x benchmarks/run-tlsrpt-import.sh     # reuse (or choose) the build output folder
#   RAMPART_DLL=src/Rampart.Cli/bin/Release/net10.0/rampart.dll benchmarks/run-tlsrpt-import.sh   # a build made already
#
# Needs: dotnet, python3, /usr/bin/time (apt: time), and for PostgreSQL the apt package postgresql (its binaries
# under /usr/lib/postgresql/<version>/bin; as root the cluster runs as the postgres user).
set -euo pipefail
cd "$(dirname "$0")/.."
count=10000 large=5 postgres=yes sqlite=yes async=yes keep=no reuse=
while (($#)); do
  case $1 in
    --count) count=$2; shift 2 ;;
    --large) large=$2; shift 2 ;;
    --no-postgres) postgres=no; shift ;;
    --no-sqlite) sqlite=no; shift ;;
    --no-async) async=no; shift ;;
    --keep) keep=yes; shift ;;
    --reports) reuse=$2; shift 2 ;;
    *) echo "run-tlsrpt-import.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -x /usr/bin/time ] || { echo "run-tlsrpt-import.sh: /usr/bin/time not found: apt-get install time" >&2; exit 1; }
command -v python3 >/dev/null || { echo "run-tlsrpt-import.sh: python3 not found: apt-get install python3" >&2; exit 1; }
pgbin=
if [ "$postgres" = yes ]; then
  pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
  [ -n "$pgbin" ] && [ -x "$pgbin/initdb" ] || { echo "run-tlsrpt-import.sh: postgresql not found: apt-get install postgresql" >&2; exit 1; }
fi

if [ -n "${RAMPART_DLL:-}" ]; then   # an existing build: RAMPART_DLL=src/Rampart.Cli/bin/Release/net10.0/rampart.dll
  rampart=("dotnet" "$RAMPART_DLL")
else
  artifacts=${ARTIFACTS:-/tmp/rampart-bench-tlsrpt}
  dotnet build src/Rampart.Cli/Rampart.Cli.csproj -c Release --nologo -v quiet -clp:ErrorsOnly --artifacts-path "$artifacts" >&2
  rampart=("dotnet" "$artifacts/bin/Rampart.Cli/release/rampart.dll")
fi

work=$(mktemp -d /tmp/rampart-tlsrpt-bench.XXXXXX)
chmod 755 "$work"
pgdata= pgpid=
cleanup() {
  if [ -n "$pgpid" ] && kill -0 "$pgpid" 2>/dev/null; then kill -INT "$pgpid"; wait "$pgpid" 2>/dev/null || true; fi
  if [ "$keep" = no ]; then rm -rf "$work"; else echo "kept $work" >&2; fi
}
trap cleanup EXIT

if [ -n "$reuse" ]; then
  ln -s "$(realpath "$reuse")" "$work/reports"
  files=$(find -L "$work/reports" -type f | wc -l) reports=$count disk=$(find -L "$work/reports" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
  json=0 # not known here: the generating run printed it
else
  echo "generating $count reports into $work/reports ..." >&2
  read -r files reports disk json < <(python3 benchmarks/tlsrpt_generate.py "$work/reports" --count "$count" --large "$large" |
    sed -E 's/files=([0-9]+) reports=([0-9]+) bytes_on_disk=([0-9]+) json_bytes=([0-9]+)/\1 \2 \3 \4/')
fi
echo "input: $files files, $reports reports, $(awk -v b="$disk" 'BEGIN{printf "%.1f", b/1048576}') MB on disk, $(awk -v b="$json" 'BEGIN{printf "%.1f", b/1048576}') MB of JSON"

# measure LABEL STORE: one import run; prints reports/s, MB/s and peak RSS of the importer.
measure() {
  local label=$1 store=$2 out="$work/$1.json" stats="$work/$1.time"
  /usr/bin/time -f '%e %M %U %S' -o "$stats" "${rampart[@]}" tlsrpt import "$work/reports" --no-dkim --json --store "$store" >"$out" 2>"$work/$label.err" || {
    echo "$label: import failed: $(tail -3 "$work/$label.err")" >&2; exit 1; }
  local seconds rss imported duplicates user sys
  read -r seconds rss user sys < <(tail -1 "$stats")
  imported=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["imported"], d["duplicates"], d["rejected"])' "$out")
  awk -v l="$label" -v s="$seconds" -v r="$reports" -v d="$disk" -v j="$json" -v m="$rss" -v i="$imported" -v c="$user" -v k="$sys" 'BEGIN{
    printf "%-22s %7.1f s  %8.0f reports/s  %6.2f MB/s on disk  %6.2f MB/s JSON  CPU %5.1f s  peak RSS %4.0f MB  (imported duplicates rejected: %s)\n",
      l, s, r/s, d/1048576/s, j/1048576/s, c+k, m/1024, i }'
}

dashboard() { # dashboard LABEL STORE: GET / of rampart dashboard over STORE, first and then 5 more
  local port=${DASH_PORT:-19411} pid times=()
  "${rampart[@]}" dashboard --store "$2" --listen "127.0.0.1:$port" >"$work/dash-$1.log" 2>&1 &
  pid=$!
  for _ in $(seq 1 600); do curl -s -o /dev/null "http://127.0.0.1:$port/style.css" && break; kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  for _ in 1 2 3 4 5 6; do
    times+=("$(curl -s -o "$work/dash-$1.html" -w '%{http_code} %{time_total}' "http://127.0.0.1:$port/")")
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true
  if printf '%s\n' "${times[@]}" | grep -qv '^200 '; then echo "$1 dashboard: HTTP $(printf '%s\n' "${times[@]}" | cut -d' ' -f1 | sort -u | tr '\n' ' ')" >&2; return 1; fi
  local first rest
  first=$(printf '%s\n' "${times[@]}" | head -1 | cut -d' ' -f2)
  rest=$(printf '%s\n' "${times[@]}" | tail -n +2 | cut -d' ' -f2 | sort -n | tr '\n' ' ')
  awk -v l="$1" -v f="$first" -v r="$rest" 'BEGIN { n = split(r, t, " ");
    printf "%s dashboard GET /: first %.0f ms, then best %.0f ms, median %.0f ms (%d GETs)\n", l, f*1000, t[1]*1000, t[int((n+1)/2)]*1000, n }'
}

summary() { # summary STORE -> summary JSON on stdout, time (wall, CPU) on stderr
  /usr/bin/time -f '%e %U %S' -o "$work/summary.time" "${rampart[@]}" tlsrpt summary --json --store "$1"
  awk '{printf "summary: %.2f s (CPU %.2f s)\n", $1, $2+$3}' "$work/summary.time" >&2
}

echo "machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(dotnet --version) SDK"
if [ "$sqlite" = yes ]; then
  measure sqlite "$work/tlsrpt.sqlite"
  measure sqlite-again "$work/tlsrpt.sqlite"
  summary "$work/tlsrpt.sqlite" >"$work/summary-sqlite.json" 2> >(sed 's/^/sqlite /' >&2)
  summary "$work/tlsrpt.sqlite" >/dev/null 2> >(sed 's/^/sqlite (again) /' >&2)
  dashboard sqlite "$work/tlsrpt.sqlite"
  echo "sqlite file: $(du -m "$work/tlsrpt.sqlite" | cut -f1) MB"
fi

if [ "$postgres" = yes ]; then
  pgdata="$work/pg"
  mkdir -p "$pgdata/sock"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as=()
  if [ "$(id -u)" -eq 0 ]; then chown -R postgres:postgres "$pgdata"; as=(setpriv --reuid=postgres --regid=postgres --clear-groups --); fi
  "${as[@]}" "$pgbin/initdb" -D "$pgdata/data" -U rampart -E UTF8 --locale C --auth trust --no-instructions >/dev/null
  "${as[@]}" "$pgbin/postgres" -D "$pgdata/data" -p "$port" -c listen_addresses= -c "unix_socket_directories=$pgdata/sock" \
    -c shared_buffers=256MB -c max_wal_size=2GB >"$work/postgres.log" 2>&1 &
  pgpid=$!
  for _ in $(seq 1 300); do "$pgbin/pg_isready" -q -h "$pgdata/sock" -p "$port" && break; sleep 0.1; done
  "$pgbin/psql" -q -h "$pgdata/sock" -p "$port" -U rampart -d postgres -c 'CREATE DATABASE tlsrpt' -c 'CREATE DATABASE tlsrpt_async' >/dev/null
  url="postgres://rampart@$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$pgdata/sock"):$port/tlsrpt"
  echo "postgresql: $("$pgbin/postgres" --version), fsync on, synchronous_commit on, over a Unix socket"
  measure postgres "$url"
  measure postgres-again "$url"
  # The same import with commits acknowledged before their WAL reaches the disk (still one transaction per report,
  # never a half report; a server crash may lose the last commits, which importing again restores).
  if [ "$async" = yes ]; then measure postgres-async "${url}_async?options=-c%20synchronous_commit%3Doff"; fi
  summary "$url" >"$work/summary-postgres.json" 2> >(sed 's/^/postgres /' >&2)
  summary "$url" >/dev/null 2> >(sed 's/^/postgres (again) /' >&2)
  DASH_PORT=$(( ${DASH_PORT:-19411} + 1 )) dashboard postgres "$url"
  if [ "$sqlite" = no ]; then
    echo "summaries: not compared (--no-sqlite)"
  elif cmp -s "$work/summary-sqlite.json" "$work/summary-postgres.json"; then
    echo "summaries: identical ($(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["domains"]))' "$work/summary-sqlite.json") domains)"
  else
    echo "summaries DIFFER: diff $work/summary-sqlite.json $work/summary-postgres.json" >&2; keep=yes; exit 1
  fi
  echo "postgres database: $("$pgbin/psql" -Atq -h "$pgdata/sock" -p "$port" -U rampart -d tlsrpt -c "SELECT pg_database_size('tlsrpt') / 1048576") MB"
fi
