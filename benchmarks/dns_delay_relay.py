#!/usr/bin/env python3
"""A DNS relay that holds every query for a fixed delay before passing it to the upstream resolver (UDP, and TCP for a
truncated answer's retry): what a resolver cache miss costs on a real network, for first-lookup latency benchmarks
(docs/benchmarks.md section 16). Listens on ADDRESS:53 (UDP+TCP) inside the lab's namespace; bounded: it exits after
--seconds. Prints one line per answered query (arrival and answer ms from its start, name, type) to stdout.

usage: dns_delay_relay.py LISTEN_IP DELAY_MS [--upstream 127.0.0.1] [--seconds 600]
"""
import argparse
import asyncio
import socket
import struct
import sys
import time

START = time.monotonic()
TYPES = {1: "A", 28: "AAAA", 15: "MX", 16: "TXT", 52: "TLSA"}


def question(msg: bytes) -> str:
    labels, at = [], 12
    while at < len(msg) and 0 < msg[at] < 64:
        labels.append(msg[at + 1:at + 1 + msg[at]].decode("ascii", "replace"))
        at += 1 + msg[at]
    qtype = struct.unpack(">H", msg[at + 1:at + 3])[0] if at + 3 <= len(msg) else 0
    return ".".join(labels) + ". " + TYPES.get(qtype, str(qtype))


def ms() -> float:
    return (time.monotonic() - START) * 1000


async def ask_udp(upstream: str, query: bytes) -> bytes:
    loop = asyncio.get_running_loop()
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setblocking(False)
    try:
        await loop.sock_connect(sock, (upstream, 53))
        await loop.sock_sendall(sock, query)
        return await asyncio.wait_for(loop.sock_recv(sock, 65535), 15)
    finally:
        sock.close()


async def ask_tcp(upstream: str, query: bytes) -> bytes:
    reader, writer = await asyncio.wait_for(asyncio.open_connection(upstream, 53), 15)
    try:
        writer.write(struct.pack(">H", len(query)) + query)
        await writer.drain()
        size = struct.unpack(">H", await asyncio.wait_for(reader.readexactly(2), 15))[0]
        return await asyncio.wait_for(reader.readexactly(size), 15)
    finally:
        writer.close()


class Udp(asyncio.DatagramProtocol):
    def __init__(self, args):
        self.args = args

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        asyncio.get_running_loop().create_task(self.relay(data, addr, ms()))

    async def relay(self, data, addr, arrived):
        await asyncio.sleep(self.args.delay_ms / 1000)
        try:
            answer = await ask_udp(self.args.upstream, data)
        except (OSError, asyncio.TimeoutError):
            return
        print(f"{arrived:.1f} {ms():.1f} {question(data)} udp", flush=True)
        self.transport.sendto(answer, addr)


async def serve_tcp(args, reader, writer):
    try:
        while True:
            size = struct.unpack(">H", await reader.readexactly(2))[0]
            query = await reader.readexactly(size)
            arrived = ms()
            await asyncio.sleep(args.delay_ms / 1000)
            answer = await ask_tcp(args.upstream, query)
            print(f"{arrived:.1f} {ms():.1f} {question(query)} tcp", flush=True)
            writer.write(struct.pack(">H", len(answer)) + answer)
            await writer.drain()
    except (asyncio.IncompleteReadError, OSError, asyncio.TimeoutError):
        pass
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("listen")
    parser.add_argument("delay_ms", type=float)
    parser.add_argument("--upstream", default="127.0.0.1")
    parser.add_argument("--seconds", type=float, default=600)
    args = parser.parse_args()
    loop = asyncio.get_running_loop()
    await loop.create_datagram_endpoint(lambda: Udp(args), local_addr=(args.listen, 53))
    server = await asyncio.start_server(lambda r, w: serve_tcp(args, r, w), args.listen, 53)
    print(f"# relaying {args.listen}:53 -> {args.upstream}:53, {args.delay_ms:g} ms per query", file=sys.stderr, flush=True)
    async with server:
        await asyncio.sleep(args.seconds)


if __name__ == "__main__":
    asyncio.run(main())
