#!/usr/bin/python3
"""Load run of postfix-mta-sts-resolver's resolver library against the Rampart lab.

The peer's side of `Rampart.Benchmarks resolve-lab`: N distinct, fresh b<i>-<run>.bench.test domains
resolved through postfix_mta_sts_resolver.resolver.STSResolver (the object its daemon uses for every cache
miss: _mta-sts TXT over aiodns, policy fetch over aiohttp, parse), at most C at a time on one asyncio loop
(uvloop when installed, as mta-sts-daemon does by default). Logging at WARNING, as the daemon's `-v warn`.

Run it inside the lab (lab/run bind-mounts the lab's /etc/resolv.conf, which c-ares and getaddrinfo read,
and sets SSL_CERT_FILE to the lab CA bundle, which OpenSSL's default verify paths honour):

    lab/run /usr/bin/python3 benchmarks/peer/sts_resolve_bench.py --count 1000 --concurrency 32

(/usr/bin/python3: the Debian Python the package is installed for; a pyenv or venv python3 on PATH lacks it.)

It prints the same report as the Rampart runner. A decision counts as success only when the resolver returns
a valid policy in mode enforce (what the daemon turns into `secure match=...`); anything else is an error.
Exit status: 0 all succeeded, 1 some did not (or the time limit hit), 2 usage or setup error.
"""

import argparse
import asyncio
import logging
import os
import platform
import re
import sys
import time

try:
    from importlib.metadata import version as _dist_version
except ImportError:  # pragma: no cover
    _dist_version = None


class ExampleCollector(logging.Handler):
    """Keeps the first few warnings the resolver logs (it logs fetch failures with their cause)."""

    def __init__(self, keep=5):
        super().__init__(level=logging.WARNING)
        self.keep = keep
        self.messages = []
        self.total = 0

    def emit(self, record):
        self.total += 1
        if len(self.messages) < self.keep:
            self.messages.append(record.getMessage())


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Resolve N fresh <label>.bench.test domains with postfix-mta-sts-resolver, C at a time.")
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--warmup", type=int, default=10, help="domains resolved first and not counted (default 10)")
    parser.add_argument("--time-limit", type=float, default=300.0, help="hard stop in seconds (default 300)")
    parser.add_argument("--run-id", default=None, help="label part that makes the names fresh (default: time and pid)")
    parser.add_argument("--zone", default="bench.test")
    parser.add_argument("--timeout", type=float, default=None, help="STSResolver timeout in seconds (default: the package's, 4)")
    parser.add_argument("--no-uvloop", action="store_true", help="plain asyncio loop instead of uvloop")
    args = parser.parse_args(argv)
    if not 0 < args.count <= 1_000_000 or not 0 < args.concurrency <= 10_000 or args.warmup < 0 or not 0 < args.time_limit <= 3600:
        parser.error("count 1..1000000, concurrency 1..10000, warmup >= 0, time limit 0..3600")
    if args.run_id is None:
        args.run_id = "%x%x" % (int(time.time()), os.getpid())
    if not re.fullmatch(r"[A-Za-z0-9-]{1,40}", args.run_id):
        parser.error("--run-id: letters, digits and '-' only")
    args.zone = args.zone.rstrip(".")
    return args


def names(run_id, count, zone):
    return ["b%d-%s.%s" % (i, run_id, zone) for i in range(count)]


