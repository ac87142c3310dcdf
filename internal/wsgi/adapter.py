"""nave's WSGI worker (PEP 3333).

nave starts it as

    python - MODULE:CALLABLE WORKER_ID MULTIPROCESS

with this source on stdin, a unix stream socket to nave on descriptor 3
and a shared progress page on descriptor 4. stdout and stderr are pipes
that nave logs line by line; the protocol never uses them, so an app that
prints cannot corrupt it. Standard library only; runs on CPython 3.8 and
later (and says so, and exits, on anything older).

The framing, both ways: [u32 payload length][u8 type][u32 request id]
[payload], little-endian (see proto.go). nave sends batches of REQUEST
frames; the worker runs them in order and answers in the same order,
buffering the replies of a batch into one write. A response whose body the
app streams (a generator, write()) is flushed block by block instead, as
PEP 3333 requires.

Before it runs a request the worker writes the request's id into the
progress page, so that when it dies nave knows which request was in
flight (502), which ran but lost their buffered replies, and which never
started (sent to another worker).
"""

import sys

EXIT_IMPORT = 3  # the app failed to import: nave does not retry at start
EXIT_USAGE = 4   # wrong Python or arguments

if sys.version_info < (3, 8):
    sys.stderr.write("Python 3.8 or later is needed, this is %s\n" % sys.version.split()[0])
    sys.exit(EXIT_USAGE)

import array
import collections
import faulthandler
import importlib
import io
import itertools
import mmap
import os
import signal
import socket
import stat
import struct
import traceback

HDR = struct.Struct("<IBI")
RESPONSE_HDR = struct.Struct("<IBII")  # a RESPONSE frame's header and its head length
U32 = struct.Struct("<I")
FILE_RANGE = struct.Struct("<qq")

REQUEST, REQUEST_FD, CANCEL = 1, 2, 3
READY, START, DATA, END, RESPONSE, FILE, ERROR = 16, 17, 18, 19, 20, 21, 22

MAX_HEAD = 256 << 10
MAX_DATA = 1 << 20
MAX_ERROR = 4 << 10
BUFFER = 64 << 10
ANCILLARY = socket.CMSG_SPACE(253 * 4)

# Replies to requests of other methods are sent as soon as they are ready,
# never held back for the rest of a batch: if the worker dies later in the
# batch, nave may run a request whose reply it lost again elsewhere, and
# only these methods are safe to run twice (RFC 9110 section 9.2.1).
SAFE_METHODS = frozenset(("GET", "HEAD", "OPTIONS", "TRACE"))

EXHAUSTED = object()  # next()'s default: the iterator has ended


class HeadError(Exception):
    """A response head nave would refuse: not latin-1, NUL, wrong shape."""


class FileWrapper:
    """wsgi.file_wrapper: an iterable over a file-like object. When it
    wraps a regular file, the worker hands nave the descriptor instead and
    nave sends it with sendfile(2)."""

    def __init__(self, filelike, blksize=8192):
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self):
        return self

    def __next__(self):
        data = self.filelike.read(self.blksize)
        if data:
            return data
        raise StopIteration


class Response:
    """One request's start_response and write(), and what they recorded."""

    __slots__ = ("worker", "rid", "status", "headers", "sent")

    def __init__(self, worker, rid):
        self.worker = worker
        self.rid = rid
        self.status = None
        self.headers = None
        self.sent = False  # the head went to nave: start_response can no longer replace it

    def start_response(self, status, headers, exc_info=None):
        if exc_info is not None:
            try:
                if self.sent:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise AssertionError("start_response called a second time without exc_info")
        if type(status) is not str:
            raise TypeError("status must be a str, not %s" % type(status).__name__)
        if type(headers) is not list:
            raise TypeError("headers must be a list, not %s" % type(headers).__name__)
        self.status = status
        self.headers = headers
        return self.write

    def write(self, data):
        if self.status is None:
            raise AssertionError("write() called before start_response")
        w = self.worker
        if not self.sent:
            w.start(self)
        w.data(self.rid, data)
        w.flush()


