/* nave's ASGI adapter, native part: the per-request hot path of
 * adapter.py in C, built by nave for the worker's interpreter (native.go)
 * and loaded when it builds. It reads the frames from nave (Conn.feed),
 * starts each REQUEST's app (the scope, the Request, the Task: Conn.request
 * and Conn.start), holds Request's fields, and takes send()'s two common
 * messages: a http.response.start with a list of (bytes, bytes) headers,
 * and the one http.response.body of a response that fits the window.
 * Every other case it hands to adapter.py (Conn.frame, Request.send_py),
 * which stays the reference: the two must answer alike, and
 * native_test.go's differential test holds them to it. CPython 3.9 or
 * later. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>
#include <string.h>

#if PY_VERSION_HEX < 0x030A0000
static inline PyObject *Py_NewRef(PyObject *o) { Py_INCREF(o); return o; }
#endif

static PyObject *ASGI, *EXTENSIONS, *METHODS, *CONN_CACHE, *CONNECTION, *SENT, *REQUEST_CLASS, *ONE, *TASK,
    *TASK_NAME, *LOOP_NAME;
static PyTypeObject *REQUEST_BASE;
static PyObject *k_type, *k_asgi, *k_http_version, *k_server, *k_client, *k_scheme, *k_method,
    *k_root_path, *k_path, *k_raw_path, *k_query_string, *k_headers, *k_state, *k_extensions,
    *v_http, *k_body, *k_more_body, *k_status, *k_trailers, *v_body, *v_start, *s_send_py,
    *s_emit3, *s_wakeup, *empty_bytes, *s_frame, *s_state, *s_step, *s_start, *s_requests, *s_running,
    *s_app, *s_receive, *s_send, *s_run, *s_loop, *s_create_task, *s_idle, *s_done, *s_set_result,
    *s_finished_py, *s_get_task_factory;

enum { NEW, STARTED, TRAILING, ENDED };
#define REQUEST 1
#define RESPONSE 20
#define WINDOW (256 << 10)

static uint32_t u32(const unsigned char *b) {
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* The scope for the REQUEST frame data[p:end] (Conn.request's), with the
 * lifespan state copied; *body and *more get the first body chunk. */
