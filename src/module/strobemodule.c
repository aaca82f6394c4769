/* strobemodule.c — the CPython extension `strobe._strobe`: the only code that
 * talks to the interpreter's C API.  It fills the layout, hands the engine
 * the interpreter's address, and exposes start/stop/write/finish and the
 * hook entry points (thread names).  One sampler per process. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <unistd.h>

#include "aio.h"
#include "export.h"
#include "layout.h"
#include "layout_fill.h"
#include "recopts.h"
#include "sampler.h"

static strobe_layout g_layout;
static sampler *g_sampler;

/* Check the layout's assumptions against live objects of this interpreter:
 * the str state bits, and that the thread list and frame fields point where
 * the public API says they do. */
static int layout_check(const strobe_layout *L)
{
    PyObject *s4 = PyUnicode_FromString("\xf0\x9d\x94\xa3x");   /* U+1D523: 4-byte kind */
    PyObject *s1 = PyUnicode_FromString("ascii");
    if (!s4 || !s1) { Py_XDECREF(s4); Py_XDECREF(s1); return -1; }
    uint32_t st4, st1;
    memcpy(&st4, (char *)s4 + L->u_state, 4);
    memcpy(&st1, (char *)s1 + L->u_state, 4);
    int ok = ((st4 >> L->u_kind_shift) & 7) == 4 && ((st4 >> L->u_compact_shift) & 1) &&
             !((st4 >> L->u_ascii_shift) & 1) && ((st1 >> L->u_kind_shift) & 7) == 1 &&
             ((st1 >> L->u_ascii_shift) & 1);
    Py_DECREF(s4);
    Py_DECREF(s1);
    PyThreadState *ts = PyThreadState_Get();
    PyInterpreterState *interp = ts->interp;
    void *head;
    memcpy(&head, (char *)interp + L->interp_tstate_head, sizeof head);
    ok = ok && head == (void *)PyInterpreterState_ThreadHead(interp);
    if (!ok) {
        PyErr_SetString(PyExc_RuntimeError,
                        "strobe: this interpreter's memory layout is not what the module was built for");
        return -1;
    }
    return 0;
}

static void after_fork_child(void)
{
    /* The sampling thread does not exist in the child and the profile is the
     * parent's to write: the child forgets it (without freeing: its locks
     * may have been held at fork) and may start a profiler of its own. */
    if (g_sampler) sampler_forget_after_fork();
    g_sampler = NULL;
}

static int sampler_running(void)
{
    sampler_stats st;
    if (!g_sampler) return 0;
    sampler_get_stats(g_sampler, &st);
    return st.running;
}

/* find_offset(obj, target, size) -> the one offset (multiple of 8) within
 * obj's first `size` bytes that holds a pointer to target; -1 when there is
 * none or more than one.  Used to measure the private asyncio structs. */
static PyObject *py_find_offset(PyObject *self, PyObject *args)
{
    PyObject *obj, *target;
    Py_ssize_t size;
    if (!PyArg_ParseTuple(args, "OOn", &obj, &target, &size)) return NULL;
    long found = -1;
    for (Py_ssize_t off = 0; off + 8 <= size; off += 8) {
        void *p;
        memcpy(&p, (char *)obj + off, sizeof p);
        if (p != (void *)target) continue;
        if (found >= 0) return PyLong_FromLong(-1);
        found = (long)off;
    }
    return PyLong_FromLong(found);
}

/* find_int_offset([objs], [values], size) -> the one 4-byte-aligned offset
 * where each object holds the matching 32-bit value; -1 when not unique. */
