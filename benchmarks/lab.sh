# Sourced by the benchmark scripts: use the lab instance named by RAMPART_LAB_NAME / RAMPART_LAB_STATE, bringing it
# up when it is down and taking it down again on exit (a running instance is used and left running).
# Needs `say` from the sourcing script.
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