static PyObject *make_scope(PyObject *bytes, Py_ssize_t p, Py_ssize_t end, PyObject *state, PyObject **body,
                            int *more) {
    const unsigned char *data = (const unsigned char *)PyBytes_AS_STRING(bytes);
    if (end - p < 13) {
        PyErr_SetString(PyExc_ValueError, "short REQUEST frame");
        return NULL;
    }
    int flags = data[p];
    Py_ssize_t rlen = u32(data + p + 1), clen = u32(data + p + 5), hlen = u32(data + p + 9);
    Py_ssize_t a = p + 13, b = a + rlen, c = b + clen, d = c + hlen;
    if (d > end) {
        PyErr_SetString(PyExc_ValueError, "REQUEST segments past the frame");
        return NULL;
    }
    /* method \0 path \0 raw_path \0 query */
    const unsigned char *f[4];
    Py_ssize_t fl[4];
    const unsigned char *q = data + a, *qe = data + b;
    for (int i = 0; i < 4; i++) {
        const unsigned char *z = memchr(q, 0, qe - q);
        if (i == 3)
            z = z ? NULL : qe; /* four fields, as adapter.py's split wants */
        if (z == NULL) {
            PyErr_SetString(PyExc_ValueError, "REQUEST line segment");
            return NULL;
        }
        f[i] = q, fl[i] = z - q, q = z + 1;
    }
    PyObject *sc = NULL, *res = NULL, *facts = NULL, *seg = NULL, *headers = NULL, *o = NULL;
    seg = PyBytes_FromStringAndSize((const char *)data + b, clen);
    if (!seg) goto fail;
    facts = PyDict_GetItemWithError(CONN_CACHE, seg);
    if (facts) Py_INCREF(facts);
    else if (PyErr_Occurred()) goto fail;
    else if (!(facts = PyObject_CallOneArg(CONNECTION, seg))) goto fail;
    if (!PyTuple_CheckExact(facts) || PyTuple_GET_SIZE(facts) != 5) {
        PyErr_SetString(PyExc_TypeError, "connection facts");
        goto fail;
    }
    /* headers: name \0 value \0 ... as a list of (name, value) */
    Py_ssize_t nf = 0;
    if (hlen) {
        nf = 1;
        for (const unsigned char *h = data + c, *he = data + d; (h = memchr(h, 0, he - h)); h++) nf++;
    }
    headers = PyList_New(nf / 2);
    if (!headers) goto fail;
    q = data + c;
    for (Py_ssize_t i = 0; i < nf / 2; i++) {
        const unsigned char *z = memchr(q, 0, data + d - q);
        PyObject *name = PyBytes_FromStringAndSize((const char *)q, z - q);
        q = z + 1;
        z = memchr(q, 0, data + d - q);
        if (!z) z = data + d;
        PyObject *value = PyBytes_FromStringAndSize((const char *)q, z - q);
        q = z + 1;
        PyObject *t = (name && value) ? PyTuple_Pack(2, name, value) : NULL;
        Py_XDECREF(name);
        Py_XDECREF(value);
        if (!t) goto fail;
        PyList_SET_ITEM(headers, i, t);
    }
    sc = PyDict_New();
    if (!sc) goto fail;
#define SET(k, v) do { if (PyDict_SetItem(sc, k, v) < 0) goto fail; } while (0)
#define SETNEW(k, expr) do { o = (expr); if (!o || PyDict_SetItem(sc, k, o) < 0) goto fail; Py_CLEAR(o); } while (0)
    SET(k_type, v_http);
    SET(k_asgi, ASGI);
    SET(k_http_version, PyTuple_GET_ITEM(facts, 1));
    SET(k_server, PyTuple_GET_ITEM(facts, 4));
    SET(k_client, PyTuple_GET_ITEM(facts, 3));
    SET(k_scheme, PyTuple_GET_ITEM(facts, 0));
    o = PyBytes_FromStringAndSize((const char *)f[0], fl[0]);
    if (!o) goto fail;
    PyObject *m = PyDict_GetItemWithError(METHODS, o);
    Py_CLEAR(o);
    if (m) SET(k_method, m);
    else if (PyErr_Occurred()) goto fail;
    else SETNEW(k_method, PyUnicode_DecodeLatin1((const char *)f[0], fl[0], NULL));
    SET(k_root_path, PyTuple_GET_ITEM(facts, 2));
    SETNEW(k_path, PyUnicode_DecodeUTF8((const char *)f[1], fl[1], "replace"));
    SETNEW(k_raw_path, PyBytes_FromStringAndSize((const char *)f[2], fl[2]));
    SETNEW(k_query_string, PyBytes_FromStringAndSize((const char *)f[3], fl[3]));
    SET(k_headers, headers);
    SETNEW(k_state, PyDict_Copy(state));
    SET(k_extensions, EXTENSIONS);
    if (!(*body = PyBytes_FromStringAndSize((const char *)data + d, end - d))) goto fail;
    *more = flags & 1;
    res = sc;
    sc = NULL;
fail:
    Py_XDECREF(o);
    Py_XDECREF(sc);
    Py_XDECREF(seg);
    Py_XDECREF(facts);
    Py_XDECREF(headers);
    return res;
}

typedef struct {
    PyObject_HEAD
    PyObject *conn, *rid, *body, *chunks, *waiter, *status, *head, *unacked, *credit, *trailers,
        *trailer, *task, *weakrefs;
    int state;
    char more, disconnected, asked;
    uint32_t rid32;
} Request;

static int req_traverse(Request *r, visitproc visit, void *arg) {
    Py_VISIT(r->conn); Py_VISIT(r->body); Py_VISIT(r->chunks); Py_VISIT(r->waiter);
    Py_VISIT(r->status); Py_VISIT(r->head); Py_VISIT(r->unacked); Py_VISIT(r->credit);
    Py_VISIT(r->trailers); Py_VISIT(r->trailer); Py_VISIT(r->task); Py_VISIT(Py_TYPE(r));
    return 0;
}

