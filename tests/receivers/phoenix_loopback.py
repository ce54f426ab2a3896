"""phoenix_loopback.py: starts Arize Phoenix (`phoenix serve`) with its gRPC receiver on loopback.

Phoenix binds its OTLP gRPC receiver to `[::]:<PHOENIX_GRPC_PORT>` whatever `PHOENIX_HOST`
says; only the HTTP server follows `PHOENIX_HOST`. Tests must not listen on every interface, so
this launcher, run with the Phoenix venv's interpreter, rewrites the all-interfaces addresses
given to grpc.aio's `add_insecure_port` / `add_secure_port` into `127.0.0.1:<port>` and then
hands over to Phoenix's own entry point with the arguments `serve`.

Contract: configure Phoenix through its environment (`PHOENIX_HOST=127.0.0.1`, `PHOENIX_PORT`,
`PHOENIX_GRPC_PORT`, `PHOENIX_WORKING_DIR`, ...); this file adds no options of its own.
"""

import sys

from grpc.aio import _server as aio_server

ALL_INTERFACES = ("[::]:", "0.0.0.0:", ":")


def to_loopback(address):
    for prefix in ALL_INTERFACES:
        if address.startswith(prefix):
            return "127.0.0.1:" + address[len(prefix) :]
    return address


def patch_grpc_binding():
    insecure = aio_server.Server.add_insecure_port
    secure = aio_server.Server.add_secure_port

    def add_insecure_port(self, address):
        return insecure(self, to_loopback(address))

    def add_secure_port(self, address, server_credentials):
        return secure(self, to_loopback(address), server_credentials)

    aio_server.Server.add_insecure_port = add_insecure_port
    aio_server.Server.add_secure_port = add_secure_port


if __name__ == "__main__":
    patch_grpc_binding()
    from phoenix.server.main import main

    sys.argv = ["phoenix", "serve"]
    sys.exit(main())
