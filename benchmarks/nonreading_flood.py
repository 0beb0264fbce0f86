#!/usr/bin/env python3
"""Connections that send socketmap requests and never read the replies (issue 13, defect 2), against a daemon.

    nonreading_flood.py --target 127.0.0.1:8461 --pid PID [--connections 600] [--seconds 120] [--probes 0.25]

Opens C connections (all of them first), then writes to each, non-blocking, a mix of requests the daemon answers
without DNS (98 % `[192.0.2.N]` -> NOTFOUND, 2 % with a control character -> PERM malformed request) until no connection
accepts more for 2 s or --seconds have passed. Meanwhile, every --probes seconds, a fresh connection asks one lookup
and its latency (connect + request + reply) is recorded. Prints the daemon's RSS (VmRSS of PID) before, while the
connections are held, and for 30 s after they are closed, the probe latencies (during the flood, and once it has
stalled) and the bytes the flood wrote (most of which stay in the flood's own socket buffers).
Every loop is bounded: --seconds for the flood, 30 s after, 10 s per probe.
"""
import argparse, os, select, socket, statistics, threading, time


def netstring(text):
    data = text.encode()
    return str(len(data)).encode() + b":" + data + b","


def rss_mib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def lookup_ms(host, port, key):
    start = time.perf_counter()
    with socket.create_connection((host, port), timeout=10) as s:
        s.sendall(netstring("postfix " + key))
        reply = b""
        while not reply.endswith(b","):
            chunk = s.recv(4096)
            if not chunk:
                raise ConnectionError("closed without a reply")
            reply += chunk
    return (time.perf_counter() - start) * 1000


def summary(values):
    if not values:
        return "none"
    values = sorted(values)
    p = lambda q: values[min(len(values) - 1, int(q * len(values)))]
    return f"n={len(values)} p50={p(0.5):.1f} ms p90={p(0.9):.1f} ms max={values[-1]:.1f} ms mean={statistics.mean(values):.1f} ms"


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", required=True)
    parser.add_argument("--pid", type=int, required=True)
    parser.add_argument("--connections", type=int, default=600)
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--probes", type=float, default=0.25)
    args = parser.parse_args()
    host, port = args.target.rsplit(":", 1)
    port = int(port)

    chunk = b"".join(netstring("postfix \x01bad") if i % 50 == 0 else netstring(f"postfix [192.0.2.{i % 250}]")
                     for i in range(500))
    lookup_ms(host, port, "[198.51.100.1]")
    before = rss_mib(args.pid)
    print(f"flood: RSS before {before:.1f} MiB; {args.connections} connections to {args.target}", flush=True)

    flood = [socket.create_connection((host, port), timeout=10) for _ in range(args.connections)]
    for s in flood:
        s.setblocking(False)

    probes, stop, stalled_at = [], threading.Event(), [None]
    def probe():
        n = 0
        while not stop.is_set():
            n += 1
            try:
                probes.append((time.monotonic(), lookup_ms(host, port, f"[198.51.100.{2 + n % 250}]")))
            except OSError as error:
                probes.append((time.monotonic(), float("inf")))
                print(f"flood: probe failed: {error}", flush=True)
            stop.wait(args.probes)
    prober = threading.Thread(target=probe)
    start = time.monotonic()
    prober.start()

    written, last_progress, peak = 0, time.monotonic(), before
    while time.monotonic() - start < args.seconds and time.monotonic() - last_progress < 2:
        _, writable, _ = select.select([], flood, [], 0.5)
        for s in writable:
            try:
                n = s.send(chunk)
                written += n
                last_progress = time.monotonic()
            except (BlockingIOError, InterruptedError):
                pass
        peak = max(peak, rss_mib(args.pid))
    stalled_at[0] = time.monotonic()
    during = rss_mib(args.pid)
    print(f"flood: stalled after {stalled_at[0] - start:.1f} s (bound {args.seconds:.0f} s); wrote {written / 2**20:.0f} MiB; "
          f"RSS {during:.1f} MiB held, peak {peak:.1f} MiB", flush=True)
    stop.wait(5)  # probes once everything has stalled
    stop.set()
    prober.join()
    print(f"flood: fresh lookups during the flood: {summary([ms for t, ms in probes if t < stalled_at[0]])}")
    print(f"flood: fresh lookups once it stalled: {summary([ms for t, ms in probes if t >= stalled_at[0]])}")
    held = rss_mib(args.pid)
    for s in flood:
        s.close()
    closed = time.monotonic()
    samples = []
    while time.monotonic() - closed < 30:
        time.sleep(5)
        samples.append(f"{time.monotonic() - closed:.0f}s {rss_mib(args.pid):.1f}")
    print(f"flood: RSS with the connections held {held:.1f} MiB; after closing them (MiB): {', '.join(samples)}")
    print(f"flood: a lookup after: {lookup_ms(host, port, '[198.51.100.254]'):.1f} ms")


if __name__ == "__main__":
    main()