static int req_clear(Request *r) {
    Py_CLEAR(r->conn); Py_CLEAR(r->rid); Py_CLEAR(r->body); Py_CLEAR(r->chunks); Py_CLEAR(r->waiter);
    Py_CLEAR(r->status); Py_CLEAR(r->head); Py_CLEAR(r->unacked); Py_CLEAR(r->credit);
    Py_CLEAR(r->trailers); Py_CLEAR(r->trailer); Py_CLEAR(r->task);
    return 0;
}

static void req_dealloc(Request *r) {
    PyTypeObject *tp = Py_TYPE(r);
    PyObject_GC_UnTrack(r);
    if (r->weakrefs) PyObject_ClearWeakRefs((PyObject *)r);
    req_clear(r);
    tp->tp_free((PyObject *)r);
    Py_DECREF(tp);
}

static PyObject *req_make(PyTypeObject *tp, PyObject *conn, PyObject *rid, PyObject *body, int more) {
    Request *r = (Request *)tp->tp_alloc(tp, 0);
    if (!r) return NULL;
    r->rid32 = (uint32_t)PyLong_AsUnsignedLong(rid);
    if (PyErr_Occurred()) { Py_DECREF(r); return NULL; }
    r->conn = Py_NewRef(conn);
    r->rid = Py_NewRef(rid);
    r->body = Py_NewRef(body);
    r->more = more;
    r->status = PyLong_FromLong(0);
    return (PyObject *)r;
}

/* Request(conn, rid, body, more) */
static PyObject *req_new(PyTypeObject *tp, PyObject *args, PyObject *kw) {
    PyObject *conn, *rid, *body, *more;
    if (!PyArg_UnpackTuple(args, "Request", 4, 4, &conn, &rid, &body, &more)) return NULL;
    int m = PyObject_IsTrue(more);
    return m < 0 ? NULL : req_make(tp, conn, rid, body, m);
}

static PyObject *fallback(Request *r, PyObject *message) {
    return PyObject_CallMethodOneArg((PyObject *)r, s_send_py, message);
}

/* b"name\0value\0..." from an exact list of exact (bytes, bytes) tuples,
 * NULL (no error) when the headers are of another shape or hold NUL. */
static PyObject *fields(PyObject *headers) {
    if (!PyList_CheckExact(headers)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(headers), size = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PyList_GET_ITEM(headers, i);
        if (!PyTuple_CheckExact(t) || PyTuple_GET_SIZE(t) != 2) return NULL;
        PyObject *k = PyTuple_GET_ITEM(t, 0), *v = PyTuple_GET_ITEM(t, 1);
        if (!PyBytes_CheckExact(k) || !PyBytes_CheckExact(v)) return NULL;
        size += PyBytes_GET_SIZE(k) + PyBytes_GET_SIZE(v) + 2;
    }
    PyObject *out = PyBytes_FromStringAndSize(NULL, size ? size - 1 : 0);
    if (!out) return NULL;
    char *w = PyBytes_AS_STRING(out);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *t = PyList_GET_ITEM(headers, i);
        for (int j = 0; j < 2; j++) {
            PyObject *s = PyTuple_GET_ITEM(t, j);
            Py_ssize_t l = PyBytes_GET_SIZE(s);
            if (memchr(PyBytes_AS_STRING(s), 0, l)) { Py_DECREF(out); return NULL; }
            memcpy(w, PyBytes_AS_STRING(s), l);
            w += l;
            if (i < n - 1 || j == 0) *w++ = 0;
        }
    }
    return out;
}