def encode_head(status, headers):
    """Returns "status\\0name\\0value..." as latin-1 bytes, or raises
    HeadError. nave checks names and values again."""
    items = [status]
    for name, value in headers:
        items.append(name)
        items.append(value)
    try:
        text = "\0".join(items)
    except TypeError:
        raise HeadError("header names and values must be str") from None
    if text.count("\0") != len(items) - 1:
        raise HeadError("NUL in the status or a header")
    try:
        head = text.encode("latin-1")
    except UnicodeEncodeError:
        raise HeadError("status or header not latin-1: %r" % text) from None
    if len(head) > MAX_HEAD:
        raise HeadError("response head larger than %d bytes" % MAX_HEAD)
    return head


def declared_length(headers):
    for name, value in headers:
        if len(name) == 14 and name.lower() == "content-length":
            try:
                return int(value)
            except ValueError:
                return -1
    return -1


class Worker:
    def __init__(self, sock, app, base, progress, wid):
        self.sock = sock
        self.app = app
        self.base = base
        self.progress = progress
        self.wid = wid
        self.out = []  # reply frames not yet sent
        self.buf = bytearray(BUFFER)
        self.view = memoryview(self.buf)
        self.r = 0  # buf[r:w] is received and not yet parsed
        self.w = 0
        self.fds = collections.deque()  # received with REQUEST_FD frames, in order
        self.forked = False
        self.eof = False

    # -- the socket ---------------------------------------------------------

    def fill(self, block=True):
        """Receives what nave sent into the buffer; returns the byte count
        (0 at EOF). A persistent buffer: a fresh recv() per read costs a
        quarter of the throughput."""
        if self.w == len(self.buf):
            self.grow(len(self.buf) * 2)
        n, anc, flags, _ = self.sock.recvmsg_into(
            [self.view[self.w:]], ANCILLARY, 0 if block else socket.MSG_DONTWAIT)
        for level, kind, data in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                fds = array.array("i")
                fds.frombytes(data[:len(data) - len(data) % fds.itemsize])
                self.fds.extend(fds)
        if flags & socket.MSG_CTRUNC:
            raise RuntimeError("descriptors truncated")
        if n == 0:
            self.eof = True
        self.w += n
        return n

    def grow(self, size):
        buf = bytearray(size)
        buf[:self.w - self.r] = self.view[self.r:self.w]
        self.view.release()
        self.buf, self.view = buf, memoryview(buf)
        self.w -= self.r
        self.r = 0

    def compact(self):
        r, w = self.r, self.w
        if r == w:
            self.r = self.w = 0
            if len(self.buf) > 4 * BUFFER:
                self.grow(BUFFER)
        elif r > 0 and len(self.buf) - w < BUFFER // 4:
            self.buf[:w - r] = self.view[r:w]
            self.r, self.w = 0, w - r

    def flush(self):
        if self.forked:
            os._exit(0)
        if self.out:
            data = b"".join(self.out)
            self.out.clear()
            self.sock.sendall(data)

    # -- the loop -----------------------------------------------------------

    def serve(self):
        while True:
            self.run_batch()
            self.flush()
            self.compact()
            # A request that came whole while a body streamed (cancelled()
            # reads ahead, looking for a CANCEL: the rest of a batch that
            # arrived in two reads, say) is run now; waiting on the socket
            # for more would leave it unanswered.
            if self.frame_ready():
                continue
            if self.fill() == 0:
                return

    def frame_ready(self):
        """Whether the buffer holds a whole frame not yet run."""
        r, w = self.r, self.w
        return w - r >= 9 and r + 9 + HDR.unpack_from(self.buf, r)[0] <= w

    def run_batch(self):
        """Runs the requests received whole. Their environs are all built
        first, then the app is called for each: the app's code and data
        stay in the processor's caches from one call to the next, rather
        than being evicted by the adapter's in between (a Flask request
        costs a microsecond less in batches of 32)."""
        unpack = HDR.unpack_from
        jobs = []  # (id, environ, body file)
        buf, r, w = self.buf, self.r, self.w
        while w - r >= 9:
            n, kind, rid = unpack(buf, r)
            end = r + 9 + n
            if end > w:
                if end > len(buf):
                    self.grow(max(2 * len(buf), end - r))
                break
            payload, r = r + 9, end
            self.r = end
            if kind == REQUEST:
                jobs.append(self.environ(rid, payload, end, None))
            elif kind == REQUEST_FD:
                jobs.append(self.environ(rid, payload, end, self.fds.popleft()))
            # A CANCEL here names a request already answered: nave cancels
            # only a reply it has begun to receive. Nothing to do.
        for rid, environ, body in jobs:
            self.request(rid, environ, body)

    def environ(self, rid, p, end, fd):
        """Builds the environ of the REQUEST frame whose payload is
        buf[p:end]; returns it with the request's id and its body file,
        if it came as a descriptor."""
        view = self.view
        start = p + 4 + U32.unpack_from(view, p)[0]
        pairs = iter(str(view[p + 4:start], "latin-1").split("\0"))
        environ = self.base.copy()
        environ.update(zip(pairs, pairs))
        if fd is None:
            body = None
            environ["wsgi.input"] = io.BytesIO(view[start:end].tobytes() if end > start else b"")
        else:
            body = io.open(fd, "rb")
            body.seek(0)
            environ["wsgi.input"] = body
        return rid, environ, body

    def request(self, rid, environ, body):
        if self.forked:
            os._exit(0)
        method = environ["REQUEST_METHOD"]  # before the app, which may change environ
        U32.pack_into(self.progress, 0, rid)
        try:
            self.call(rid, environ)
        finally:
            if body is not None:
                body.close()
        if method not in SAFE_METHODS:
            self.flush()

    # -- one request ----------------------------------------------------------

    def call(self, rid, environ):
        resp = Response(self, rid)
        result = None
        try:
            result = self.app(environ, resp.start_response)
            kind = type(result)
            if kind is list or kind is tuple:
                self.whole(resp, result)
            elif kind is not FileWrapper or not self.sendfile(resp, result):
                self.stream(resp, result)
        except BaseException as exc:  # the app's failure is the request's, never the worker's
            self.failed(resp, environ, exc)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                try:
                    close()
                except BaseException as exc:
                    self.log_exception(environ, "close() of the response raised", exc)

    def whole(self, resp, blocks):
        if resp.sent:
            for data in blocks:
                self.data(resp.rid, data)
            self.end(resp.rid)
            return
        if resp.status is None:
            raise AssertionError("the app returned without calling start_response")
        if len(blocks) == 1:
            body = blocks[0]
            if type(body) is not bytes:
                body = bytes(body)
        else:
            body = b"".join(blocks)
        self.respond(resp, body)

    def stream(self, resp, result):
        """Relays an iterable's blocks. The common case takes two next()
        calls and no loop: one block that is the whole declared body, then
        the end; the reply then waits for the rest of the batch."""
        blocks = iter(result)
        data = next(blocks, EXHAUSTED)
        if data is EXHAUSTED:
            self.stream_blocks(resp, blocks, ())
        elif (type(data) is bytes and not resp.sent and resp.status is not None
                and 0 <= declared_length(resp.headers) <= len(data)):
            more = next(blocks, EXHAUSTED)
            if more is EXHAUSTED:
                self.respond(resp, data)
            else:
                self.stream_blocks(resp, blocks, (data, more))
        else:
            self.stream_blocks(resp, blocks, (data,))

    def stream_blocks(self, resp, blocks, taken):
        """Relays the blocks taken from the iterator already, then the rest:
        they are collected while the response is complete by its declared
        length (and can wait for the rest of the batch), and otherwise sent
        as they come, as PEP 3333 requires of a streamed body."""
        rid = resp.rid
        pending = []
        size = 0
        declared = -2  # unknown yet
        for data in itertools.chain(taken, blocks):
            if not data:
                continue
            if resp.sent:
                self.data(rid, data)
                self.flush()
                if self.cancelled(rid):
                    break
                continue
            if resp.status is None:
                raise AssertionError("the app yielded a body before calling start_response")
            pending.append(data)
            size += len(data)
            if declared == -2:
                declared = declared_length(resp.headers)
            if 0 <= declared <= size:
                # The whole declared body is here: the response is complete
                # and can wait for the rest of the batch.
                continue
            self.start(resp)
            for block in pending:
                self.data(rid, block)
            pending = []
            self.flush()
            if self.cancelled(rid):
                break
        if resp.sent:
            self.end(rid)
            return
        if resp.status is None:
            raise AssertionError("the app returned without calling start_response")
        self.respond(resp, b"".join(pending))

    def sendfile(self, resp, wrapper):
        """Hands a regular file's descriptor to nave. Returns False when the
        wrapped object is not one, to iterate it instead."""
        if resp.sent or resp.status is None:
            return False
        try:
            fd = wrapper.filelike.fileno()
            info = os.fstat(fd)
            offset = wrapper.filelike.tell()
        except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
            return False
        if not stat.S_ISREG(info.st_mode):
            return False
        count = max(info.st_size - offset, 0)
        declared = declared_length(resp.headers)
        if declared >= 0:
            count = min(count, declared)
        else:
            # nave frames the body with Content-Length, and can then use sendfile.
            resp.headers = resp.headers + [("Content-Length", str(count))]
        self.start(resp)
        self.flush()
        frame = HDR.pack(16, FILE, resp.rid) + FILE_RANGE.pack(offset, count)
        rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]).tobytes())]
        sent = self.sock.sendmsg([frame], rights)
        if sent < len(frame):
            self.sock.sendall(frame[sent:])
        self.end(resp.rid)
        return True

    def respond(self, resp, body):
        head = encode_head(resp.status, resp.headers)
        if len(body) <= MAX_DATA:
            n = len(head)
            self.out += (RESPONSE_HDR.pack(4 + n + len(body), RESPONSE, resp.rid, n), head, body)
            return
        rid = resp.rid
        if declared_length(resp.headers) < 0:
            # Too large for one frame, but its length is known: say it, so
            # that nave sends it with Content-Length rather than chunked.
            head = encode_head(resp.status, resp.headers + [("Content-Length", str(len(body)))])
        self.out.append(HDR.pack(len(head), START, rid) + head)
        resp.sent = True
        self.data(rid, body)
        self.out.append(HDR.pack(0, END, rid))

    def end(self, rid):
        """Ends a reply whose head already went to nave, at once: the client
        is mid-response, and a reply in flight cannot be run elsewhere."""
        self.out.append(HDR.pack(0, END, rid))
        self.flush()

    def start(self, resp):
        head = encode_head(resp.status, resp.headers)
        self.out.append(HDR.pack(len(head), START, resp.rid) + head)
        resp.sent = True

    def data(self, rid, data):
        if type(data) is not bytes:
            if isinstance(data, str):
                raise TypeError("the body must be bytes, not str")
            data = bytes(data)
        out = self.out
        for i in range(0, len(data), MAX_DATA):
            block = data[i:i + MAX_DATA]
            out.append(HDR.pack(len(block), DATA, rid))
            out.append(block)

    def cancelled(self, rid):
        """Reads what nave sent while the app streams, without waiting, and
        reports whether it cancelled rid (the client went away)."""
        try:
            while self.fill(block=False) > 0:
                pass
        except BlockingIOError:
            pass
        buf, r, w = self.buf, self.r, self.w
        while w - r >= 9:
            n, kind, fid = HDR.unpack_from(buf, r)
            if kind == CANCEL and fid == rid:
                return True
            r += 9 + n
        return self.eof

    def failed(self, resp, environ, exc):
        """Ends the reply with ERROR: nave answers 500 if the head has not
        gone out, and otherwise closes the connection mid-body."""
        if isinstance(exc, HeadError):
            sys.stderr.write("invalid response head for %s %s: %s\n" % (
                environ.get("REQUEST_METHOD"), environ.get("REQUEST_URI"), exc))
        else:
            self.log_exception(environ, "the app raised", exc)
        was_sent, resp.sent = resp.sent, True
        line = traceback.format_exception_only(type(exc), exc)[-1].strip()
        msg = line.encode("utf-8", "replace")[:MAX_ERROR]
        self.out.append(HDR.pack(len(msg), ERROR, resp.rid) + msg)
        if was_sent:
            self.flush()  # the client is mid-response: let nave close it now

    def log_exception(self, environ, what, exc):
        try:
            where = "%s %s" % (environ.get("REQUEST_METHOD"), environ.get("REQUEST_URI"))
            text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            sys.stderr.write("%s for %s:\n%s" % (what, where, text))
            sys.stderr.flush()
        except BaseException:
            pass