static PyObject *py_find_int_offset(PyObject *self, PyObject *args)
{
    PyObject *objs, *vals;
    Py_ssize_t size;
    if (!PyArg_ParseTuple(args, "O!O!n", &PyList_Type, &objs, &PyList_Type, &vals, &size)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(objs);
    if (n != PyList_GET_SIZE(vals) || n == 0) return PyLong_FromLong(-1);
    long found = -1;
    for (Py_ssize_t off = 16; off + 4 <= size; off += 4) {
        int all = 1;
        for (Py_ssize_t i = 0; i < n && all; i++) {
            int32_t v;
            memcpy(&v, (char *)PyList_GET_ITEM(objs, i) + off, 4);
            all = v == (int32_t)PyLong_AsLong(PyList_GET_ITEM(vals, i));
        }
        if (!all) continue;
        if (found >= 0) return PyLong_FromLong(-1);
        found = (long)off;
    }
    if (PyErr_Occurred()) return NULL;
    return PyLong_FromLong(found);
}

static int dict_i32(PyObject *d, const char *key, int32_t *out)
{
    PyObject *v = PyDict_GetItemString(d, key);
    if (!v) {
        PyErr_Format(PyExc_ValueError, "strobe: asyncio facts lack '%s'", key);
        return -1;
    }
    long x = PyLong_AsLong(v);
    if (x == -1 && PyErr_Occurred()) return -1;
    *out = (int32_t)x;
    return 0;
}

static int dict_addrs(PyObject *d, const char *key, uint64_t *out, int max, int *n)
{
    PyObject *v = PyDict_GetItemString(d, key);
    if (!v || !PyList_Check(v) || PyList_GET_SIZE(v) > max) {
        PyErr_Format(PyExc_ValueError, "strobe: asyncio facts: bad '%s'", key);
        return -1;
    }
    *n = (int)PyList_GET_SIZE(v);
    for (int i = 0; i < *n; i++) {
        out[i] = PyLong_AsUnsignedLongLong(PyList_GET_ITEM(v, i));
        if (PyErr_Occurred()) return -1;
    }
    return 0;
}

static int dict_addr(PyObject *d, const char *key, uint64_t *out)
{
    int n;
    PyObject *v = PyDict_GetItemString(d, key);
    if (!v) {
        PyErr_Format(PyExc_ValueError, "strobe: asyncio facts lack '%s'", key);
        return -1;
    }
    *out = PyLong_AsUnsignedLongLong(v);
    (void)n;
    return PyErr_Occurred() ? -1 : 0;
}

/* The dict made by strobe._aio.probe() -> struct strobe_aio. */
static int aio_from_dict(PyObject *d, strobe_aio *A)
{
    memset(A, 0, sizeof *A);
    if (!PyDict_Check(d)) {
        PyErr_SetString(PyExc_TypeError, "strobe: asyncio facts must be a dict");
        return -1;
    }
    if (dict_i32(d, "fut_loop", &A->fut_loop) || dict_i32(d, "fut_state", &A->fut_state) ||
        dict_i32(d, "task_coro", &A->task_coro) || dict_i32(d, "task_fut_waiter", &A->task_fut_waiter) ||
        dict_i32(d, "task_name", &A->task_name) || dict_i32(d, "task_size", &A->task_size) ||
        dict_i32(d, "fut_state_pending", &A->fut_state_pending) ||
        dict_i32(d, "futiter_future", &A->futiter_future) || dict_i32(d, "asend_gen", &A->asend_gen) ||
        dict_i32(d, "athrow_gen", &A->athrow_gen) || dict_i32(d, "cw_coro", &A->cw_coro) ||
        dict_addr(d, "futureiter_type", &A->futureiter_type) ||
        dict_addr(d, "asend_type", &A->asend_type) || dict_addr(d, "athrow_type", &A->athrow_type) ||
        dict_addr(d, "corowrapper_type", &A->corowrapper_type) ||
        dict_addr(d, "weakref_type", &A->weakref_type) ||
        dict_addrs(d, "task_types", A->task_types, AIO_MAX_TASK_TYPES, &A->ntask_types) ||
        dict_addrs(d, "reg_weak", A->reg_weak, 2, &A->nreg_weak) ||
        dict_addrs(d, "reg_strong", A->reg_strong, 2, &A->nreg_strong) ||
        dict_addrs(d, "step_codes", A->step_codes, AIO_MAX_STEP_CODES, &A->nstep_codes))
        return -1;
    A->enabled = 1;
    return 0;
}

static PyObject *py_set_aio(PyObject *self, PyObject *arg)
{
    strobe_aio A;
    if (aio_from_dict(arg, &A) != 0) return NULL;
    if (g_sampler) sampler_set_aio(g_sampler, &A);
    Py_RETURN_NONE;
}

static PyObject *py_add_task_type(PyObject *self, PyObject *arg)
{
    if (!PyType_Check(arg)) {
        PyErr_SetString(PyExc_TypeError, "strobe: a type");
        return NULL;
    }
    if (g_sampler) sampler_add_task_type(g_sampler, (uint64_t)(uintptr_t)arg);
    Py_RETURN_NONE;
}

static PyObject *py_start(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = { "rate", "mode", "max_depth", "duration", "output", "format",
                              "summary", "handle_sigterm", "aio", NULL };
    double rate = SAMPLER_DEFAULT_RATE, duration = 0;
    const char *mode = "wall", *output = NULL, *format = NULL;
    int max_depth = SAMPLER_DEFAULT_DEPTH, summary = 0, handle_sigterm = 0;
    PyObject *aio = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|dsidzzppO", kwlist, &rate, &mode, &max_depth,
                                     &duration, &output, &format, &summary, &handle_sigterm, &aio))
        return NULL;
    strobe_aio A;
    memset(&A, 0, sizeof A);
    if (aio != Py_None && aio_from_dict(aio, &A) != 0) return NULL;
    if (sampler_running()) {
        PyErr_SetString(PyExc_RuntimeError,
                        "strobe: the profiler is already running in this process (call strobe.stop() first)");
        return NULL;
    }
    sampler_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.rate_hz = rate;
    cfg.mode = sampler_mode_from_name(mode);
    cfg.max_depth = max_depth;
    cfg.duration_s = duration;
    cfg.output = output;
    cfg.summary = summary;
    cfg.handle_sigterm = handle_sigterm;
    cfg.aio = A.enabled ? &A : NULL;
    if (cfg.mode < 0) {
        PyErr_Format(PyExc_ValueError, "strobe: unknown mode '%s' (choose wall or cpu)", mode);
        return NULL;
    }
    if (duration < 0) {
        PyErr_SetString(PyExc_ValueError, "strobe: duration must not be negative");
        return NULL;
    }
    cfg.format = EXPORT_NONE;
    if (output) {
        cfg.format = format ? export_format_from_name(format) : export_format_from_path(output);
        if (cfg.format == EXPORT_NONE) {
            PyErr_Format(PyExc_ValueError, "strobe: unknown format for '%s'", output);
            return NULL;
        }
    }
    char err[512];
    sampler *s;
    if (sampler_create(&s, &g_layout, (uint64_t)(uintptr_t)PyThreadState_Get()->interp, &cfg, err,
                       sizeof err) != 0) {
        PyErr_Format(PyExc_ValueError, "strobe: %s", err);
        return NULL;
    }
    if (sampler_start(s, err, sizeof err) != 0) {
        sampler_destroy(s);
        PyErr_Format(PyExc_RuntimeError, "strobe: %s", err);
        return NULL;
    }
    if (g_sampler) {   /* a stopped profile: the new run replaces it */
        sampler *old = g_sampler;
        g_sampler = NULL;
        Py_BEGIN_ALLOW_THREADS
        sampler_destroy(old);
        Py_END_ALLOW_THREADS
    }
    g_sampler = s;
    Py_RETURN_NONE;
}