static PyObject *req_send(Request *r, PyObject *message) {
    if (!PyDict_CheckExact(message)) return fallback(r, message);
    PyObject *kind = PyDict_GetItemWithError(message, k_type);
    if (!kind) return PyErr_Occurred() ? NULL : fallback(r, message);
    if (kind == v_body || (PyUnicode_CheckExact(kind) && PyUnicode_Compare(kind, v_body) == 0)) {
        if (r->state != STARTED || r->disconnected || r->head == NULL || r->head == Py_None ||
            (r->trailers && PyObject_IsTrue(r->trailers)))
            return fallback(r, message);
        PyObject *body = PyDict_GetItemWithError(message, k_body);
        PyObject *more = PyDict_GetItemWithError(message, k_more_body);
        if (PyErr_Occurred()) return NULL;
        if (body == NULL) body = empty_bytes;
        if (!PyBytes_CheckExact(body) || PyBytes_GET_SIZE(body) > WINDOW || (more && more != Py_False))
            return fallback(r, message);
        long status = PyLong_CheckExact(r->status) ? PyLong_AsLong(r->status) : -1;
        if (status < 0 || status > 65535) { PyErr_Clear(); return fallback(r, message); }
        Py_ssize_t hl = PyBytes_GET_SIZE(r->head), bl = PyBytes_GET_SIZE(body);
        unsigned char h[15];
        uint32_t size = 6 + hl + bl, rid = r->rid32, hl32 = hl;
        memcpy(h, &size, 4); h[4] = RESPONSE; memcpy(h + 5, &rid, 4);
        h[9] = status & 0xff; h[10] = status >> 8; memcpy(h + 11, &hl32, 4);
        PyObject *hdr = PyBytes_FromStringAndSize((const char *)h, 15);
        if (!hdr) return NULL;
        PyObject *head = r->head;
        r->head = Py_NewRef(Py_None);
        r->state = ENDED;
        PyObject *argv[] = {r->conn, hdr, head, body};
        PyObject *x = PyObject_VectorcallMethod(s_emit3, argv, 4 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        Py_DECREF(hdr);
        Py_DECREF(head);
        if (!x) return NULL;
        Py_DECREF(x);
        if (r->waiter && r->waiter != Py_None) {
            x = PyObject_CallMethodNoArgs((PyObject *)r, s_wakeup);
            if (!x) return NULL;
            Py_DECREF(x);
        }
        return Py_NewRef(SENT);
    }
    if (kind == v_start || (PyUnicode_CheckExact(kind) && PyUnicode_Compare(kind, v_start) == 0)) {
        if (r->state != NEW || r->disconnected) return fallback(r, message);
        PyObject *headers = PyDict_GetItemWithError(message, k_headers);
        PyObject *status = PyDict_GetItemWithError(message, k_status);
        PyObject *trailers = PyDict_GetItemWithError(message, k_trailers);
        if (PyErr_Occurred()) return NULL;
        if (!status || (trailers && trailers != Py_False)) return fallback(r, message);
        PyObject *head = headers ? fields(headers) : Py_NewRef(empty_bytes);
        if (!head) return PyErr_Occurred() ? NULL : fallback(r, message);
        Py_XSETREF(r->head, head);
        Py_XSETREF(r->status, Py_NewRef(status));
        Py_XSETREF(r->trailers, Py_NewRef(Py_False));
        r->state = STARTED;
        return Py_NewRef(SENT);
    }
    return fallback(r, message);
}

/* Conn.returned(r), for finished. */
static int returned(Request *r) {
    PyObject *conn = r->conn, *running = NULL, *idle = NULL, *requests = NULL, *x = NULL;
    int rc = -1;
    if (!(running = PyObject_GetAttr(conn, s_running))) goto done;
    Py_SETREF(running, PyNumber_Subtract(running, ONE));
    if (!running || PyObject_SetAttr(conn, s_running, running) < 0) goto done;
    if (PyLong_CheckExact(running) && PyLong_AsLong(running) == 0) {
        if (!(idle = PyObject_GetAttr(conn, s_idle))) goto done;
        if (idle != Py_None) {
            if (!(x = PyObject_CallMethodNoArgs(idle, s_done))) goto done;
            int isdone = PyObject_IsTrue(x);
            Py_CLEAR(x);
            if (isdone < 0) goto done;
            if (!isdone && !(x = PyObject_CallMethodOneArg(idle, s_set_result, Py_None))) goto done;
        }
    }
    if (!(requests = PyObject_GetAttr(conn, s_requests))) goto done;
    PyObject *cur = PyDict_GetItemWithError(requests, r->rid);
    if (cur == (PyObject *)r) {
        /* After the terminal frame nave may reuse the id for a new request
         * while this app runs on (background tasks): only its own entry goes. */
        if (PyDict_DelItem(requests, r->rid) < 0) goto done;
    } else if (!cur && PyErr_Occurred()) {
        goto done;
    }
    rc = 0;
done:
    Py_XDECREF(running); Py_XDECREF(idle); Py_XDECREF(requests); Py_XDECREF(x);
    return rc;
}

/* The app returned (exc None) or raised: Request.finished. The common end,
 * an app that returned after its response went whole, is done here. */
static PyObject *req_finished(Request *r, PyObject *exc) {
    if (exc != Py_None || r->state != ENDED)
        return PyObject_CallMethodOneArg((PyObject *)r, s_finished_py, exc);
    if (returned(r) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef req_methods[] = {
    {"send", (PyCFunction)req_send, METH_O, "ASGI send: the common cases in C, the others in send_py."},
    {"finished", (PyCFunction)req_finished, METH_O, "The app's end: the common case in C, the others in finished_py."},
    {NULL}
};

static PyMemberDef req_members[] = {
    {"conn", T_OBJECT, offsetof(Request, conn), READONLY},
    {"rid", T_OBJECT, offsetof(Request, rid), READONLY},
    {"body", T_OBJECT, offsetof(Request, body), 0},
    {"more", T_BOOL, offsetof(Request, more), 0},
    {"chunks", T_OBJECT, offsetof(Request, chunks), 0},
    {"waiter", T_OBJECT, offsetof(Request, waiter), 0},
    {"state", T_INT, offsetof(Request, state), 0},
    {"status", T_OBJECT, offsetof(Request, status), 0},
    {"head", T_OBJECT, offsetof(Request, head), 0},
    {"disconnected", T_BOOL, offsetof(Request, disconnected), 0},
    {"asked", T_BOOL, offsetof(Request, asked), 0},
    {"unacked", T_OBJECT_EX, offsetof(Request, unacked), 0},
    {"credit", T_OBJECT, offsetof(Request, credit), 0},
    {"trailers", T_OBJECT_EX, offsetof(Request, trailers), 0},
    {"trailer", T_OBJECT_EX, offsetof(Request, trailer), 0},
    {"task", T_OBJECT, offsetof(Request, task), 0},
    {"__weaklistoffset__", T_PYSSIZET, offsetof(Request, weakrefs), READONLY},
    {NULL}
};

static PyType_Slot req_slots[] = {
    {Py_tp_new, req_new},
    {Py_tp_dealloc, req_dealloc},
    {Py_tp_traverse, req_traverse},
    {Py_tp_clear, req_clear},
    {Py_tp_methods, req_methods},
    {Py_tp_members, req_members},
    {0, NULL},
};

static PyType_Spec req_spec = {
    "_naveasgi.Request", sizeof(Request), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC, req_slots,
};

static PyObject *attr(PyObject *o, PyObject *name) { return PyObject_GetAttr(o, name); }

/* Conn.request and Conn.start for the REQUEST frame data[p:end]: the
 * scope, the Request, the app's coroutine, and the Task running it
 * through Conn.run. With NAVE_ASGI_RUN=step, Conn.start runs it. */
static PyObject *start(PyObject *conn, PyObject *data, PyObject *rid, Py_ssize_t p, Py_ssize_t end) {
    PyObject *state = NULL, *sc = NULL, *body = NULL, *req = NULL, *step = NULL, *requests = NULL,
             *running = NULL, *app = NULL, *receive = NULL, *send = NULL, *coro = NULL, *run = NULL,
             *loop = NULL, *factory = NULL, *task = NULL, *res = NULL;
    int more = 0;
    if (!(state = attr(conn, s_state)) || !(sc = make_scope(data, p, end, state, &body, &more)) ||
        !(req = req_make((PyTypeObject *)REQUEST_CLASS, conn, rid, body, more)) || !(step = attr(conn, s_step)))
        goto done;
    int stepped = PyObject_IsTrue(step);
    if (stepped < 0) goto done;
    if (stepped) {
        PyObject *argv[] = {conn, req, sc};
        res = PyObject_VectorcallMethod(s_start, argv, 3 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        goto done;
    }
    if (!(requests = attr(conn, s_requests)) || PyDict_SetItem(requests, rid, req) < 0 ||
        !(running = attr(conn, s_running)))
        goto done;
    Py_SETREF(running, PyNumber_Add(running, ONE));
    if (!running || PyObject_SetAttr(conn, s_running, running) < 0 || !(app = attr(conn, s_app)) ||
        !(receive = attr(req, s_receive)) || !(send = attr(req, s_send)))
        goto done;
    PyObject *argv[] = {sc, receive, send};
    if (!(coro = PyObject_Vectorcall(app, argv, 3, NULL))) goto done;
    PyObject *runv[] = {conn, req, coro};
    if (!(run = PyObject_VectorcallMethod(s_run, runv, 3 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL))) goto done;
    if (!(loop = attr(conn, s_loop)) || !(factory = PyObject_CallMethodNoArgs(loop, s_get_task_factory)))
        goto done;
    if (factory == Py_None) {
        /* loop.create_task's Task, named (adapter.py's Conn.start says why). */
        PyObject *argv[] = {run, loop, TASK_NAME};
        task = PyObject_Vectorcall(TASK, argv, 1, LOOP_NAME);
    } else {
        PyObject *argv[] = {loop, run};
        task = PyObject_VectorcallMethod(s_create_task, argv, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    }
    if (!task) goto done;
    Py_XSETREF(((Request *)req)->task, Py_NewRef(task));
    res = Py_NewRef(Py_None);
done:
    Py_XDECREF(state); Py_XDECREF(sc); Py_XDECREF(body); Py_XDECREF(req); Py_XDECREF(step);
    Py_XDECREF(requests); Py_XDECREF(running); Py_XDECREF(app); Py_XDECREF(receive); Py_XDECREF(send);
    Py_XDECREF(coro); Py_XDECREF(run); Py_XDECREF(loop); Py_XDECREF(factory); Py_XDECREF(task);
    return res;
}

/* feed(conn, data) -> the offset of the first frame data does not hold
 * whole: Conn.feed's loop. REQUEST frames start their app here; the
 * others go to conn.frame(kind, rid, data, p, end). */
static PyObject *feed(PyObject *mod, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 2 || !PyBytes_CheckExact(args[1])) {
        PyErr_SetString(PyExc_TypeError, "feed(conn, data: bytes)");
        return NULL;
    }
    if (!REQUEST_CLASS) {
        PyErr_SetString(PyExc_RuntimeError, "feed before setup");
        return NULL;
    }
    PyObject *conn = args[0], *data = args[1];
    const unsigned char *d = (const unsigned char *)PyBytes_AS_STRING(data);
    Py_ssize_t n = PyBytes_GET_SIZE(data), p = 0;
    while (n - p >= 9) {
        Py_ssize_t end = p + 9 + (Py_ssize_t)u32(d + p);
        if (end > n) break;
        int kind = d[p + 4];
        PyObject *rid = PyLong_FromUnsignedLong(u32(d + p + 5)), *r = NULL;
        if (!rid) return NULL;
        if (kind == REQUEST) {
            r = start(conn, data, rid, p + 9, end);
        } else {
            PyObject *k = PyLong_FromLong(kind), *a = PyLong_FromSsize_t(p + 9), *b = PyLong_FromSsize_t(end);
            if (k && a && b) {
                PyObject *argv[] = {conn, k, rid, data, a, b};
                r = PyObject_VectorcallMethod(s_frame, argv, 6 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
            }
            Py_XDECREF(k); Py_XDECREF(a); Py_XDECREF(b);
        }
        Py_DECREF(rid);
        if (!r) return NULL;
        Py_DECREF(r);
        p = end;
    }
    return PyLong_FromSsize_t(p);
}

/* setup(asgi, extensions, methods, conn_cache, connection, sent, request, task, task_name) */
static PyObject *setup(PyObject *mod, PyObject *args) {
    PyObject *a, *e, *m, *c, *f, *s, *r, *t, *n;
    if (!PyArg_UnpackTuple(args, "setup", 9, 9, &a, &e, &m, &c, &f, &s, &r, &t, &n)) return NULL;
    if (!PyType_Check(r) || !PyType_IsSubtype((PyTypeObject *)r, REQUEST_BASE)) {
        PyErr_SetString(PyExc_TypeError, "setup: request must subclass _naveasgi.Request");
        return NULL;
    }
    Py_XSETREF(ASGI, Py_NewRef(a)); Py_XSETREF(EXTENSIONS, Py_NewRef(e)); Py_XSETREF(METHODS, Py_NewRef(m));
    Py_XSETREF(CONN_CACHE, Py_NewRef(c)); Py_XSETREF(CONNECTION, Py_NewRef(f)); Py_XSETREF(SENT, Py_NewRef(s));
    Py_XSETREF(REQUEST_CLASS, Py_NewRef(r));
    Py_XSETREF(TASK, Py_NewRef(t));
    Py_XSETREF(TASK_NAME, Py_NewRef(n));
    Py_RETURN_NONE;
}

static PyMethodDef mod_methods[] = {
    {"feed", (PyCFunction)(void (*)(void))feed, METH_FASTCALL, "feed(conn, data) -> offset"},
    {"setup", setup, METH_VARARGS, "setup(asgi, extensions, methods, conn_cache, connection, sent, request, task, task_name)"},
    {NULL}
};

static struct PyModuleDef mod_def = {PyModuleDef_HEAD_INIT, "_naveasgi", NULL, -1, mod_methods};

PyMODINIT_FUNC PyInit__naveasgi(void) {
    PyObject *mod = PyModule_Create(&mod_def);
    if (!mod) return NULL;
#define S(v, s) if (!(v = PyUnicode_InternFromString(s))) return NULL
    S(k_type, "type"); S(k_asgi, "asgi"); S(k_http_version, "http_version"); S(k_server, "server");
    S(k_client, "client"); S(k_scheme, "scheme"); S(k_method, "method"); S(k_root_path, "root_path");
    S(k_path, "path"); S(k_raw_path, "raw_path"); S(k_query_string, "query_string");
    S(k_headers, "headers"); S(k_state, "state"); S(k_extensions, "extensions"); S(v_http, "http");
    S(k_body, "body"); S(k_more_body, "more_body"); S(k_status, "status"); S(k_trailers, "trailers");
    S(v_body, "http.response.body"); S(v_start, "http.response.start"); S(s_send_py, "send_py");
    S(s_emit3, "emit3"); S(s_wakeup, "wakeup"); S(s_frame, "frame"); S(s_state, "state"); S(s_step, "step");
    S(s_start, "start"); S(s_requests, "requests"); S(s_running, "running"); S(s_app, "app");
    S(s_receive, "receive"); S(s_send, "send"); S(s_run, "run"); S(s_loop, "loop");
    S(s_create_task, "create_task"); S(s_idle, "idle"); S(s_done, "done"); S(s_set_result, "set_result");
    S(s_finished_py, "finished_py"); S(s_get_task_factory, "get_task_factory");
    if (!(LOOP_NAME = Py_BuildValue("(ss)", "loop", "name"))) return NULL;
    if (!(empty_bytes = PyBytes_FromStringAndSize(NULL, 0)) || !(ONE = PyLong_FromLong(1))) return NULL;
    PyObject *t = PyType_FromSpec(&req_spec);
    if (!t) return NULL;
    REQUEST_BASE = (PyTypeObject *)Py_NewRef(t);
    if (PyModule_AddObject(mod, "Request", t) < 0) return NULL;
    return mod;
}
