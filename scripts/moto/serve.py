"""Starts moto's server for metakv's tests, serving one request at a time.

Usage: python serve.py HOST PORT

Why not `moto_server`: it serves every request on its own thread, and moto's DynamoDB backend
checks a condition expression and then writes the item without a lock, so two concurrent
conditional PutItems on one key can both succeed. CI saw it: 160 version-conditioned
increments by 8 tasks ended at 159. The real service applies a conditional write atomically;
serving requests one at a time restores that. Everything else is as `moto_server` does it.
"""

import os
import signal
import sys

from werkzeug.serving import run_simple

from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)


def main() -> None:
    host, port = sys.argv[1], int(sys.argv[2])
    os.environ.setdefault("MOTO_PORT", str(port))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    app = DomainDispatcherApplication(create_backend_app)
    run_simple(host, port, app, threaded=False, request_handler=MotoRequestHandler)


if __name__ == "__main__":
    main()
