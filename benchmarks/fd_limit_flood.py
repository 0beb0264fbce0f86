#!/usr/bin/env python3
"""The daemon at its connection cap: what is refused, and what is still answered.

    fd_limit_flood.py PORT METRICS_PORT SECONDS FLOODERS POSTFIX_CONNECTIONS
    fd_limit_flood.py --flood PORT SECONDS FLOODERS       (the flood alone: run by the first form as its own process)

POSTFIX_CONNECTIONS connections are opened first and ask `postfix [mxN.example.test]` (NOTFOUND at once, no DNS) one
request at a time, as Postfix's smtp processes do. Then connections are opened and held until the cap
(rampart_connections_max) is full (an attacker), and FLOODERS tasks connect, wait for the server to close, and connect
again, in a process of their own (so the flood does not slow the lookups' event loop; both still share the machine's
cores with the daemon). Phase 1 (SECONDS) measures the lookups alone, phase 2 (SECONDS) with the cap full and the
flood running. Every loop ends at its deadline.
"""
import asyncio
import sys
import time
import urllib.request


def sample(metrics_port, series):
    text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read().decode()
    for line in text.splitlines():
        if line.startswith(series + " "):
            return float(line.split(" ")[1])
    raise SystemExit(f"no {series} in /metrics")


async def lookups(conn, index, deadline, latencies):
    reader, writer = conn
    key = f"postfix [mx{index}.example.test]".encode()
    frame = str(len(key)).encode() + b":" + key + b","
    while time.monotonic() < deadline:
        start = time.perf_counter()
        writer.write(frame)
        await writer.drain()
        await reader.readuntil(b",")
        latencies.append(time.perf_counter() - start)


async def flood(port, deadline, counts):
    while time.monotonic() < deadline:
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            counts["connect failed"] += 1
            continue
        try:
            data = await asyncio.wait_for(reader.read(1), 5)
            counts["closed by server" if data == b"" else "answered"] += 1
        except ConnectionResetError:
            counts["closed by server"] += 1
        except asyncio.TimeoutError:
            counts["left waiting (5 s)"] += 1
        writer.close()


def report(phase, seconds, latencies):
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000
    print(f"{phase}: {len(latencies) / seconds:,.0f} answers/s, p50 {p(0.50):.2f} ms, p99 {p(0.99):.2f} ms, max {latencies[-1] * 1000:.1f} ms")


async def main(port, metrics_port, seconds, flooders, postfix):
    conns = [await asyncio.open_connection("127.0.0.1", port) for _ in range(postfix)]
    latencies = []
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(lookups(c, i, deadline, latencies) for i, c in enumerate(conns)))
    report(f"phase 1, {postfix} connections alone", seconds, latencies)

    cap = int(sample(metrics_port, "rampart_connections_max"))
    refused_before = sample(metrics_port, f'rampart_connections_refused_total{{listener="127.0.0.1:{port}"}}')
    held = [await asyncio.open_connection("127.0.0.1", port) for _ in range(cap - postfix)]
    flooder = await asyncio.create_subprocess_exec(sys.executable, __file__, "--flood", str(port), str(seconds), str(flooders),
                                                   stdout=asyncio.subprocess.PIPE)
    latencies = []
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(lookups(c, i, deadline, latencies) for i, c in enumerate(conns)))
    counts = (await flooder.communicate())[0].decode().strip()
    for _, writer in held:
        writer.close()  # /metrics is refused too while the cap is full
    await asyncio.gather(*(writer.wait_closed() for _, writer in held), return_exceptions=True)
    refused = await scrape_when_served(metrics_port, f'rampart_connections_refused_total{{listener="127.0.0.1:{port}"}}') - refused_before
    print(f"cap {cap}: {postfix} lookup connections + {len(held)} held; flood: {counts}")
    print(f"phase 2, cap full and flooded: {refused / seconds:,.0f} connections refused/s ({refused:.0f} in {seconds} s, rampart_connections_refused_total)")
    report(f"phase 2, the {postfix} connections opened before", seconds, latencies)
    for _, writer in conns:
        writer.close()


async def scrape_when_served(metrics_port, series):
    deadline = time.monotonic() + 30
    while True:
        try:
            return await asyncio.to_thread(sample, metrics_port, series)
        except OSError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def flood_alone(port, seconds, flooders):
    counts = {"closed by server": 0, "answered": 0, "connect failed": 0, "left waiting (5 s)": 0}
    deadline = time.monotonic() + seconds
    await asyncio.gather(*(flood(port, deadline, counts) for _ in range(flooders)))
    print(counts)


if __name__ == "__main__":
    if sys.argv[1] == "--flood":
        asyncio.run(flood_alone(*map(int, sys.argv[2:5])))
    else:
        asyncio.run(main(*map(int, sys.argv[1:6])))
