#!/usr/bin/env python3
"""A TCP proxy on loopback that delays every chunk by a fixed time in each
direction, so that a registry on 127.0.0.1 looks like one DELAY*2 ms away.

    delayproxy.py LISTEN_PORT TARGET_HOST:TARGET_PORT DELAY_MS [--ready FILE]

This kernel has no netem, so the benchmark makes its own latency. Each chunk
read from one side is written to the other side DELAY_MS after it was read;
chunks keep their order and do not wait for each other (a pipe with latency,
not a serialising queue). The first chunk from the client also pays one
round trip, the TCP handshake that the kernel completed before the proxy
saw the connection. Half-closes are forwarded. Listens on 127.0.0.1
only, and only forwards to the target given (a loopback address).
"""
import asyncio
import socket
import sys


async def pump(reader, writer, delay, first_extra=0.0):
    loop = asyncio.get_running_loop()
    queue = asyncio.Queue()

    async def read_side():
        nonlocal first_extra
        try:
            while True:
                data = await reader.read(65536)
                queue.put_nowait((loop.time() + delay + first_extra, data))
                first_extra = 0.0
                if not data:
                    return
        except (ConnectionError, OSError):
            queue.put_nowait((loop.time() + delay, b""))

    async def write_side():
        try:
            while True:
                due, data = await queue.get()
                wait = due - loop.time()
                if wait > 0:
                    await asyncio.sleep(wait)
                if not data:
                    if writer.can_write_eof():
                        writer.write_eof()
                    return
                writer.write(data)
                await writer.drain()
        except (ConnectionError, OSError):
            return

    await asyncio.gather(read_side(), write_side())


async def handle(client_r, client_w, target_host, target_port, delay):
    try:
        server_r, server_w = await asyncio.open_connection(target_host, target_port)
    except OSError:
        client_w.close()
        return
    for w in (client_w, server_w):
        sock = w.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        # The kernel completed the client's TCP handshake before this proxy saw
        # the connection: the client's first chunk pays that round trip.
        await asyncio.gather(pump(client_r, server_w, delay, 2 * delay), pump(server_r, client_w, delay))
    finally:
        for w in (client_w, server_w):
            try:
                w.close()
            except Exception:
                pass


async def main():
    args = sys.argv[1:]
    ready = None
    if "--ready" in args:
        i = args.index("--ready")
        ready = args[i + 1]
        del args[i:i + 2]
    if len(args) != 3:
        sys.exit(__doc__)
    listen_port = int(args[0])
    target_host, target_port = args[1].rsplit(":", 1)
    if not (target_host.startswith("127.") or target_host in ("localhost", "::1")):
        sys.exit("delayproxy: the target must be a loopback address")
    delay = float(args[2]) / 1000.0
    server = await asyncio.start_server(
        lambda r, w: handle(r, w, target_host, int(target_port), delay),
        "127.0.0.1", listen_port, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    if ready:
        with open(ready, "w") as f:
            f.write(f"{port}\n")
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