/* Stop sampling and forget the profile; without start, nothing happens. */
static PyObject *py_stop(PyObject *self, PyObject *unused)
{
    if (g_sampler) {
        sampler *s = g_sampler;
        Py_BEGIN_ALLOW_THREADS
        sampler_stop(s);
        Py_END_ALLOW_THREADS
    }
    Py_RETURN_NONE;
}

static PyObject *py_discard(PyObject *self, PyObject *unused)
{
    if (g_sampler) {
        sampler *s = g_sampler;
        g_sampler = NULL;
        Py_BEGIN_ALLOW_THREADS
        sampler_destroy(s);
        Py_END_ALLOW_THREADS
    }
    Py_RETURN_NONE;
}

static PyObject *py_write(PyObject *self, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = { "path", "format", NULL };
    PyObject *pathobj;
    const char *format = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "O&|z", kwlist, PyUnicode_FSConverter, &pathobj, &format))
        return NULL;
    const char *path = PyBytes_AS_STRING(pathobj);
    if (!g_sampler) {
        PyErr_SetString(PyExc_RuntimeError, "strobe: nothing to write: the profiler was not started");
        goto fail;
    }
    int fmt = format ? export_format_from_name(format) : export_format_from_path(path);
    if (fmt == EXPORT_NONE && !format) {
        const char *base = strrchr(path, '/');
        base = base ? base + 1 : path;
        if (!strchr(base, '.')) fmt = EXPORT_PPROF;
    }
    if (fmt == EXPORT_NONE) {
        PyErr_Format(PyExc_ValueError,
                     "strobe: unknown format %s%s%s (choose pprof or collapsed, or name the file "
                     ".pprof / .txt)", format ? "'" : "for '", format ? format : path, "'");
        goto fail;
    }
    char err[512];
    int rc;
    sampler *s = g_sampler;
    Py_BEGIN_ALLOW_THREADS
    rc = sampler_write(s, path, fmt, err, sizeof err);
    Py_END_ALLOW_THREADS
    if (rc != 0) {
        PyErr_Format(PyExc_OSError, "strobe: %s", err);
        goto fail;
    }
    Py_DECREF(pathobj);
    Py_RETURN_NONE;
