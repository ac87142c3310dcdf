"""The in-process ceiling for a WSGI app: no server can beat it.

Calls MODULE:CALLABLE in a loop, each call with a fresh copy of the environ a
server would build for wrk's `GET / HTTP/1.1` (the variables wsgiref's
server sets), consuming the body and calling close() as PEP 3333 asks. Runs
WARMUP seconds, then SECONDS more, and prints one JSON line: calls, seconds,
calls_per_s, maxrss_kib.

Usage: python3 ceiling.py MODULE:CALLABLE SECONDS WARMUP
"""

import importlib
import io
import json
import resource
import sys
import time


def base_environ():
    return {
        'REQUEST_METHOD': 'GET',
        'SCRIPT_NAME': '',
        'PATH_INFO': '/',
        'QUERY_STRING': '',
        'CONTENT_TYPE': 'text/plain',
        'CONTENT_LENGTH': '',
        'SERVER_NAME': '127.0.0.1',
        'SERVER_PORT': '8000',
        'SERVER_PROTOCOL': 'HTTP/1.1',
        'SERVER_SOFTWARE': 'ceiling',
        'GATEWAY_INTERFACE': 'CGI/1.1',
        'REMOTE_ADDR': '127.0.0.1',
        'REMOTE_HOST': '',
        'HTTP_HOST': '127.0.0.1:8000',
        'wsgi.version': (1, 0),
        'wsgi.url_scheme': 'http',
        'wsgi.errors': sys.stderr,
        'wsgi.multithread': False,
        'wsgi.multiprocess': True,
        'wsgi.run_once': False,
    }


def start_response(status, headers, exc_info=None):
    return None


def run(app, seconds, batch=200):
    """Calls app in batches until seconds have passed; returns (calls, elapsed)."""
    base = base_environ()
    calls = 0
    start = time.perf_counter()
    end = start + seconds
    now = start
    while now < end:
        for _ in range(batch):
            env = base.copy()
            env['wsgi.input'] = io.BytesIO()
            body = app(env, start_response)
            try:
                for _ in body:
                    pass
            finally:
                close = getattr(body, 'close', None)
                if close is not None:
                    close()
        calls += batch
        now = time.perf_counter()
    return calls, now - start


def main(argv):
    if len(argv) != 4:
        sys.exit(__doc__)
    module, _, name = argv[1].partition(':')
    app = getattr(importlib.import_module(module), name or 'application')
    run(app, float(argv[3]))
    calls, elapsed = run(app, float(argv[2]))
    print(json.dumps({
        'calls': calls,
        'seconds': elapsed,
        'calls_per_s': calls / elapsed,
        'maxrss_kib': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }))


if __name__ == '__main__':
    main(sys.argv)
