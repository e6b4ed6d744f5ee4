#!/usr/bin/python3
"""A deliberately misbehaving server, for health-check tests.

    misbehave.py ADDRESS [--base-port N] [--max-lifetime S]

Listens on ADDRESS (IPv4 or IPv6) on six consecutive TCP ports, one
misbehaviour per port (--base-port 0: six ephemeral ports):

    base+0  silent    accepts, reads and ignores everything, never answers
    base+1  close     accepts and closes at once
    base+2  garbage   answers bytes that are not HTTP
    base+3  bigbody   "HTTP/1.1 200 OK" with a 10 MB body (Content-Length
                      10485760) that starts with "NOT healthy"; the first
                      256 KiB at once, the rest at 640 KiB/s (16 s in all)
    base+4  drip      a valid HTTP response, one byte per second
    base+5  tlsstall  accepts TCP, reads and ignores the ClientHello, never
                      answers (no TLS handshake ever completes)

Once every port listens it prints one line on stdout:

    READY {"silent": 8000, "close": 8001, ...}

Every connection is driven by asyncio protocols: nothing blocks, a slow or
vanished client costs one file descriptor until it closes (or until
--max-lifetime, default 120 s, after which the server aborts it). Large
writes follow the transport's flow control, so a 10 MB body to hundreds of
clients never sits in memory. SIGTERM (or SIGINT) closes the listeners and
every connection, prints one "STATS {...}" line (connections per
misbehaviour, and "errors": exceptions caught by the event loop, each also
reported on stderr) and exits 0; SIGUSR1 prints that line and goes on.

Standard library only; runs with /usr/bin/python3, typically inside a
namespace: ip netns exec NS /usr/bin/python3 misbehave.py 198.18.1.2
"""
import argparse
import asyncio
import json
import resource
import signal
import socket
import sys

BIG_LENGTH = 10 * 1024 * 1024
BIG_CHUNK = 64 * 1024
BIG_FAST = 256 * 1024  # at once; then BIG_CHUNK every BIG_PACE seconds
BIG_PACE = 0.1
BIG_PREFIX = b"NOT healthy: this body is large and does not match the regex\n"
# first bytes: not "HTTP/", not printable text; with a line end so that a
# line-based parser sees a complete (bad) line at once
GARBAGE = b"\x00\xff\xfe garbage \x01\x02\x03 not http at all \x7f\x80\r\n" * 8
DRIP_RESPONSE = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                 b"Content-Length: 8\r\nConnection: close\r\n\r\nhealthy\n")

BEHAVIOURS = ("silent", "close", "garbage", "bigbody", "drip", "tlsstall")


class Base(asyncio.Protocol):
    """Tracks the connection in the server's set; aborts it when too old."""

    name = "?"

    def __init__(self, server):
        self.server = server
        self.transport = None
        self.timers = []

    def connection_made(self, transport):
        self.transport = transport
        self.server.conns.add(self)
        self.server.stats[self.name] += 1
        self.later(self.server.max_lifetime, self.abort)
        self.start()

    def start(self):
        pass

    def later(self, delay, fn, *args):
        self.timers.append(asyncio.get_running_loop().call_later(delay, fn, *args))

    def abort(self):
        if self.transport and not self.transport.is_closing():
            self.transport.abort()

    def data_received(self, data):
        pass  # read and ignore: keeps the client's writes from blocking

    def eof_received(self):
        return False  # close our side too

    def connection_lost(self, exc):
        for t in self.timers:
            t.cancel()
        self.timers.clear()
        self.server.conns.discard(self)
        self.transport = None


class Silent(Base):
    name = "silent"


class Close(Base):
    name = "close"

    def start(self):
        self.transport.close()


class Garbage(Base):
    name = "garbage"

    def start(self):
        self.transport.write(GARBAGE)
        # then close after a moment, whatever the client does
        self.later(0.2, self.transport.close)


