# shellcheck shell=bash
# Shared by lab/up, lab/down, lab/run and lab/bin/lab-bump. Sourced, never executed.
# Layout of the state dir ($STATE, default <repo>/.lab, never committed):
#   pki/            lab CA (root + intermediate, openssl), ca-bundle.pem (= SSL_CERT_FILE in lab/run)
#   pki/mx/<host>/  MX host key.pem, cert.pem, chain.pem (leaf + intermediate), variant, old-*.pem,
#                   tlsa-* (cached TLSA data)
#   mx/hosts.tsv    the MX receivers' host table (address, host, domain, cert dir, variant, starttls)
#   mail/<host>/    messages the MX receivers accepted (<time>-<n>.eml)
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
NSEC3_SALT=c0ffee         # signing = nsec3: dnssec-signzone -3 <salt> -H 0 (no extra iterations, RFC 9276)
MX_PORT=25                # every MX receiver
# A records in these blocks are MX hosts: each gets a certificate and a receiver (unless mx.listen = no)
MX_ADDR_RE='^127[.]0[.](1|2|9)[.][0-9]+$'

LAB_BIN=$STATE/build/bin/Rampart.Lab/release/Rampart.Lab   # subcommands policy-host, mx, scenarios
POLICY_HOST_BIN=$LAB_BIN

die() { echo "lab: error: $*" >&2; exit 1; }
say() { echo "lab: $*" >&2; }

need_root() { [[ $EUID -eq 0 ]] || die "must run as root (network namespaces, ports 53/443)"; }