def percentile(sorted_values, p):
    """Nearest-rank percentile (the same definition as the Rampart runner)."""
    rank = -(-p * len(sorted_values) // 100)  # ceil
    rank = min(max(int(rank), 1), len(sorted_values))
    return sorted_values[rank - 1]


def peak_working_set_mib():
    """VmHWM from /proc/self/status: what .NET reports as Process.PeakWorkingSet64 on Linux."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def cpu_seconds():
    """User + system CPU of this process, every thread (aiohttp's getaddrinfo threads included)."""
    import resource
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def classify(result, fetch_result):
    """Maps STSResolver.resolve's (status, payload) onto the decision names of `rampart resolve --json`."""
    status, payload = result
    if status is fetch_result.VALID:
        mode = payload[1].get("mode")
        return {"enforce": "mta-sts", "testing": "mta-sts-testing"}.get(mode, "none"), None
    if status is fetch_result.NONE:
        return "none", "no usable _mta-sts TXT record"
    if status is fetch_result.FETCH_ERROR:
        return "fetch-error", ("FETCH_ERROR (a failed policy fetch is logged below with its cause; "
                               "a TXT lookup timeout or DNS error is not logged by the resolver)")
    return str(status), None


async def run_batch(resolver, fetch_result, domains, concurrency, deadline):
    """Resolves every domain, at most `concurrency` at a time; returns (outcomes, wall seconds, not started)."""
    outcomes = [None] * len(domains)
    gate = asyncio.Semaphore(concurrency)
    loop = asyncio.get_running_loop()

    async def one(index, domain):
        started = time.perf_counter()
        try:
            kind, why = classify(await resolver.resolve(domain), fetch_result)
            elapsed = (time.perf_counter() - started) * 1000.0
            detail = None if kind == "mta-sts" else "%s: %s after %.0f ms%s" % (domain, kind, elapsed, ", " + why if why else "")
            outcomes[index] = (kind, elapsed, detail)
        except asyncio.CancelledError:
            outcomes[index] = ("cancelled", (time.perf_counter() - started) * 1000.0, "%s: cancelled by the time limit" % domain)
            raise
        except Exception as exc:  # pylint: disable=broad-except
            outcomes[index] = ("exception", (time.perf_counter() - started) * 1000.0, "%s: %s: %s" % (domain, type(exc).__name__, exc))
        finally:
            gate.release()

    tasks = []
    not_started = 0
    wall_start = time.perf_counter()
    for index, domain in enumerate(domains):
        try:
            await asyncio.wait_for(gate.acquire(), timeout=max(deadline - loop.time(), 0.0))
        except asyncio.TimeoutError:
            not_started = len(domains) - index
            for j in range(index, len(domains)):
                outcomes[j] = ("not-started", None, "time limit reached before this lookup started")
            break
        tasks.append(asyncio.ensure_future(one(index, domain)))
    if tasks:
        _, pending = await asyncio.wait(tasks, timeout=max(deadline - loop.time(), 0.0))
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
    wall = time.perf_counter() - wall_start
    return outcomes, wall, not_started


async def main_async(args, collector):
    from postfix_mta_sts_resolver import defaults
    from postfix_mta_sts_resolver.resolver import STSResolver, STSFetchResult

    loop = asyncio.get_running_loop()
    timeout = args.timeout if args.timeout is not None else defaults.TIMEOUT
    resolver = STSResolver(loop=loop, timeout=timeout)
    deadline = loop.time() + args.time_limit

    if args.warmup > 0:
        warm, _, _ = await run_batch(resolver, STSFetchResult, names("w" + args.run_id, args.warmup, args.zone),
                                     min(args.concurrency, args.warmup), deadline)
        print("warmup: %d domains, %d mta-sts (not counted)" % (args.warmup, sum(1 for o in warm if o and o[0] == "mta-sts")))
        collector.messages.clear()
        collector.total = 0

    domains = names(args.run_id, args.count, args.zone)
    print("domains: %d (%s … %s), concurrency: %d, time limit: %.0f s, resolver timeout: %g s"
          % (args.count, domains[0], domains[-1], args.concurrency, args.time_limit, timeout))
    cpu_before = cpu_seconds()
    outcomes, wall, not_started = await run_batch(resolver, STSFetchResult, domains, args.concurrency, deadline)
    return outcomes, wall, not_started, cpu_seconds() - cpu_before


def report(outcomes, wall, not_started, cpu, concurrency, collector):
    # Decided lookups only: a lookup cut short by the time limit has no decision and no meaningful latency.
    done = [o for o in outcomes if o is not None and o[0] not in ("not-started", "cancelled")]
    latencies = sorted(o[1] for o in done)
    ok = sum(1 for o in outcomes if o is not None and o[0] == "mta-sts")
    errors = len(outcomes) - ok
    counts = {}
    for outcome in outcomes:
        kind = outcome[0] if outcome is not None else "missing"
        counts[kind] = counts.get(kind, 0) + 1

    print("wall: %.3f s" % wall)
    print("lookups/s: %.1f (%d decided)" % (len(done) / wall if wall > 0 else 0.0, len(done)))
    if latencies:
        print("latency ms: p50 %.1f  p95 %.1f  p99 %.1f  max %.1f"
              % (percentile(latencies, 50), percentile(latencies, 95), percentile(latencies, 99), latencies[-1]))
    else:
        print("latency ms: none completed")
    print("outcomes: " + ", ".join("%s=%d" % kv for kv in sorted(counts.items(), key=lambda kv: -kv[1])))
    print("errors: %d" % errors)
    for detail in [o[2] for o in outcomes if o is not None and o[2]][:5]:
        print("  e.g. " + detail)
    if collector.total:
        print("resolver warnings logged: %d" % collector.total)
        for message in collector.messages:
            print("  log: " + message)
    print("cpu (this process, user+sys): %.2f s, %.2f ms per lookup" % (cpu, cpu * 1000.0 / max(len(done), 1)))
    print("peak working set: %.1f MiB" % peak_working_set_mib())
    print("concurrency: %d" % concurrency)
    return 0 if errors == 0 and not_started == 0 else 1


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if os.environ.get("RAMPART_LAB") != "1":
        print("sts_resolve_bench: not inside the lab (RAMPART_LAB is not 1): run it as `lab/run /usr/bin/python3 %s ...` after `lab/up`." % sys.argv[0],
              file=sys.stderr)
        return 2
    try:
        import postfix_mta_sts_resolver  # noqa: F401
    except ImportError:
        print("sts_resolve_bench: postfix_mta_sts_resolver is not importable by %s: apt-get install -y postfix-mta-sts-resolver and use /usr/bin/python3" % sys.executable, file=sys.stderr)
        return 2

    collector = ExampleCollector()
    logging.basicConfig(level=logging.WARNING, handlers=[collector])

    loop_name = "asyncio"
    if not args.no_uvloop:
        from postfix_mta_sts_resolver import utils
        if utils.enable_uvloop():
            loop_name = "uvloop"

    def dist(name):
        try:
            return _dist_version(name) if _dist_version else "?"
        except Exception:  # pylint: disable=broad-except
            return "?"

    print("runner: postfix-mta-sts-resolver %s (STSResolver; Python %s, aiohttp %s, aiodns %s, %s loop, %d CPUs)"
          % (dist("postfix_mta_sts_resolver"), platform.python_version(), dist("aiohttp"), dist("aiodns"), loop_name, os.cpu_count()))
    print("resolver: /etc/resolv.conf (%s); SSL_CERT_FILE: %s"
          % (" ".join(l.strip() for l in open("/etc/resolv.conf", encoding="ascii") if l.startswith("nameserver")),
             os.environ.get("SSL_CERT_FILE", "unset")))
    sys.stdout.flush()

    outcomes, wall, not_started, cpu = asyncio.run(main_async(args, collector))
    return report(outcomes, wall, not_started, cpu, args.concurrency, collector)


if __name__ == "__main__":
    sys.exit(main())
