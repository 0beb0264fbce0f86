#!/usr/bin/env python3
"""exim_line_load.py SOCKET DOMAIN [--requests N] [--concurrency C] [--seconds S]

Asks rampart daemon's Exim line listener what Exim's ${readsocket} asks: one connection per request, "DOMAIN\\n",
the sending half shut down, the reply read until the daemon closes. Bounded: at most N requests (default 5000) and
S seconds (default 60), whichever comes first. Prints one line: requests, errors, rate, and latency p50/p90/p99/max
(connect to close). SOCKET is a Unix socket path or IP:PORT.
"""
import argparse, socket, statistics, threading, time

def ask(target, domain):
    if ":" in target and not target.startswith("/"):
        host, port = target.rsplit(":", 1)
        s = socket.create_connection((host, int(port)), timeout=10)
    else:
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(10)
        s.connect(target)
    with s:
        s.sendall(domain.encode() + b"\n")
        s.shutdown(socket.SHUT_WR)
        data = b""
        while chunk := s.recv(4096):
            data += chunk
    return data

def main():
    p = argparse.ArgumentParser()
    p.add_argument("socket"); p.add_argument("domain")
    p.add_argument("--requests", type=int, default=5000)
    p.add_argument("--concurrency", type=int, default=1)
    p.add_argument("--seconds", type=float, default=60)
    a = p.parse_args()
    expected = ask(a.socket, a.domain)  # warm: the decision is cached from here on
    lock, latencies, errors, issued = threading.Lock(), [], [0], [0]
    deadline = time.monotonic() + a.seconds
    def worker():
        while True:
            with lock:
                if issued[0] >= a.requests or time.monotonic() > deadline:
                    return
                issued[0] += 1
            t = time.perf_counter()
            try:
                ok = ask(a.socket, a.domain) == expected
            except OSError:
                ok = False
            elapsed = time.perf_counter() - t
            with lock:
                latencies.append(elapsed) if ok else None
                errors[0] += 0 if ok else 1
    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(a.concurrency)]
    for t in threads: t.start()
    for t in threads: t.join()
    wall = time.monotonic() - started
    q = statistics.quantiles(latencies, n=100) if len(latencies) > 1 else [0] * 99
    print(f"reply {expected.decode().strip()!r}: {len(latencies)} ok, {errors[0]} errors, {len(latencies) / wall:.0f}/s over {wall:.1f} s, "
          f"concurrency {a.concurrency}; ms p50 {q[49]*1e3:.2f} p90 {q[89]*1e3:.2f} p99 {q[98]*1e3:.2f} max {max(latencies, default=0)*1e3:.2f}")

if __name__ == "__main__":
    main()
