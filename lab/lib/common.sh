# shellcheck shell=bash
# Shared by lab/up, lab/down, lab/run and lab/bin/lab-bump. Sourced, never executed.
# Layout of the state dir ($STATE, default <repo>/.lab, never committed):
#   pki/            lab CA (root + intermediate, openssl), ca-bundle.pem (= SSL_CERT_FILE in lab/run)
#   build/          Rampart.Lab build output (dotnet --artifacts-path)
#   scenarios/      scenario folders as served: copied from the sources with placeholders filled in
#   bump/<domain>   lab-bump counters ({{BUMP}})
#   dns/keys/       DNSSEC keys per zone and algorithm;  dns/zones/  assembled (.zone) and served (.db) zones
#   nsd/ unbound/   daemon configs;  run/  pid files and control sockets;  log/  every log file

set -euo pipefail
shopt -s nullglob

LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
REPO_DIR=$(dirname "$LAB_DIR")
LAB_NAME=${RAMPART_LAB_NAME:-rampart-lab}
STATE=$(realpath -m "${RAMPART_LAB_STATE:-$REPO_DIR/.lab}")

# Address plan (documented in lab/README.md). 127.0.0.0/24 is infrastructure.
ADDR_RESOLVER=127.0.0.1   # Unbound, validating, port 53 (the lab's /etc/resolv.conf)
ADDR_NSD=127.0.0.2        # NSD: authoritative for ".", "test." and every scenario zone
ADDR_POLICY=127.0.0.10    # policy host: HTTPS 443 for every mta-sts.<domain>
NS_NAME=ns.test.          # the single name server name of every lab zone
ZONE_TTL=30               # TTL, SOA timers and negative TTL of every lab zone
DEFAULT_ALG=ECDSAP256SHA256

POLICY_HOST_BIN=$STATE/build/bin/Rampart.Lab/release/Rampart.Lab

die() { echo "lab: error: $*" >&2; exit 1; }
say() { echo "lab: $*" >&2; }

need_root() { [[ $EUID -eq 0 ]] || die "must run as root (network namespaces, ports 53/443)"; }

