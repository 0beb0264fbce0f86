#!/usr/bin/env bash
# Installs what the tests need (apt-get, only when missing), builds, brings the offline lab up and runs every test:
# unit tests on the host, lab tests inside the lab's network namespace. Ends with "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")"
root="$PWD"
config=Release

# 1. Packages the lab and the tests use: command -> Debian package.
declare -A needs=(
  [nsd]=nsd [unbound]=unbound [unbound-control]=unbound [dnssec-signzone]=bind9-utils [dig]=bind9-dnsutils
  [openssl]=openssl [ip]=iproute2 [curl]=curl [flock]=util-linux [posttls-finger]=postfix
  [redis-server]=redis-server [systemd-analyze]=systemd [pg_ctlcluster]=postgresql [afl-fuzz]=afl++
  [cc]=gcc [objcopy]=binutils [postmap]=postfix [unshare]=util-linux [chromium]=chromium
  [lintian]=lintian [man]=man-db [setpriv]=util-linux [dpkg-deb]=dpkg [strace]=strace
)
missing=()
for cmd in "${!needs[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1 || missing+=("${needs[$cmd]}")
done
if ((${#missing[@]})); then
  mapfile -t missing < <(printf '%s\n' "${missing[@]}" | sort -u)
  echo "test.sh: installing ${missing[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then
    echo "test.sh: need root to apt-get install ${missing[*]}" >&2; exit 1
  fi
  apt-get update -qq
  # Installing postfix must not start a system instance outside the lab: deny service starts while apt runs.
  guard=no
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && guard=yes
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  [ "$guard" = yes ] && rm -f /usr/sbin/policy-rc.d
fi
# The lab's second sender, a real Exim 4.96, is unpacked from Debian's .debs into its own directory (lab/exim/install):
# installing the exim4 packages would remove Postfix (both provide mail-transport-agent).
lab/exim/install >/dev/null
# A system Postfix that was already running is the machine's own (the install above never starts one): it is left
# alone, never stopped, since on a mail server that would be an outage. The lab runs its own Postfix instances in a
# private network namespace, so the two do not meet.
if command -v postfix >/dev/null 2>&1 && PATH="$PATH:/usr/sbin:/sbin" postfix status >/dev/null 2>&1; then
  echo "test.sh: a system Postfix is running; it is left as it is (the lab uses its own instances in a private network namespace)" >&2
fi
command -v dotnet >/dev/null || { echo "test.sh: the .NET 10 SDK (dotnet) is required" >&2; exit 1; }

# 2. Build everything once, warnings as errors.
dotnet build Rampart.slnx -c "$config" --nologo -v quiet -clp:ErrorsOnly
./rampart --help >/dev/null

# 3. Run the test executables (xunit v3), collecting totals.
passed=0 failed=0 skips=0 status=0
run_tests() { # run_tests NAME CMD...
  local name=$1; shift
  local log; log=$(mktemp)
  echo "== $name" >&2
  set +e
  "$@" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  set -e
  local line; line=$(grep -E 'Total: [0-9]+, Errors: [0-9]+, Failed: [0-9]+' "$log" | tail -1 || true)
  if [ -z "$line" ]; then
    echo "test.sh: $name printed no test summary (exit $rc)" >&2
    failed=$((failed + 1)); status=1
  else
    local total errors fails skipped notrun
    total=$(sed -E 's/.*Total: ([0-9]+).*/\1/' <<<"$line")
    errors=$(sed -E 's/.*Errors: ([0-9]+).*/\1/' <<<"$line")
    fails=$(sed -E 's/.*Failed: ([0-9]+).*/\1/' <<<"$line")
    skipped=$(sed -E 's/.*Skipped: ([0-9]+).*/\1/' <<<"$line")
    notrun=$(sed -E 's/.*Not Run: ([0-9]+).*/\1/' <<<"$line")
    passed=$((passed + total - fails - skipped - notrun))
    skips=$((skips + skipped))
    failed=$((failed + fails + errors))
  fi
  [ "$rc" -eq 0 ] || status=1
  rm -f "$log"
}
bin() { echo "$root/tests/$1/bin/$config/net10.0/$1"; }

run_tests "core unit tests" "$(bin Rampart.Core.Tests)"
run_tests "storage tests" "$(bin Rampart.Storage.Tests)"
run_tests "hosting tests" "$(bin Rampart.Hosting.Tests)"
run_tests "postfix socketmap tests" "$(bin Rampart.Postfix.Tests)"
run_tests "cli tests" "$(bin Rampart.Cli.Tests)"
run_tests "web tests" "$(bin Rampart.Web.Tests)"

# 4. Fuzzing: every parser that faces the network or untrusted files, a bounded time each (AFL++ + SharpFuzz, from the
#    committed corpus); fuzz/run prints one line per target and an xunit-style total, so each target counts as a test.
fuzz_seconds=${RAMPART_FUZZ_SECONDS:-12}
run_tests "fuzz targets (${fuzz_seconds} s each)" fuzz/run "$fuzz_seconds"

# 5. The lab: up, tests inside it, down (always).
trap 'lab/down >/dev/null 2>&1 || true' EXIT
lab/up
run_tests "lab tests" lab/run "$(bin Rampart.Lab.Tests)"

# 6. The native binary (Native AOT, what a server without .NET runs): published once, then every verb is run from it
#    inside the lab, each counted as a test. RAMPART_NATIVE=0 leaves it out (the publish takes minutes).
if [ "${RAMPART_NATIVE:-1}" != 0 ]; then
  echo "== native build (packaging/native/build)" >&2
  if packaging/native/build; then
    run_tests "native binary smoke" lab/run packaging/native/smoke .build/native/linux-x64/rampart
    # 7. The Debian package from that binary: built (lintian-checked), installed on this machine, the lab's Postfix
    #    delivering through the installed daemon as its unit starts it, upgraded, purged (packaging/deb/check says
    #    what each step proves). RAMPART_DEB=0 leaves it out.
    if [ "${RAMPART_DEB:-1}" != 0 ]; then
      echo "== Debian package (packaging/deb/build)" >&2
      if deb=$(packaging/deb/build | tail -n 1) && [ -f "$deb" ]; then
        run_tests "debian package" packaging/deb/check "$deb"
      else
        echo "test.sh: the Debian package build failed (see above)" >&2
        failed=$((failed + 1)); status=1
      fi
    fi
  else
    echo "test.sh: the native build failed (see above)" >&2
    failed=$((failed + 1)); status=1
  fi
fi

echo
echo "Tests: $passed passed, $failed failed, $skips skipped (each skip says why above)"
exit $status
