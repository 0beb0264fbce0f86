# Sourced by the benchmark scripts: a throw-away PostgreSQL server (apt package postgresql) in a temporary directory,
# on a Unix socket there and loopback port PG_PORT (default 19750), with the settings the tests' server has (fsync
# off: throw-away data) unless PG_FSYNC=on. Sets PG_URL (postgres://rampart@127.0.0.1:PORT/tlsrpt, trusted, no
# password; connect_timeout=30 for a loaded machine) and stops the server and removes its directory on exit (pg_temp_stop). As root it runs as user postgres.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
pg_dir=$(mktemp -d /tmp/rampart-bench-pg.XXXXXX)
pg_port=${PG_PORT:-19750}
as_pg=()
if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$pg_dir"; as_pg=(setpriv --reuid=postgres --regid=postgres --clear-groups --); fi
"${as_pg[@]}" "$pg_bin/initdb" -D "$pg_dir/data" -U rampart -E UTF8 --locale C --auth trust --no-sync --no-instructions >/dev/null
"${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -l "$pg_dir/log" -w -o "-p $pg_port -c listen_addresses=127.0.0.1 -c unix_socket_directories=$pg_dir -c fsync=${PG_FSYNC:-off} -c max_connections=60 -c shared_buffers=128MB" start >/dev/null
"${as_pg[@]}" "$pg_bin/createdb" -h "$pg_dir" -p "$pg_port" -U rampart tlsrpt
PG_URL="postgres://rampart@127.0.0.1:$pg_port/tlsrpt?connect_timeout=30"
pg_temp_stop() { "${as_pg[@]}" "$pg_bin/pg_ctl" -D "$pg_dir/data" -m fast -w stop >/dev/null 2>&1 || true; rm -rf "$pg_dir"; }
echo "PostgreSQL $("$pg_bin/postgres" --version | awk '{print $3}') on 127.0.0.1:$pg_port (fsync=${PG_FSYNC:-off})"
# CPU seconds (user + system) of this server: the postmaster and its children (backends, writers) alive now.
pg_cpu() {
  local pm; pm=$(head -1 "$pg_dir/data/postmaster.pid")
  for p in $pm $(ps -o pid= --ppid "$pm"); do awk '{print $14 + $15}' "/proc/$p/stat" 2>/dev/null; done |
    awk -v hz="$(getconf CLK_TCK)" '{s += $1} END {printf "%.1f", s / hz}'
}