class BigBody(Base):
    """Writes the 10 MB body chunk by chunk, pausing while the socket's
    buffer is full (pause_writing / resume_writing). The first BIG_FAST
    bytes go at once, the rest at BIG_CHUNK per BIG_PACE: a client that
    stops after the first 64 KiB is done in a millisecond, one that reads
    the whole body needs about 16 s (on a veth link it would otherwise take
    a few milliseconds, and the two could not be told apart by time)."""

    name = "bigbody"

    def start(self):
        head = (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                b"Content-Length: %d\r\nConnection: close\r\n\r\n" % BIG_LENGTH)
        self.left = BIG_LENGTH
        self.budget = BIG_FAST  # bytes that may go before pacing starts
        self.paused = False
        self.pacing = False
        self.transport.write(head + BIG_PREFIX)
        self.left -= len(BIG_PREFIX)
        self.pump()

    def pump(self):
        t = self.transport
        while t and not t.is_closing() and not self.paused and self.left > 0:
            if self.budget <= 0:
                if not self.pacing:
                    self.pacing = True
                    self.later(BIG_PACE, self.refill)
                return
            n = min(self.left, self.budget, BIG_CHUNK)
            t.write(self.server.filler[:n])
            self.left -= n
            self.budget -= n
        if t and self.left == 0 and not t.is_closing():
            t.close()

    def refill(self):
        self.pacing = False
        self.budget = BIG_CHUNK
        self.pump()

    def pause_writing(self):
        self.paused = True

    def resume_writing(self):
        # asyncio calls this from inside the transport's write handler; a
        # write failing right there (client gone) would make the transport
        # run connection_lost twice (CPython 3.11), so write from the loop
        self.paused = False
        asyncio.get_running_loop().call_soon(self.pump)


class Drip(Base):
    name = "drip"

    def start(self):
        self.pos = 0
        self.drip()

    def drip(self):
        if not self.transport or self.transport.is_closing():
            return
        self.transport.write(DRIP_RESPONSE[self.pos:self.pos + 1])
        self.pos += 1
        if self.pos < len(DRIP_RESPONSE):
            self.later(1.0, self.drip)
        else:
            self.transport.close()


class TLSStall(Base):
    name = "tlsstall"

    seen = False

    def data_received(self, data):
        # the ClientHello (a TLS handshake record starts with 0x16): counted
        # once per connection, never answered
        if not self.seen and data[:1] == b"\x16":
            self.seen = True
            self.server.stats["tlsstall-hello"] += 1


class Server:
    def __init__(self, max_lifetime):
        self.conns = set()
        self.stats = {name: 0 for name in BEHAVIOURS}
        self.stats["tlsstall-hello"] = 0
        self.stats["errors"] = 0  # exceptions the event loop caught
        self.max_lifetime = max_lifetime
        self.filler = b"x" * BIG_CHUNK
        self.listeners = []

    async def run(self, address, base_port):
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGUSR1, self.print_stats)
        loop.set_exception_handler(self.on_error)
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        ports = {}
        classes = (Silent, Close, Garbage, BigBody, Drip, TLSStall)
        for i, cls in enumerate(classes):
            port = base_port + i if base_port else 0
            srv = await loop.create_server(lambda cls=cls: cls(self), host=address, port=port,
                                           family=family, reuse_address=True, backlog=4096)
            self.listeners.append(srv)
            ports[cls.name] = srv.sockets[0].getsockname()[1]
        print("READY " + json.dumps(ports), flush=True)
        await stop.wait()
        for srv in self.listeners:
            srv.close()
        for c in list(self.conns):
            c.abort()
        for srv in self.listeners:
            await srv.wait_closed()
        await asyncio.sleep(0)  # let connection_lost run
        self.print_stats()

    def on_error(self, loop, context):
        self.stats["errors"] += 1
        exc = context.get("exception")
        print(f"misbehave: {context.get('message')}: {exc!r}", file=sys.stderr, flush=True)

    def print_stats(self):
        print("STATS " + json.dumps(self.stats), flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("address", help="IPv4 or IPv6 address to listen on")
    ap.add_argument("--base-port", type=int, default=8000,
                    help="first of six consecutive ports (0: ephemeral ports)")
    ap.add_argument("--max-lifetime", type=float, default=120.0,
                    help="abort any connection older than this (seconds)")
    args = ap.parse_args()
    if args.base_port and not 1 <= args.base_port <= 65535 - 5:
        ap.error("--base-port out of range")
    # hundreds of concurrent connections: lift the soft fd limit to the hard one
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 65536 if hard == resource.RLIM_INFINITY else hard
    if soft != resource.RLIM_INFINITY and soft < want:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        except (ValueError, OSError):
            pass  # keep the soft limit
    try:
        asyncio.run(Server(args.max_lifetime).run(args.address, args.base_port))
    except OSError as e:
        print(f"misbehave: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
