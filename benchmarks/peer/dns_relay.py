#!/usr/bin/env python3
"""A DNS relay that can be switched into an outage: benchmarks/run-daemon.sh points both daemons at it.

    dns_relay.py --listen 127.0.0.4 --upstream 127.0.0.1 [--port 53]

Forwards every UDP and TCP query to the upstream resolver and relays the answer. SIGUSR1 switches it into an
outage: queries are read and dropped, TCP connections accepted and never answered (an unresponsive resolver,
not a closed port: see the lab's pitfalls). SIGUSR2 switches back to forwarding. Prints one line per switch and,
on SIGTERM, how many queries it forwarded and dropped. Standard library only, so /usr/bin/python3 runs it.
"""
import argparse
import asyncio
import signal
import sys


class State:
    def __init__(self):
        self.outage = False
        self.forwarded = 0
        self.dropped = 0


class UpstreamOnce(asyncio.DatagramProtocol):
    """One query to the upstream resolver; the answer goes back to the client through `reply`."""

    def __init__(self, query, reply):
        self.query = query
        self.reply = reply
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport
        transport.sendto(self.query)

    def datagram_received(self, data, addr):
        self.reply(data)
        self.transport.close()

    def error_received(self, exc):
        self.transport.close()


class Relay(asyncio.DatagramProtocol):
    def __init__(self, state, upstream, loop):
        self.state = state
        self.upstream = upstream
        self.loop = loop
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        if self.state.outage:
            self.state.dropped += 1
            return
        self.state.forwarded += 1
        self.loop.create_task(self.forward(data, addr))

    async def forward(self, data, addr):
        transport, _ = await self.loop.create_datagram_endpoint(
            lambda: UpstreamOnce(data, lambda answer: self.transport.sendto(answer, addr)),
            remote_addr=self.upstream)
        # Give up on an upstream that does not answer within 10 s (the client has long retried or failed).
        self.loop.call_later(10, transport.close)


async def tcp_client(state, upstream, reader, writer):
    try:
        if state.outage:
            state.dropped += 1
            while await reader.read(4096):
                pass  # read and never answer
            return
        state.forwarded += 1
        up_reader, up_writer = await asyncio.open_connection(*upstream)

        async def pipe(src, dst):
            try:
                while True:
                    chunk = await src.read(65536)
                    if not chunk:
                        break
                    dst.write(chunk)
                    await dst.drain()
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)
    except OSError:
        pass
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--listen", required=True)
    parser.add_argument("--upstream", required=True)
    parser.add_argument("--port", type=int, default=53)
    args = parser.parse_args()
    loop = asyncio.get_running_loop()
    state = State()
    upstream = (args.upstream, args.port)
    await loop.create_datagram_endpoint(lambda: Relay(state, upstream, loop), local_addr=(args.listen, args.port))
    server = await asyncio.start_server(lambda r, w: tcp_client(state, upstream, r, w), args.listen, args.port)
    done = loop.create_future()

    def switch(outage):
        state.outage = outage
        print(f"dns_relay: {'outage (dropping every query)' if outage else 'forwarding'} "
              f"(forwarded {state.forwarded}, dropped {state.dropped} so far)", flush=True)

    loop.add_signal_handler(signal.SIGUSR1, switch, True)
    loop.add_signal_handler(signal.SIGUSR2, switch, False)
    loop.add_signal_handler(signal.SIGTERM, lambda: done.done() or done.set_result(None))
    loop.add_signal_handler(signal.SIGINT, lambda: done.done() or done.set_result(None))
    print(f"dns_relay: {args.listen}:{args.port} -> {args.upstream}:{args.port}, forwarding", flush=True)
    await done
    server.close()
    print(f"dns_relay: stopped; forwarded {state.forwarded}, dropped {state.dropped}", flush=True)


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except OSError as exc:
        print(f"dns_relay: {exc}", file=sys.stderr)
        sys.exit(2)
