# Sourced by the benchmark scripts: the lab instance they use, how they build, and the machine lines every result
# carries. Needs `say` and `die` from the sourcing script.

# use_lab: the lab instance named by RAMPART_LAB_NAME / RAMPART_LAB_STATE, brought up when it is down and taken down
# again on exit (a running instance is used and left running).
use_lab() {
    started_lab=no
    if [[ -e /run/netns/$RAMPART_LAB_NAME ]]; then
        say "lab $RAMPART_LAB_NAME (state $RAMPART_LAB_STATE) already up: using it and leaving it up"
    else
        say "lab/up (netns $RAMPART_LAB_NAME, state $RAMPART_LAB_STATE)"
        timeout 900 lab/up
        started_lab=yes
    fi
    trap 'if [[ $started_lab == yes ]]; then say "lab/down (this script brought it up)"; timeout 120 lab/down || true; fi' EXIT
}

# build_release PROJECT ARTIFACTS EXPECTED: a quiet Release build of PROJECT into ARTIFACTS (--artifacts-path, so it
# never collides with other builds of the tree); dies unless EXPECTED (the built program or dll) exists afterwards.
build_release() {
    say "building $1 (Release, artifacts in $2)"
    timeout 900 dotnet build "$1" -c Release --artifacts-path "$2" -nologo -v q | grep -Ev '^\s*$' || true
    [[ -e $3 ]] || die "build failed: $3 missing"
}

# machine_lines: date, CPUs, memory, OS and .NET, one "name: value" line each (the caller adds its own lines).
machine_lines() {
    echo "date:     $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
    echo "nproc:    $(nproc)"
    echo "cpu:      $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    echo "memory:   $(free -g | awk '/^Mem:/ { print $2 " GiB total, " $7 " GiB available (free -g)" }')"
    echo "os:       $(. /etc/os-release; echo "$PRETTY_NAME"), kernel $(uname -r)"
    echo ".NET:     runtime $(dotnet --list-runtimes | awk '/Microsoft.NETCore.App/ { v = $2 } END { print v }'), SDK $(dotnet --version)"
}

# peer_line: the versions of postfix-mta-sts-resolver, its Python and uvloop.
peer_line() {
    echo "peer:     postfix-mta-sts-resolver $(dpkg-query -W -f '${Version}' postfix-mta-sts-resolver), python3 $(dpkg-query -W -f '${Version}' python3), uvloop $(/usr/bin/python3 -c 'import uvloop; print(uvloop.__version__)' 2>/dev/null || echo none)"
}