# Every external tool, with the Debian package that provides it.
check_tools() {
    local -A pkg=(
        [ip]=iproute2 [nsd]=nsd [nsd-control]=nsd [nsd-checkzone]=nsd
        [unbound]=unbound [unbound-control]=unbound [unbound-checkconf]=unbound
        [dnssec-signzone]=bind9-utils [dnssec-keygen]=bind9-utils [dnssec-dsfromkey]=bind9-utils
        [dig]=bind9-dnsutils [openssl]=openssl [setsid]=util-linux [flock]=util-linux
    )
    local missing=() t
    local -A pkgs=()
    for t in "${!pkg[@]}"; do
        command -v "$t" >/dev/null 2>&1 || PATH=$PATH:/usr/sbin:/sbin command -v "$t" >/dev/null 2>&1 \
            || { missing+=("$t"); pkgs[${pkg[$t]}]=1; }
    done
    if ((${#missing[@]})); then
        die "missing tools: ${missing[*]} — install them with: apt-get install -y ${!pkgs[*]}"
    fi
    command -v dotnet >/dev/null 2>&1 || die "missing tool: dotnet — install the .NET 10 SDK (see global.json)"
}

# Serialises lab/up, lab/down and lab-bump on one state dir.
take_lock() {
    mkdir -p "$STATE"
    exec 9>"$STATE/.lock"
    flock -w 300 9 || die "another lab/up, lab/down or lab-bump holds $STATE/.lock"
}

ns_exists() { [[ -e /run/netns/$LAB_NAME ]]; }
ns_exec() { ip netns exec "$LAB_NAME" "$@"; }
# daemon_exec CMD...: start a daemon inside the lab without the lock fd (it would hold the lock forever)
daemon_exec() { ip netns exec "$LAB_NAME" "$@" 9>&-; }

# --- processes (by pid file; the name check guards against a recycled pid) -------------------------

# pid_alive NAME COMM: prints the pid of a running daemon NAME whose /proc/PID/comm is COMM
pid_alive() {
    local file=$STATE/run/$1.pid pid comm
    [[ -s $file ]] || return 1
    read -r pid <"$file" || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    [[ $comm == "$2"* ]] || return 1 # prefix: nsd renames its main process "nsd: xfrd"
    echo "$pid"
}

# stop_daemons NAME:COMM...: SIGTERM them all at once (nsd and unbound each take ~2 s to exit),
# wait up to 5 s, then SIGKILL whatever is left
stop_daemons() {
    local spec pid i left
    local -A pids=()
    for spec in "$@"; do
        if pid=$(pid_alive "${spec%%:*}" "${spec#*:}"); then
            pids[$pid]=${spec%%:*}
            kill -TERM "$pid" 2>/dev/null || true
        fi
        rm -f "$STATE/run/${spec%%:*}.pid"
    done
    for ((i = 0; i < 50; i++)); do
        left=0
        for pid in "${!pids[@]}"; do [[ ! -d /proc/$pid ]] || left=1; done
        ((left)) || return 0
        sleep 0.1
    done
    for pid in "${!pids[@]}"; do
        if [[ -d /proc/$pid ]]; then
            say "${pids[$pid]} (pid $pid) ignored SIGTERM; killing it"
            kill -KILL "$pid" 2>/dev/null || true
        fi
    done
}
stop_daemon() { stop_daemons "$1:$2"; }

# wait_for SECONDS DESCRIPTION CMD...: retry CMD every 0.1 s
wait_for() {
    local secs=$1 what=$2 i
    shift 2
    for ((i = 0; i < secs * 10; i++)); do
        "$@" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    die "$what did not come up within ${secs}s (see $STATE/log/)"
}

# --- scenarios -------------------------------------------------------------------------------------

# The scenario source dirs: lab/scenarios, then each dir of RAMPART_LAB_SCENARIOS (colon-separated).
scenario_source_dirs() {
    echo "$LAB_DIR/scenarios"
    local d
    local IFS=:
    for d in ${RAMPART_LAB_SCENARIOS:-}; do
        [[ -n $d ]] || continue
        [[ -d $d ]] || die "RAMPART_LAB_SCENARIOS: $d is not a directory"
        realpath "$d"
    done
}

# Fingerprint of everything the zones and served scenarios are built from (not the bump counters).
inputs_hash() {
    local d
    {
        echo "$LAB_NAME"
        sha256sum "$LAB_DIR/lib/"*.sh "$LAB_DIR/up"
        while read -r d; do
            echo "dir $d"
            (cd "$d" && find . -type f -print0 | sort -z | xargs -0r sha256sum)
        done < <(scenario_source_dirs)
    } | sha256sum | cut -d' ' -f1
}

# scenario_setting DOMAIN KEY DEFAULT: a value from a (materialised) scenario.conf
scenario_setting() {
    local v
    v=$(awk -v key="$2" '
        { sub(/(^|[ \t])#.*/, "") }
        index($0, "=") {
            k = substr($0, 1, index($0, "=") - 1); v = substr($0, index($0, "=") + 1)
            gsub(/^[ \t]+|[ \t]+$/, "", k); gsub(/^[ \t]+|[ \t]+$/, "", v)
            if (k == key) { print v; exit }
        }' "$STATE/scenarios/$1/scenario.conf")
    echo "${v:-$3}"
}

bump_of() { cat "$STATE/bump/$1" 2>/dev/null || echo 0; }

# materialise SRC DOMAIN [ROOT]: copy a scenario folder into $STATE/scenarios, filling in placeholders:
#   {{POLICY_HOST}} the policy host address, {{DOMAIN}} the scenario domain, {{BUMP}} the lab-bump counter
# (pure bash, no forks per file: lab/up stays fast on a loaded machine)
materialise() {
    local src=$1 domain=$2 dst=${3:-$STATE/scenarios}/$2 f text bump=0
    [[ ! -f $STATE/bump/$domain ]] || read -r bump <"$STATE/bump/$domain"
    rm -rf "$dst.new"
    mkdir -p "$dst.new"
    for f in "$src"/*; do
        [[ -f $f ]] || continue
        text=
        IFS= read -r -d '' text <"$f" || true
        text=${text//\{\{POLICY_HOST\}\}/$ADDR_POLICY}
        text=${text//\{\{DOMAIN\}\}/$domain}
        text=${text//\{\{BUMP\}\}/$bump}
        printf '%s' "$text" >"$dst.new/${f##*/}"
    done
    rm -rf "$dst"
    mv "$dst.new" "$dst"
}

# Materialise every scenario from every source dir into $STATE/scenarios.next, and record where each
# came from in $STATE/scenario-sources.next; commit_scenarios makes them current once validated.
materialise_all() {
    local dir src domain next=$STATE/scenarios.next
    local -A seen=()
    rm -rf "$next"
    mkdir -p "$next"
    : >"$STATE/scenario-sources.next"
    while read -r dir; do
        for src in "$dir"/*/; do
            src=${src%/}
            [[ -f $src/scenario.conf ]] || continue
            domain=${src##*/}
            domain=${domain,,}
            [[ $domain =~ ^([a-z0-9_]([a-z0-9_-]*[a-z0-9])?\.)+test$ ]] \
                || die "scenario folder $src: name must be a domain under .test"
            [[ -z ${seen[$domain]:-} ]] || die "scenario $domain defined twice: ${seen[$domain]} and $src"
            seen[$domain]=$src
            materialise "$src" "$domain" "$next"
            printf '%s\t%s\n' "$domain" "$src" >>"$STATE/scenario-sources.next"
        done
    done < <(scenario_source_dirs)
}

commit_scenarios() {
    rm -rf "$STATE/scenarios"
    mv "$STATE/scenarios.next" "$STATE/scenarios"
    mv "$STATE/scenario-sources.next" "$STATE/scenario-sources"
    load_scenarios
}

# load_scenarios: SCENARIOS (domains), SOURCE[domain] (source folder) and PARENT[domain] (the closest
# enclosing scenario zone, else "test") from $STATE/scenario-sources
load_scenarios() {
    local d src p
    SCENARIOS=()
    declare -gA SOURCE=() PARENT=()
    while IFS=$'\t' read -r d src; do
        SCENARIOS+=("$d")
        SOURCE[$d]=$src
    done <"$STATE/scenario-sources"
    for d in "${SCENARIOS[@]}"; do
        p=${d#*.}
        while [[ $p == *.* && -z ${SOURCE[$p]:-} ]]; do p=${p#*.}; done
        PARENT[$d]=$p
    done
}

# Each address a scenario zone gives an A record must belong to one host name only, and stay out of
# the infrastructure block 127.0.0.0/24 (the policy host address excepted).
check_addresses() { # [ROOT]
    local files=("${1:-$STATE/scenarios}"/*/zone)
    ((${#files[@]})) || return 0
    awk '
        FNR == 1 { n = split(FILENAME, p, "/"); dom = p[n - 1] }
        /^[ \t]*(;|$)/ || /^\$/ { next }
        {
            sub(/;.*/, "")
            if ($0 !~ /^[ \t]/) owner = $1
            for (i = 1; i < NF; i++) if ($i == "A") { print $(i + 1), (owner == "@" ? dom : owner "." dom); break }
        }' "${files[@]}" | sort -u | awk -v policy="$ADDR_POLICY" '
        $1 == policy { next }
        $1 ~ /^127\.0\.0\./ { print "address " $1 " (" $2 ") is in the infrastructure block 127.0.0.0/24"; bad = 1 }
        $1 in owner { print "address " $1 " used by both " owner[$1] " and " $2; bad = 1 }
        { owner[$1] = $2 }
        END { exit bad }' >&2 || die "address plan violated by the scenario zones (see lab/README.md)"
}

# --- DNS ---------------------------------------------------------------------------------------------

# fqdn ZONE: the zone with a trailing dot ("." stays "."); zfile ZONE: its file name stem ("." is "root")
fqdn() { echo "${1%.}."; }
zfile() { echo "${1/#./root}"; }

next_serial() {
    local s prev
    s=$(date +%s)
    prev=$(cat "$STATE/dns/serial" 2>/dev/null || echo 0)
    ((s > prev)) || s=$((prev + 1))
    echo "$s" >"$STATE/dns/serial"
    echo "$s"
}

# ensure_keys ZONE ALG: prints the key dir, holding files `ksk` and `zsk` with the key base names
ensure_keys() {
    local kd=$STATE/dns/keys/$(zfile "$1")/$2
    if [[ ! -s $kd/ksk || ! -s $kd/zsk ]]; then
        rm -rf "$kd"
        mkdir -p "$kd"
        dnssec-keygen -q -K "$kd" -a "$2" -f KSK -n ZONE "$(fqdn "$1")" >"$kd/ksk"
        dnssec-keygen -q -K "$kd" -a "$2" -n ZONE "$(fqdn "$1")" >"$kd/zsk"
    fi
    echo "$kd"
}

# sign_dnssec ZONE IN OUT ALG [dnssec-signzone options...]: sign with the zone's KSK+ZSK for ALG and
# write the DS set for the parent to $STATE/dns/zones/<zone>.ds
sign_dnssec() {
    local zone=$1 in=$2 out=$3 alg=$4 kd ksk zsk
    shift 4
    kd=$(ensure_keys "$zone" "$alg")
    read -r ksk <"$kd/ksk"
    read -r zsk <"$kd/zsk"
    ksk=$kd/$ksk
    zsk=$kd/$zsk
    # validity: from an hour ago (dnssec-signzone's default) to +30 days, unless a mode sets SIG_START/SIG_END
    local validity=(-e "${SIG_END:-+2592000}")
    [[ -z ${SIG_START:-} ]] || validity+=(-s "$SIG_START")
    cat "$in" "$ksk.key" "$zsk.key" >"$in.keys"
    dnssec-signzone -q -a -N keep -d "$STATE/dns/zones" -o "${zone%.}." "${validity[@]}" \
        -k "$ksk" -f "$out" "$@" "$in.keys" "$zsk" >/dev/null \
        || die "dnssec-signzone failed for zone $zone (input $in.keys)"
    rm -f "$in.keys"
    dnssec-dsfromkey -2 "$ksk.key" >"$STATE/dns/zones/${zone/#./root}.ds"
}

# sign_zone ZONE MODE IN OUT: the one place signing modes are defined. Writes OUT (what NSD serves)
# and <zone>.ds (the DS set the parent publishes; empty = insecure delegation).
sign_zone() {
    local zone=$1 mode=$2 in=$3 out=$4
    case $mode in
        signed) sign_dnssec "$zone" "$in" "$out" "$DEFAULT_ALG" ;;
        unsigned)
            cp "$in" "$out"
            : >"$STATE/dns/zones/${zone/#./root}.ds"
            ;;
        # Later modes fit here without changing the structure, e.g.:
        #   nsec3)        sign_dnssec "$zone" "$in" "$out" "$DEFAULT_ALG" -3 - -H 0
        #   rsasha256|ecdsap384sha384|ed25519)  sign_dnssec "$zone" "$in" "$out" <ALG>
        #   expired)      back-dated keys (dnssec-settime) + SIG_START/SIG_END in the past, -P
        #   bogus|stripped) sign_dnssec, then corrupt or delete RRSIGs in "$out" (DS stays in the parent)
        *) die "zone $zone: unknown signing mode '$mode' (known: signed, unsigned)" ;;
    esac
}

# build_zone ZONE SERIAL: assemble <zone>.zone (SOA, NS, scenario records, delegations) and sign it
build_zone() {
    local zone=$1 serial=$2 origin mode in out child
    origin=$(fqdn "$zone")
    in=$STATE/dns/zones/${zone/#./root}.zone
    out=$STATE/dns/zones/${zone/#./root}.db
    {
        echo "\$ORIGIN $origin"
        echo "\$TTL $ZONE_TTL"
        echo "@ IN SOA $NS_NAME hostmaster.test. ( $serial $ZONE_TTL $ZONE_TTL 600 $ZONE_TTL )"
        echo "@ IN NS $NS_NAME"
        case $zone in
            .) echo "$NS_NAME IN A $ADDR_NSD ; glue" ;;
            test) echo "$NS_NAME IN A $ADDR_NSD" ;;
            *)
                echo "; ---- from the scenario ----"
                [[ ! -f $STATE/scenarios/$zone/zone ]] || cat "$STATE/scenarios/$zone/zone"
                echo
                ;;
        esac
        echo "; ---- delegations ----"
        if [[ $zone == . ]]; then
            echo "test. IN NS $NS_NAME"
            cat "$STATE/dns/zones/test.ds"
        else
            for child in "${SCENARIOS[@]}"; do
                [[ ${PARENT[$child]} == "$zone" ]] || continue
                echo "$child. IN NS $NS_NAME"
                cat "$STATE/dns/zones/$child.ds"
            done
        fi
    } >"$in"
    mode=signed
    [[ $zone == . || $zone == test ]] || mode=$(scenario_setting "$zone" signing signed)
    sign_zone "$zone" "$mode" "$in" "$out"
    # dnssec-signzone has parsed signed zones already; check the others the way NSD will load them
    [[ -s $STATE/dns/zones/${zone/#./root}.ds ]] || nsd-checkzone "$origin" "$out" >/dev/null \
        || die "zone $zone does not load: nsd-checkzone $origin $out"
}

# Build every zone: scenario zones deepest first (children before the parents that publish their DS),
# then test., then the root; then the trust anchor and root hints for Unbound.
build_all_zones() {
    local serial d depth dots pid pids
    mkdir -p "$STATE/dns/zones"
    rm -f "$STATE/dns/zones/"*.zone "$STATE/dns/zones/"*.db "$STATE/dns/zones/"*.ds
    serial=$(next_serial)
    for ((depth = 10; depth >= 1; depth--)); do
        # zones of one depth do not depend on each other: build them in parallel
        pids=()
        for d in "${SCENARIOS[@]}"; do
            dots=${d//[^.]/}
            if ((${#dots} == depth)); then
                build_zone "$d" "$serial" &
                pids+=($!)
            fi
        done
        for pid in "${pids[@]}"; do wait "$pid" || die "building the scenario zones failed (above)"; done
    done
    build_zone test "$serial"
    build_zone . "$serial"
    cp "$STATE/dns/zones/root.ds" "$STATE/dns/root.anchor"
    printf '. 3600000 IN NS %s\n%s 3600000 IN A %s\n' "$NS_NAME" "$NS_NAME" "$ADDR_NSD" >"$STATE/dns/root.hints"
    date +%s >"$STATE/dns/signed-at"
}

nsd_conf() { echo "$STATE/nsd/nsd.conf"; }
unbound_conf() { echo "$STATE/unbound/unbound.conf"; }

write_nsd_conf() {
    local d
    mkdir -p "$STATE/nsd" "$STATE/run" "$STATE/log"
    {
        cat <<EOF
# generated by lab/up — do not edit
server:
    ip-address: $ADDR_NSD
    port: 53
    do-ip6: no
    # Response rate limiting off: every answer goes to one client (Unbound), and the *.bench.test wildcard
    # would share one 200/s bucket, throttling load runs (the throttle measured the lab, not the resolvers).
    rrl-ratelimit: 0
    rrl-whitelist-ratelimit: 0
    username: ""
    chroot: ""
    zonesdir: "$STATE/dns/zones"
    database: ""
    zonelistfile: "$STATE/nsd/zone.list"
    xfrdfile: "$STATE/nsd/xfrd.state"
    xfrdir: "$STATE/nsd"
    pidfile: "$STATE/run/nsd.pid"
    logfile: "$STATE/log/nsd.log"
    verbosity: 1
    server-count: 1
    reuseport: no
    hide-version: yes
    identity: "rampart-lab-nsd"
remote-control:
    control-enable: yes
    control-interface: "$STATE/run/nsd.ctl"
EOF
        for d in . test "${SCENARIOS[@]}"; do
            printf 'zone:\n    name: "%s"\n    zonefile: "%s.db"\n' "$(fqdn "$d")" "$(zfile "$d")"
        done
    } >"$(nsd_conf)"
    nsd-checkconf "$(nsd_conf)" || die "bad generated $(nsd_conf)"
}

write_unbound_conf() {
    mkdir -p "$STATE/unbound" "$STATE/run" "$STATE/log"
    cat >"$(unbound_conf)" <<EOF
# generated by lab/up — do not edit
server:
    interface: $ADDR_RESOLVER
    port: 53
    do-ip6: no
    access-control: 127.0.0.0/8 allow
    username: ""
    chroot: ""
    directory: "$STATE/unbound"
    pidfile: "$STATE/run/unbound.pid"
    logfile: "$STATE/log/unbound.log"
    use-syslog: no
    log-time-ascii: yes
    verbosity: 1
    val-log-level: 2
    log-servfail: yes
    num-threads: 1
    so-reuseport: no
    module-config: "validator iterator"
    root-hints: "$STATE/dns/root.hints"
    trust-anchor-file: "$STATE/dns/root.anchor"
    trust-anchor-signaling: no
    root-key-sentinel: no
    do-not-query-localhost: no
    local-zone: "test." nodefault
    # short caches so scenario changes and lab-bump show quickly
    cache-max-ttl: $ZONE_TTL
    cache-max-negative-ttl: 10
    val-bogus-ttl: 5
    infra-host-ttl: 10
    infra-keep-probing: yes
    aggressive-nsec: no
    prefetch: no
remote-control:
    control-enable: yes
    control-interface: "$STATE/run/unbound.ctl"
    control-use-cert: no
EOF
    unbound-checkconf "$(unbound_conf)" >/dev/null || die "bad generated $(unbound_conf)"
}

nsd_ctl() { nsd-control -c "$(nsd_conf)" "$@"; }
unbound_ctl() { unbound-control -c "$(unbound_conf)" "$@"; }
