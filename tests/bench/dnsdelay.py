#!/usr/bin/env python3
"""dnsdelay - a UDP DNS forwarder that adds a fixed delay, as a real
network does

    dnsdelay.py LISTEN-PORT SERVER-PORT DELAY-MS

Listens on 127.0.0.1:LISTEN-PORT; every query goes to 127.0.0.1:SERVER-PORT
and its answer comes back DELAY-MS later. Queries are independent: many
can be waiting at once, so a client that sends them in parallel gains.
"""

import asyncio
import sys


class Upstream(asyncio.DatagramProtocol):
    """one socket to the server; answers go back to whoever asked, by the
    query id this forwarder gave each query"""

    def __init__(self):
        self.waiting = {}
        self.next_id = 0

    def connection_made(self, transport):
        self.transport = transport

    def send(self, query, front, addr):
        qid = self.next_id
        self.next_id = (self.next_id + 1) % 65536
        self.waiting[qid] = (front, addr, query[:2])
        self.transport.sendto(qid.to_bytes(2, "big") + query[2:])

    def datagram_received(self, data, addr):
        asker = self.waiting.pop(int.from_bytes(data[:2], "big"), None)
        if asker is not None:
            front, to, orig = asker
            front.sendto(orig + data[2:], to)


class Front(asyncio.DatagramProtocol):
    def __init__(self, upstream, delay):
        self.upstream, self.delay = upstream, delay

    def connection_made(self, transport):
        self.transport = transport

    def datagram_received(self, data, addr):
        if len(data) > 12:
            asyncio.get_running_loop().call_later(
                self.delay, self.upstream.send, data, self.transport, addr)


async def main():
    listen, server, delay = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]) / 1000
    loop = asyncio.get_running_loop()
    _, upstream = await loop.create_datagram_endpoint(Upstream, remote_addr=("127.0.0.1", server))
    await loop.create_datagram_endpoint(lambda: Front(upstream, delay),
                                        local_addr=("127.0.0.1", listen))
    await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