def load(spec):
    """Imports MODULE:CALLABLE (CALLABLE defaults to "application"; it may
    be dotted, and "name()" calls a factory)."""
    module, _, attr = spec.partition(":")
    attr = attr or "application"
    factory = attr.endswith("()")
    if factory:
        attr = attr[:-2]
    obj = importlib.import_module(module)
    for part in attr.split("."):
        obj = getattr(obj, part)
    if factory:
        obj = obj()
    if not callable(obj):
        raise TypeError("%s is a %s, not a WSGI callable" % (spec, type(obj).__name__))
    return obj


def import_failed(exc):
    tb = exc.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == "<stdin>":
        tb = tb.tb_next  # the adapter's own frames say nothing about the app
    traceback.print_exception(type(exc), exc, tb)
    sys.stderr.flush()
    os._exit(EXIT_IMPORT)


def main():
    if len(sys.argv) != 4:
        sys.stderr.write("usage: python - MODULE:CALLABLE WORKER_ID MULTIPROCESS < adapter.py\n")
        sys.exit(EXIT_USAGE)
    spec, wid, multiprocess = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # nave handles ^C and drains first
    sys.stdout.reconfigure(line_buffering=True)
    sys.stderr.reconfigure(line_buffering=True)
    # --timeout: nave sends SIGUSR1 to a stuck worker, which dumps every
    # thread's stack to stderr (nave's log) from the C signal handler, even
    # while the app blocks in C code.
    faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)
    sock = socket.socket(fileno=3)
    sock.setblocking(True)
    os.set_inheritable(3, False)
    progress = mmap.mmap(4, mmap.PAGESIZE)
    os.close(4)
    try:
        app = load(spec)
    except BaseException as exc:
        import_failed(exc)
    base = {
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": multiprocess,
        "wsgi.run_once": False,
        "wsgi.file_wrapper": FileWrapper,
        "wsgi.input_terminated": True,
        "SERVER_SOFTWARE": "nave",
    }
    worker = Worker(sock, app, base, progress, wid)

    def forked():
        # A forked child must never speak for the worker: its copy of the
        # socket goes, and it exits if it comes back into the loop.
        worker.forked = True
        try:
            sock.close()
        except OSError:
            pass

    os.register_at_fork(after_in_child=forked)
    ready = ("%d\0%s" % (os.getpid(), sys.version.split()[0])).encode()
    sock.sendall(HDR.pack(len(ready), READY, 0) + ready)
    try:
        worker.serve()
    except (BrokenPipeError, ConnectionResetError):
        pass
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
