#!/usr/bin/env python3
"""A TCP proxy for a database (Postgres) that can be made slow or unreachable at run time.

    python3 bench/dbproxy.py --listen 127.0.0.1:35432 --upstream 127.0.0.1:5432 \\
        --control 127.0.0.1:35433 [--latency-ms 0]
    python3 bench/dbproxy.py ctl 35433 latency 200     # from now on, +200 ms per chunk, each way
    python3 bench/dbproxy.py ctl 35433 down            # partition: nothing forwarded, silently
    python3 bench/dbproxy.py ctl 35433 up              # forward again (held data goes out first)
    python3 bench/dbproxy.py ctl 35433 status          # the state, one JSON line

Latency: every chunk read from either side is delivered to the other side `latency` ms after
it arrived, in order (a delay line: chunks in flight overlap, as on a slow network; a request/
response protocol such as Postgres's pays 2 × latency per round trip). A change applies to
chunks that arrive afterwards.

Outage ("down [MODE]"), until "up":
  hold    (default) a partition: open connections stay open and nothing is forwarded either
          way — the data is held and delivered after "up", as TCP would after a network heals;
          new connections are accepted and held the same way. Nothing is closed or reset: the
          client only sees silence.
  refuse  open connections are held as above; new connections are reset at once.
  reset   every open connection is reset (RST) and new ones too: the server restarted.

Control: a line-based TCP port (one command per line, one JSON line back): "latency MS",
"down [hold|refuse|reset]", "up", "status". `ctl PORT WORDS…` sends one command and prints
the answer. The proxy prints "ready" on stdout once it listens, and its counters as JSON on
SIGTERM/SIGINT. Standard library only (asyncio).
"""

import argparse
import asyncio
import json
import signal
import socket
import struct
import sys
import time


def hostport(s):
    host, _, port = s.rpartition(":")
    return host or "127.0.0.1", int(port)


class Proxy:
    def __init__(self, upstream, latency_ms):
        self.upstream = upstream
        self.latency = latency_ms / 1000.0
        self.mode = "up"  # up | hold | refuse | reset
        self.resumed = asyncio.Event()
        self.resumed.set()
        self.conns = set()  # (client writer, upstream writer)
        self.stats = {"connections": 0, "refused": 0, "reset": 0, "chunks": 0, "bytes": 0, "outages": 0}
        self.down_since = None
        self.down_total = 0.0

    def state(self):
        return {"mode": self.mode, "latency_ms": round(self.latency * 1000, 3), "open": len(self.conns),
                "down_for_s": round(time.monotonic() - self.down_since, 3) if self.down_since else 0.0,
                **self.stats}

    # --- the control port
    def command(self, words):
        if not words:
            return {"error": "empty command"}
        cmd, args = words[0].lower(), words[1:]
        if cmd == "latency" and len(args) == 1:
            self.latency = max(float(args[0]), 0.0) / 1000.0
        elif cmd == "down":
            mode = (args[0] if args else "hold").lower()
            if mode not in ("hold", "refuse", "reset"):
                return {"error": f"unknown outage mode {mode}"}
            if self.mode == "up":
                self.stats["outages"] += 1
                self.down_since = time.monotonic()
            self.mode = mode
            self.resumed.clear()
            if mode == "reset":
                for pair in list(self.conns):
                    self.abort(pair)
        elif cmd == "up":
            if self.down_since is not None:
                self.down_total += time.monotonic() - self.down_since
            self.mode, self.down_since = "up", None
            self.resumed.set()
        elif cmd != "status":
            return {"error": f"unknown command {' '.join(words)}"}
        return self.state()

    async def control(self, reader, writer):
        try:
            while line := await reader.readline():
                try:
                    answer = self.command(line.decode().split())
                except ValueError as e:
                    answer = {"error": str(e)}
                writer.write((json.dumps(answer) + "\n").encode())
                await writer.drain()
        except (ConnectionError, OSError):
            pass
        finally:
            writer.close()

    # --- forwarding
    def abort(self, pair):
        self.stats["reset"] += 1
        for w in pair:
            if w is not None:
                rst(w)
        self.conns.discard(pair)

    async def client(self, creader, cwriter):
        if self.mode in ("refuse", "reset"):
            self.stats["refused"] += 1
            rst(cwriter)
            return
        self.stats["connections"] += 1
        try:
            ureader, uwriter = await asyncio.open_connection(*self.upstream)
        except OSError:
            rst(cwriter)
            return
        for w in (cwriter, uwriter):
            w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        pair = (cwriter, uwriter)
        self.conns.add(pair)
        try:
            await asyncio.gather(self.pump(creader, uwriter), self.pump(ureader, cwriter))
        except (ConnectionError, OSError, asyncio.CancelledError):
            pass
        finally:
            self.conns.discard(pair)
            for w in pair:
                try:
                    w.close()
                except Exception:
                    pass

    async def pump(self, reader, writer):
        """reader → writer through a delay line; held while the proxy is down."""
        line = asyncio.Queue()

        async def deliver():
            while True:
                due, data = await line.get()
                if data is None:
                    return
                await self.resumed.wait()
                wait = due - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
                await self.resumed.wait()  # went down while this chunk was on its way
                writer.write(data)
                await writer.drain()

        out = asyncio.ensure_future(deliver())
        try:
            while data := await reader.read(65536):
                self.stats["chunks"] += 1
                self.stats["bytes"] += len(data)
                line.put_nowait((time.monotonic() + self.latency, data))
            line.put_nowait((0, None))  # EOF: after what is in flight
            await out
            if writer.can_write_eof():
                writer.write_eof()
        finally:
            out.cancel()


def rst(writer):
    """Closes with a TCP reset (SO_LINGER 0) rather than a FIN."""
    try:
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
    except Exception:
        pass


async def serve(args):
    proxy = Proxy(hostport(args.upstream), args.latency_ms)
    lh, lp = hostport(args.listen)
    ch, cp = hostport(args.control)
    data = await asyncio.start_server(proxy.client, lh, lp, reuse_address=True)
    ctl = await asyncio.start_server(proxy.control, ch, cp, reuse_address=True)
    print("ready", flush=True)
    done = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, done.set)
    await done.wait()
    data.close()
    ctl.close()
    print(json.dumps(proxy.state()), flush=True)


def ctl(port, words):
    host, p = hostport(port if ":" in port else f"127.0.0.1:{port}")
    with socket.create_connection((host, p), timeout=5) as s:
        s.sendall((" ".join(words) + "\n").encode())
        answer = s.makefile().readline().strip()
    print(answer)
    return 1 if "error" in json.loads(answer or '{"error": 1}') else 0


def main():
    if len(sys.argv) >= 3 and sys.argv[1] == "ctl":
        sys.exit(ctl(sys.argv[2], sys.argv[3:] or ["status"]))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--listen", default="127.0.0.1:35432")
    ap.add_argument("--upstream", default="127.0.0.1:5432")
    ap.add_argument("--control", default="127.0.0.1:35433")
    ap.add_argument("--latency-ms", type=float, default=0.0, help="added per chunk, each direction")
    args = ap.parse_args()
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