fail:
    Py_DECREF(pathobj);
    return NULL;
}

/* Stop, write the configured output and print the summary, once. */
static PyObject *py_finish(PyObject *self, PyObject *unused)
{
    if (!g_sampler) Py_RETURN_FALSE;
    char err[512];
    int rc;
    sampler *s = g_sampler;
    Py_BEGIN_ALLOW_THREADS
    rc = sampler_finish(s, err, sizeof err);
    Py_END_ALLOW_THREADS
    if (rc != 0) Py_RETURN_FALSE;
    Py_RETURN_TRUE;
}

static PyObject *py_set_thread_name(PyObject *self, PyObject *args)
{
    long long tid;
    PyObject *name;
    if (!PyArg_ParseTuple(args, "LO", &tid, &name)) return NULL;
    if (!g_sampler) Py_RETURN_NONE;
    if (name == Py_None) {
        sampler_set_thread_name(g_sampler, tid, NULL, 0);
    } else {
        Py_ssize_t len;
        const char *utf8 = PyUnicode_AsUTF8AndSize(name, &len);
        if (!utf8) return NULL;
        sampler_set_thread_name(g_sampler, tid, utf8, (size_t)len);
    }
    Py_RETURN_NONE;
}

static PyObject *py_stats(PyObject *self, PyObject *unused)
{
    if (!g_sampler) Py_RETURN_NONE;
    sampler_stats st;
    sampler_get_stats(g_sampler, &st);
    return Py_BuildValue("{sKsKsKsKsKsKsKsKsKsKsKsKsKsKsdsdsisi}", "ticks", st.ticks, "samples",
                         st.samples, "threads", st.threads_seen, "missed_ticks", st.missed_ticks,
                         "stack_errors", st.stack_errors, "reads", st.reads, "read_failures",
                         st.read_failures, "code_hits", st.code_hits, "code_misses", st.code_misses,
                         "code_invalidations", st.code_invalidations, "tasks_seen", st.tasks_seen,
                         "torn_thread_passes", st.torn_threads, "chains_torn", st.chains_torn,
                         "cycle_samples", st.cycles_seen, "elapsed", st.elapsed_s,
                         "rate", st.rate_achieved, "running", st.running, "finished",
                         st.finished);
}

/* parse_record_args(list of str, pid) -> dict; ValueError with the one-line
 * reason on a user error.  The same parser the `strobe` command uses. */
static PyObject *py_parse_record_args(PyObject *self, PyObject *args)
{
    PyObject *list;
    int pid;
    if (!PyArg_ParseTuple(args, "O!i", &PyList_Type, &list, &pid)) return NULL;
    Py_ssize_t n = PyList_GET_SIZE(list);
    char **argv = PyMem_Calloc((size_t)n + 1, sizeof *argv);
    if (!argv) return PyErr_NoMemory();
    PyObject *result = NULL;
    for (Py_ssize_t i = 0; i < n; i++) {
        argv[i] = (char *)PyUnicode_AsUTF8(PyList_GET_ITEM(list, i));
        if (!argv[i]) goto out;
    }
    record_opts o;
    char err[512], path[PATH_MAX];
    int fmt = EXPORT_NONE;
    if (recopts_parse((int)n, argv, &o, err, sizeof err) != 0) {
        PyErr_SetString(PyExc_ValueError, err);
        goto out;
    }
    if (!o.help && recopts_output(&o, pid, path, sizeof path, &fmt, err, sizeof err) != 0) {
        PyErr_SetString(PyExc_ValueError, err);
        goto out;
    }
    result = Py_BuildValue("{sdsssisdsssssnsi}", "rate", o.rate_hz, "mode",
                           sampler_mode_name(o.mode), "max_depth", o.max_depth, "duration",
                           o.duration_s, "output", o.help ? "" : path, "format",
                           o.help ? "" : export_format_name(fmt), "first_arg", (Py_ssize_t)o.first_arg,
                           "help", o.help);
out:
    PyMem_Free(argv);
    return result;
}

/* unqualified() -> list of code addresses whose functions are known only by
 * co_name (3.8–3.10; always empty on 3.11+). */