# Every external tool, with the Debian package that provides it.
check_tools() {
    local -A pkg=(
        [ip]=iproute2 [nsd]=nsd [nsd-control]=nsd [nsd-checkzone]=nsd
        [unbound]=unbound [unbound-control]=unbound [unbound-checkconf]=unbound
        [dnssec-signzone]=bind9-utils [dnssec-keygen]=bind9-utils
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
    { read -r comm <"/proc/$pid/comm"; } 2>/dev/null || return 1
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

# slurp FILE: the whole file in SLURP (builtin read: no fork, lab/up stays fast on a loaded machine)
slurp() {
    SLURP=
    IFS= read -r -d '' SLURP <"$1" || true
}

# materialise SRC DOMAIN [ROOT]: copy a scenario folder into $STATE/scenarios, filling in placeholders:
#   {{POLICY_HOST}} the policy host address, {{DOMAIN}} the scenario domain, {{BUMP}} the lab-bump counter
# (pure bash, no forks per file: lab/up stays fast on a loaded machine)
# ({{TLSA …}} is filled afterwards by fill_tlsa, once the MX certificates exist)
materialise() {
    local src=$1 domain=$2 dst=${3:-$STATE/scenarios}/$2
    rm -rf "$dst.new"
    mkdir -p "$dst.new"
    materialise_files "$src" "$domain" "$dst.new"
    rm -rf "$dst"
    mv "$dst.new" "$dst"
}

# materialise_files SRC DOMAIN DST: the placeholder-filling copy into an existing, empty DST
materialise_files() {
    local src=$1 domain=$2 dst=$3 f text bump=0
    [[ ! -f $STATE/bump/$domain ]] || read -r bump <"$STATE/bump/$domain"
    for f in "$src"/*; do
        [[ -f $f ]] || continue
        text=
        IFS= read -r -d '' text <"$f" || true
        text=${text//\{\{POLICY_HOST\}\}/$ADDR_POLICY}
        text=${text//\{\{DOMAIN\}\}/$domain}
        text=${text//\{\{BUMP\}\}/$bump}
        printf '%s' "$text" >"$dst/${f##*/}"
    done
}

# Materialise every scenario from every source dir into $STATE/scenarios.next, and record where each
# came from in $STATE/scenario-sources.next; commit_scenarios makes them current once validated.
materialise_all() {
    local dir src domain next=$STATE/scenarios.next
    local -A seen=()
    local order=() dirs=()
    rm -rf "$next"
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
            order+=("$domain")
            dirs+=("$next/$domain")
        done
    done < <(scenario_source_dirs)
    mkdir -p "$next" "${dirs[@]}" # one mkdir for all: forks are what is slow on a loaded machine
    : >"$STATE/scenario-sources.next"
    for domain in "${order[@]}"; do
        materialise_files "${seen[$domain]}" "$domain" "$next/$domain"
        printf '%s\t%s\n' "$domain" "${seen[$domain]}" >>"$STATE/scenario-sources.next"
    done
}

commit_scenarios() {
    rm -rf "$STATE/scenarios"
    mv "$STATE/scenarios.next" "$STATE/scenarios"
    mv "$STATE/scenario-sources.next" "$STATE/scenario-sources"
    load_scenarios
}

# load_scenarios: SCENARIOS (domains), SOURCE[domain] (source folder), PARENT[domain] (the closest
# enclosing scenario zone, else "test") from $STATE/scenario-sources, and SIGNING[domain] (the
# `signing` mode, default signed) from the materialised scenario.conf files
load_scenarios() {
    local d src p v confs
    SCENARIOS=()
    declare -gA SOURCE=() PARENT=() SIGNING=()
    while IFS=$'\t' read -r d src; do
        SCENARIOS+=("$d")
        SOURCE[$d]=$src
        SIGNING[$d]=signed
    done <"$STATE/scenario-sources"
    for d in "${SCENARIOS[@]}"; do
        p=${d#*.}
        while [[ $p == *.* && -z ${SOURCE[$p]:-} ]]; do p=${p#*.}; done
        PARENT[$d]=$p
    done
    confs=("$STATE/scenarios/"*/scenario.conf)
    ((${#confs[@]})) || return 0
    while IFS=$'\t' read -r d v; do
        [[ -z ${SIGNING[$d]:-} || -z $v ]] || SIGNING[$d]=$v
    done < <(awk '
        FNR == 1 { n = split(FILENAME, p, "/"); dom = p[n - 1] }
        { sub(/(^|[ \t])#.*/, "") }
        index($0, "=") {
            k = substr($0, 1, index($0, "=") - 1); v = substr($0, index($0, "=") + 1)
            gsub(/^[ \t]+|[ \t]+$/, "", k); gsub(/^[ \t]+|[ \t]+$/, "", v)
            if (k == "signing") print dom "\t" v
        }' "${confs[@]}")
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

# --- MX hosts: certificates and the receivers' host table ------------------------------------------

# mx_table [ROOT]: one line per MX host of the (materialised) scenarios in ROOT:
#   ADDR HOST DOMAIN CERT STARTTLS LISTEN MITM   (tab-separated; MITM: `mx.mitm`, default no)
# An MX host is the owner of an A record in 127.0.1.0/24, 127.0.2.0/24 or 127.0.9.0/24 (wildcard
# owners excepted). CERT/STARTTLS/LISTEN come from scenario.conf: `mx.KEY[HOST]` (HOST relative to
# the domain, `@`, or the full name) over `mx.KEY` over the default (good, yes, yes).
mx_table() {
    local root=${1:-$STATE/scenarios} confs zones
    confs=("$root"/*/scenario.conf)
    zones=("$root"/*/zone)
    ((${#zones[@]})) || return 0
    awk -v addr_re="$MX_ADDR_RE" '
        function trim(s) { gsub(/^[ \t]+|[ \t]+$/, "", s); return s }
        function setting(key, dflt) {
            if ((dom SUBSEP key "[" rel "]") in conf) return conf[dom, key "[" rel "]"]
            if ((dom SUBSEP key "[" host "]") in conf) return conf[dom, key "[" host "]"]
            if ((dom SUBSEP key) in conf) return conf[dom, key]
            return dflt
        }
        FNR == 1 { n = split(FILENAME, p, "/"); dom = p[n - 1]; file = p[n]; owner = "" }
        file == "scenario.conf" {
            line = $0
            sub(/(^|[ \t])#.*/, "", line)
            if (!(i = index(line, "="))) next
            conf[dom, trim(substr(line, 1, i - 1))] = trim(substr(line, i + 1))
            next
        }
        /^[ \t]*(;|$)/ || /^\$/ { next }
        {
            sub(/;.*/, "")
            if ($0 !~ /^[ \t]/) owner = $1
            for (i = 1; i < NF; i++) if ($i == "A") {
                if ($(i + 1) !~ addr_re || owner ~ /\*/) break
                rel = tolower(owner)
                if (rel == "@") host = dom
                else if (rel ~ /\.$/) { host = substr(rel, 1, length(rel) - 1); rel = host }
                else host = rel "." dom
                if (host == dom) rel = "@"
                printf "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", $(i + 1), host, dom, setting("mx.cert", "good"), \
                    setting("mx.starttls", "yes"), setting("mx.listen", "yes"), setting("mx.mitm", "no")
                break
            }
        }' "${confs[@]}" "${zones[@]}" | sort -uV
}

# ensure_mx_pki TABLE ROOT: a key and a certificate of the wanted variant for every host of an
# mx_table file, in $STATE/pki/mx/<host>/ (key.pem, cert.pem, chain.pem = leaf + intermediate,
# variant), plus old-key.pem/old-cert.pem/old-chain.pem for each host a {{TLSA … HOST:old}} in the
# scenario files under ROOT refers to. Keys are kept (TLSA data stays valid); a certificate is
# (re-)issued when missing, when its variant changed or 30 days before it expires. The issuing is
# one `Rampart.Lab mx-certs` run (variants: see issue list below and lab/README.md).
ensure_mx_pki() {
    local addr host dom cert starttls listen dir have renew now=${EPOCHREALTIME%.*} f text ref
    local re='\{\{TLSA[^}]*[[:space:]]([^}[:space:]]+):old[[:space:]]*\}\}'
    local list=$STATE/pki/mx/.issue
    local -A known=()
    mkdir -p "$STATE/pki/mx"
    : >"$list"
    while IFS=$'\t' read -r addr host dom cert starttls listen _; do
        known[$host]=1
        dir=$STATE/pki/mx/$host
        have=
        renew=0
        [[ ! -s $dir/variant || ! -s $dir/chain.pem || ! -s $dir/key.pem ]] || read -r have renew <"$dir/variant"
        if [[ $have != "$cert" ]] || ((renew && renew < now)); then
            printf '%s\t%s\t%s\n' "$dir" "$host" "$cert" >>"$list"
        fi
    done <"$1"
    for f in "$2"/*/*; do
        text=
        IFS= read -r -d '' text <"$f" || true
        while [[ $text =~ $re ]]; do
            ref=${BASH_REMATCH[1],,}
            text=${text#*"${BASH_REMATCH[0]}"}
            [[ -n ${known[$ref]:-} ]] || continue # fill_tlsa reports it
            dir=$STATE/pki/mx/$ref
            [[ -s $dir/old-cert.pem && -s $dir/old-key.pem ]] || printf '%s\t%s\tgood\told-\n' "$dir" "$ref" >>"$list"
        done
    done
    [[ -s $list ]] || return 0
    sort -u -o "$list" "$list"
    "$LAB_BIN" mx-certs --pki "$STATE/pki" --list "$list" >>"$STATE/log/pki.log" 2>&1 \
        || die "issuing MX certificates failed (see $STATE/log/pki.log)"
}

# tlsa_rdata USAGE SELECTOR MTYPE REF: sets TLSA_RDATA to the TLSA record data for REF = an MX host
# name (its current certificate), HOST:old (an older key and certificate of that host, never
# presented), `intermediate` or `root` (the lab CA). Selector 0 = the whole certificate (DER), 1 =
# its SubjectPublicKeyInfo (DER); matching type 0 = full hex, 1 = SHA-256, 2 = SHA-512, computed
# with openssl and cached next to the certificate (mx-certs drops the cache when it re-issues).
tlsa_rdata() {
    local u=$1 s=$2 m=$3 ref=${4,,} cert cache host dir
    [[ $u =~ ^[0-9]{1,3}$ && $s =~ ^[01]$ && $m =~ ^[012]$ ]] \
        || { echo "bad TLSA parameters '$u $s $m' (selector 0|1, matching type 0|1|2)" >&2; return 1; }
    case $ref in
        intermediate | root)
            cert=$STATE/pki/$ref.crt
            cache=$STATE/pki/tlsa-$ref-
            ;;
        *)
            host=${ref%:old}
            dir=$STATE/pki/mx/$host
            [[ -s $dir/cert.pem ]] \
                || { echo "$host is not an MX host of any scenario (an A record in 127.0.1/2/9.x)" >&2; return 1; }
            if [[ $ref == "$host:old" ]]; then
                cert=$dir/old-cert.pem
                cache=$dir/tlsa-old-
            elif [[ $ref == "$host" ]]; then
                cert=$dir/cert.pem
                cache=$dir/tlsa-
            else
                echo "bad reference '$4' (HOST, HOST:old, intermediate or root)" >&2
                return 1
            fi
            ;;
    esac
    if [[ ! -s $cache$s$m ]]; then
        {
            if ((s == 0)); then
                openssl x509 -in "$cert" -outform DER
            else
                openssl x509 -in "$cert" -pubkey -noout | openssl pkey -pubin -outform DER
            fi
        } | case $m in
            0) od -An -v -tx1 | tr -d ' \n' ;;
            1) openssl dgst -sha256 -r ;;
            2) openssl dgst -sha512 -r ;;
        esac >"$cache$s$m.new"
        [[ -s $cache$s$m.new ]] || { echo "computing TLSA $s $m of $cert failed" >&2; return 1; }
        mv "$cache$s$m.new" "$cache$s$m"
    fi
    read -r TLSA_RDATA _ <"$cache$s$m" # (dgst -r prints "HEX *stdin")
    TLSA_RDATA="$u $s $m $TLSA_RDATA"
}

# fill_tlsa DIR: replace every {{TLSA U S M REF}} in the files of a materialised scenario folder by
# that TLSA record data (see tlsa_rdata)
fill_tlsa() {
    local f text out m
    local re='\{\{TLSA[[:space:]]+([0-9]+)[[:space:]]+([0-9]+)[[:space:]]+([0-9]+)[[:space:]]+([^}[:space:]]+)[[:space:]]*\}\}'
    for f in "$1"/*; do
        [[ -f $f ]] || continue
        text=
        IFS= read -r -d '' text <"$f" || true
        [[ $text == *'{{TLSA'* ]] || continue
        out=
        while [[ $text =~ $re ]]; do
            m=("${BASH_REMATCH[@]}") # tlsa_rdata's own [[ =~ ]] overwrites BASH_REMATCH
            tlsa_rdata "${m[1]}" "${m[2]}" "${m[3]}" "${m[4]}" \
                || die "scenario ${1##*/}: cannot fill ${m[0]} in ${f##*/} (above)"
            out+=${text%%"${m[0]}"*}$TLSA_RDATA
            text=${text#*"${m[0]}"}
        done
        [[ $text != *'{{TLSA'* ]] \
            || die "scenario ${1##*/}: malformed {{TLSA …}} in ${f##*/} (syntax: {{TLSA 3 1 1 HOST|HOST:old|intermediate|root}})"
        printf '%s' "$out$text" >"$f"
    done
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

# ensure_keys ZONE ALG: sets KD to the key dir, holding files `ksk` and `zsk` with the key base
# names. KEYSET (a suffix for the dir) and KEYGEN_OPTS (extra dnssec-keygen options, e.g. back-dated
# timing) select a separate key set.
ensure_keys() {
    local opts
    KD=$STATE/dns/keys/${1/#./root}/$2${KEYSET:-}
    read -ra opts <<<"${KEYGEN_OPTS:-}"
    if [[ ! -s $KD/ksk || ! -s $KD/zsk ]]; then
        rm -rf "$KD"
        mkdir -p "$KD"
        dnssec-keygen -q -K "$KD" -a "$2" "${opts[@]}" -f KSK -n ZONE "${1%.}." >"$KD/ksk"
        dnssec-keygen -q -K "$KD" -a "$2" "${opts[@]}" -n ZONE "${1%.}." >"$KD/zsk"
    fi
}

# sign_dnssec ZONE IN OUT ALG [dnssec-signzone options...]: sign with the zone's KSK+ZSK for ALG and
# write the DS set for the parent to $STATE/dns/zones/<zone>.ds
sign_dnssec() {
    local zone=$1 in=$2 out=$3 alg=$4 ksk zsk
    shift 4
    ensure_keys "$zone" "$alg"
    read -r ksk <"$KD/ksk"
    read -r zsk <"$KD/zsk"
    ksk=$KD/$ksk
    zsk=$KD/$zsk
    # validity: from an hour ago (dnssec-signzone's default) to +30 days, unless a mode sets SIG_START/SIG_END
    local validity=(-e "${SIG_END:-+2592000}")
    [[ -z ${SIG_START:-} ]] || validity+=(-s "$SIG_START")
    {
        slurp "$in" && printf '%s' "$SLURP"
        slurp "$ksk.key" && printf '%s' "$SLURP"
        slurp "$zsk.key" && printf '%s' "$SLURP"
    } >"$in.keys"
    dnssec-signzone -q -a -N keep -d "$STATE/dns/zones" -o "${zone%.}." "${validity[@]}" \
        -k "$ksk" -f "$out" "$@" "$in.keys" "$zsk" >/dev/null \
        || die "dnssec-signzone failed for zone $zone (input $in.keys)"
    # the DS set (SHA-256) dnssec-signzone wrote as dsset-<zone>. (no dnssec-dsfromkey: one fork less per zone)
    slurp "$STATE/dns/zones/dsset-${zone%.}."
    [[ $SLURP == *[[:space:]]DS[[:space:]]* ]] || die "dnssec-signzone wrote no DS set for zone $zone"
    printf '%s' "$SLURP" >"$STATE/dns/zones/${zone/#./root}.ds"
}

# tamper_rrsigs MODE TYPE IN OUT: in a zone signed with `dnssec-signzone -O full` (one record per
# line: owner ttl class RRSIG covered alg labels ottl expiration inception tag signer signature…),
# corrupt (MODE bogus: one base64 character of the signature changed, so it still parses) or delete
# (MODE stripped) every RRSIG covering TYPE. The zone stays signed and its DS stays in the parent,
# so a validator finds the TYPE answer bogus. Fails when the zone has no such RRSIG.
tamper_rrsigs() {
    awk -v mode="$1" -v type="$2" '
        $4 == "RRSIG" && $5 == type {
            n++
            if (mode == "stripped") next
            c = substr($14, 5, 1)
            $14 = substr($14, 1, 4) (c == "A" ? "B" : "A") substr($14, 6)
        }
        { print }
        END { if (!n) { print "no RRSIG covering " type " to tamper with" > "/dev/stderr"; exit 1 } }' "$3" >"$4"
}

# sign_zone ZONE MODE IN OUT: the one place signing modes are defined. Writes OUT (what NSD serves)
# and <zone>.ds (the DS set the parent publishes; empty = insecure delegation).
sign_zone() {
    local zone=$1 mode=$2 in=$3 out=$4 past
    case $mode in
        signed) sign_dnssec "$zone" "$in" "$out" "$DEFAULT_ALG" ;;
        rsasha256) sign_dnssec "$zone" "$in" "$out" RSASHA256 ;;
        p384) sign_dnssec "$zone" "$in" "$out" ECDSAP384SHA384 ;;
        ed25519) sign_dnssec "$zone" "$in" "$out" ED25519 ;;
        nsec3) sign_dnssec "$zone" "$in" "$out" "$DEFAULT_ALG" -3 "$NSEC3_SALT" -H 0 ;;
        # signatures valid for 2 days (lab/up re-signs every 12 h while a zone uses this mode)
        expiring) SIG_END=now+172800 sign_dnssec "$zone" "$in" "$out" "$DEFAULT_ALG" ;;
        # every signature (the DNSKEY RRset's too) valid from 40 to 10 days ago, far beyond a
        # validator's clock-skew allowance; keys of their own, published and active since 60 days
        # before they were made; -P skips the post-signing check that rejects expired signatures
        expired)
            past=$(date -u -d '60 days ago' +%Y%m%d%H%M%S)
            KEYSET=-backdated KEYGEN_OPTS="-P $past -A $past" \
                SIG_START=$(date -u -d '40 days ago' +%Y%m%d%H%M%S) SIG_END=$(date -u -d '10 days ago' +%Y%m%d%H%M%S) \
                sign_dnssec "$zone" "$in" "$out" "$DEFAULT_ALG" -P
            ;;
        # sign, then break (bogus) or delete (stripped) the RRSIGs of the TLSA RRsets
        bogus | stripped)
            sign_dnssec "$zone" "$in" "$out.full" "$DEFAULT_ALG" -O full
            tamper_rrsigs "$mode" TLSA "$out.full" "$out" || die "zone $zone (signing = $mode) needs a TLSA RRset"
            ;;
        unsigned)
            cp "$in" "$out"
            : >"$STATE/dns/zones/${zone/#./root}.ds"
            ;;
        *) die "zone $zone: unknown signing mode '$mode' (known: signed, unsigned, rsasha256, p384, ed25519, nsec3, expiring, expired, bogus, stripped)" ;;
    esac
}

# build_zone ZONE SERIAL: assemble <zone>.zone (SOA, NS, scenario records, delegations) and sign it
build_zone() {
    local zone=$1 serial=$2 origin=${1%.}. mode in out child
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
                [[ ! -f $STATE/scenarios/$zone/zone ]] || { slurp "$STATE/scenarios/$zone/zone" && printf '%s' "$SLURP"; }
                echo
                ;;
        esac
        echo "; ---- delegations ----"
        if [[ $zone == . ]]; then
            echo "test. IN NS $NS_NAME"
            slurp "$STATE/dns/zones/test.ds" && printf '%s' "$SLURP"
        else
            for child in "${SCENARIOS[@]}"; do
                [[ ${PARENT[$child]} == "$zone" ]] || continue
                echo "$child. IN NS $NS_NAME"
                slurp "$STATE/dns/zones/$child.ds" && printf '%s' "$SLURP"
            done
        fi
    } >"$in"
    mode=signed
    [[ $zone == . || $zone == test ]] || mode=${SIGNING[$zone]:-signed}
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
    rm -f "$STATE/dns/zones/"*.zone "$STATE/dns/zones/"*.db "$STATE/dns/zones/"*.ds "$STATE/dns/zones/"*.keys \
        "$STATE/dns/zones/"*.full "$STATE/dns/zones/"dsset-*
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
    # how old signatures may get before lab/up re-signs: a week; 12 h while a zone is `expiring`
    if grep -qsE '^[[:space:]]*signing[[:space:]]*=[[:space:]]*expiring([[:space:]#]|$)' "$STATE/scenarios/"*/scenario.conf; then
        echo $((12 * 3600)) >"$STATE/dns/max-age"
    else
        echo $((7 * 86400)) >"$STATE/dns/max-age"
    fi
    cp "$STATE/dns/zones/root.ds" "$STATE/dns/root.anchor"
    printf '. 3600000 IN NS %s\n%s 3600000 IN A %s\n' "$NS_NAME" "$NS_NAME" "$ADDR_NSD" >"$STATE/dns/root.hints"
    echo "${EPOCHREALTIME%.*}" >"$STATE/dns/signed-at"
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
            printf 'zone:\n    name: "%s"\n    zonefile: "%s.db"\n' "${d%.}." "${d/#./root}"
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