static PyObject *py_unqualified(PyObject *self, PyObject *unused)
{
    uint64_t *codes;
    size_t n;
    if (!g_sampler) return PyList_New(0);
    if (sampler_take_unqualified(g_sampler, &codes, &n) != 0) return PyErr_NoMemory();
    PyObject *list = PyList_New((Py_ssize_t)n);
    for (size_t i = 0; list && i < n; i++) {
        PyObject *v = PyLong_FromUnsignedLongLong(codes[i]);
        if (!v) { Py_CLEAR(list); break; }
        PyList_SET_ITEM(list, (Py_ssize_t)i, v);
    }
    free(codes);
    return list;
}

/* qualify([(code_addr, qualname, name, filename, firstlineno), ...]) -> renamed */
static PyObject *py_qualify(PyObject *self, PyObject *args)
{
    PyObject *list;
    if (!PyArg_ParseTuple(args, "O!", &PyList_Type, &list)) return NULL;
    if (!g_sampler) return PyLong_FromLong(0);
    Py_ssize_t n = PyList_GET_SIZE(list);
    qual_fact *facts = PyMem_Calloc((size_t)n + 1, sizeof *facts);
    if (!facts) return PyErr_NoMemory();
    Py_ssize_t k = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned long long code;
        long long first;
        qual_fact *f = &facts[k];
        if (!PyArg_ParseTuple(PyList_GET_ITEM(list, i), "Ksssl", &code, &f->qualname, &f->name,
                              &f->file, &first)) {
            PyErr_Clear();   /* a name that is not valid UTF-8: skip it */
            continue;
        }
        f->code = code;
        f->firstlineno = first;
        k++;
    }
    int renamed = sampler_qualify(g_sampler, facts, (size_t)k);
    PyMem_Free(facts);
    return PyLong_FromLong(renamed);
}

static PyMethodDef methods[] = {
    { "find_offset", py_find_offset, METH_VARARGS, "find_offset(obj, target, size) -> offset or -1" },
    { "find_int_offset", py_find_int_offset, METH_VARARGS, "find_int_offset(objs, values, size)" },
    { "set_aio", py_set_aio, METH_O, "set_aio(facts): turn on asyncio task stacks" },
    { "add_task_type", py_add_task_type, METH_O, "add_task_type(type): a Task subclass" },
    { "unqualified", py_unqualified, METH_NOARGS, "Codes known only by co_name (3.8-3.10)." },
    { "qualify", py_qualify, METH_VARARGS, "qualify(list of (code, qualname, name, file, line))" },
    { "start", (PyCFunction)(void (*)(void))py_start, METH_VARARGS | METH_KEYWORDS,
      "start(rate=100, mode='wall', max_depth=512, duration=0, output=None, format=None, "
      "summary=False, handle_sigterm=False)" },
    { "stop", py_stop, METH_NOARGS, "Stop sampling; the profile stays for write()." },
    { "discard", py_discard, METH_NOARGS, "Stop and forget the profile." },
    { "write", (PyCFunction)(void (*)(void))py_write, METH_VARARGS | METH_KEYWORDS,
      "write(path, format=None)" },
    { "finish", py_finish, METH_NOARGS, "Stop, write the configured output, print the summary (once)." },
    { "set_thread_name", py_set_thread_name, METH_VARARGS, "set_thread_name(native_id, name or None)" },
    { "stats", py_stats, METH_NOARGS, "Counters of the current profiler, or None." },
    { "parse_record_args", py_parse_record_args, METH_VARARGS, "parse_record_args(args, pid) -> dict" },
    { NULL, NULL, 0, NULL },
};

static struct PyModuleDef moddef = {
    PyModuleDef_HEAD_INIT, "strobe._strobe", "strobe's sampling engine.", -1, methods,
    NULL, NULL, NULL, NULL,
};

/* The engine is built with hidden visibility; the entry point must show. */
__attribute__((visibility("default"))) PyMODINIT_FUNC PyInit__strobe(void)
{
    strobe_layout_fill(&g_layout);
    if (layout_check(&g_layout) != 0) return NULL;
    PyObject *m = PyModule_Create(&moddef);
    if (!m) return NULL;
    static int atfork_done;
    if (!atfork_done) {
        pthread_atfork(NULL, NULL, after_fork_child);
        atfork_done = 1;
    }
    if (PyModule_AddStringConstant(m, "usage", recopts_usage) ||
        PyModule_AddIntConstant(m, "DEFAULT_MAX_DEPTH", SAMPLER_DEFAULT_DEPTH) ||
        PyModule_AddObject(m, "MAX_RATE", PyFloat_FromDouble(SAMPLER_MAX_RATE)) ||
        PyModule_AddObject(m, "layout_version", PyLong_FromUnsignedLong(g_layout.version_hex))) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
