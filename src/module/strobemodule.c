/* strobemodule.c — the CPython extension `strobe._strobe`: the only code that
 * talks to the interpreter's C API.  It fills the layout, hands the engine
 * the interpreter's address, and exposes start/stop/write/finish and the
 * hook entry points (thread names).  One sampler per process. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <limits.h>
#include <pthread.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "aio.h"
#include "export.h"
#include "layout.h"
#include "layout_fill.h"
#include "opflow_fill.h"
#include "recopts.h"
#include "sampler.h"

static strobe_layout g_layout;
static opflow_tables g_opflow;   /* this interpreter's bytecode facts (builtin leaf frames) */
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

/* ---- hooks: callables that wrap an asyncio function, call it unchanged,
 * and then report what the call made (a task and its creator, a gather's
 * children...).  Written in C so that no hook frame ever appears on a
 * stack (an eager task runs its first step inside create_task). ---------- */

enum { HOOK_CREATE_TASK = 1, HOOK_GATHER, HOOK_SHIELD, HOOK_WAIT, HOOK_AS_COMPLETED, HOOK_TG_CREATE,
       HOOK_SET_RUNNING_LOOP };

typedef struct {
    PyObject_HEAD
    PyObject *orig;
    int kind;
} HookObject;

static strobe_aio g_aio;            /* the facts given to the sampler, for the hooks */
static PyObject *g_task_type;       /* asyncio.Task */
static PyObject *g_future_type;     /* asyncio.Future */
static PyObject *g_current_task;    /* asyncio.current_task */
static PyObject *g_base_loop_type;  /* asyncio.BaseEventLoop (steps in Python) */
static PyObject *g_watched;         /* {key address: weakref}: awaitables to forget when they die */

static uint64_t addr_of(PyObject *o) { return (uint64_t)(uintptr_t)o; }

/* The coroutine of a C task (read at the measured offset), or 0. */
static uint64_t task_coro_of(PyObject *t)
{
    if (!t || !g_task_type || !PyObject_TypeCheck(t, (PyTypeObject *)g_task_type)) return 0;
    uint64_t c;
    memcpy(&c, (char *)t + g_aio.task_coro, sizeof c);
    return c;
}

static PyObject *forget_awaitable(PyObject *key, PyObject *wr)
{
    uint64_t k = PyLong_AsUnsignedLongLong(key);
    if (!PyErr_Occurred() && g_sampler) sampler_link_awaitable(g_sampler, k, NULL, 0, 0);
    PyErr_Clear();
    if (g_watched && PyDict_DelItem(g_watched, key) != 0) PyErr_Clear();
    Py_RETURN_NONE;
}

static PyMethodDef forget_def = { "forget", forget_awaitable, METH_O, NULL };

/* Report that `key` stands for the futures in `items` (a list, tuple, set or
 * frozenset only: never iterate what the program will iterate). */
static void report_awaitable(PyObject *key, PyObject *items)
{
    int coro = PyCoro_CheckExact(key);
    if (!(PyList_Check(items) || PyTuple_Check(items) || PyAnySet_Check(items))) return;
    PyObject *seq = PySequence_List(items);
    if (!seq) return;
    Py_ssize_t n = PyList_GET_SIZE(seq);
    uint64_t *c = PyMem_Calloc((size_t)n + 1, sizeof *c);
    size_t k = 0;
    for (Py_ssize_t i = 0; c && i < n; i++) {
        PyObject *it = PyList_GET_ITEM(seq, i);
        if (g_future_type && PyObject_TypeCheck(it, (PyTypeObject *)g_future_type)) c[k++] = addr_of(it);
    }
    if (c && k) {
        PyObject *kl = PyLong_FromUnsignedLongLong(addr_of(key));
        PyObject *cb = kl ? PyCFunction_New(&forget_def, kl) : NULL;
        PyObject *wr = cb ? PyWeakref_NewRef(key, cb) : NULL;
        if (wr && g_watched && PyDict_SetItem(g_watched, kl, wr) == 0)
            sampler_link_awaitable(g_sampler, addr_of(key), c, k, coro);
        Py_XDECREF(wr);
        Py_XDECREF(cb);
        Py_XDECREF(kl);
    }
    PyMem_Free(c);
    Py_DECREF(seq);
}

static void report_child(PyObject *child, PyObject *parent, int kind)
{
    uint64_t cc = task_coro_of(child), pc = task_coro_of(parent);
    if (!cc || !pc || child == parent) return;
    if (Py_TYPE(child) != (PyTypeObject *)g_task_type)
        sampler_add_task_type(g_sampler, addr_of((PyObject *)Py_TYPE(child)));
    sampler_link_child(g_sampler, addr_of(child), cc, addr_of(parent), pc, kind);
}

static void hook_report(HookObject *h, PyObject *args, PyObject *res, PyObject *creator)
{
    Py_ssize_t na = PyTuple_GET_SIZE(args);
    switch (h->kind) {
    case HOOK_CREATE_TASK:
        if (creator && creator != Py_None) report_child(res, creator, 1);
        else if (task_coro_of(res) && Py_TYPE(res) != (PyTypeObject *)g_task_type)
            sampler_add_task_type(g_sampler, addr_of((PyObject *)Py_TYPE(res)));
        break;
    case HOOK_GATHER: {
        PyObject *ch = PyObject_GetAttrString(res, "_children");
        if (ch) {
            report_awaitable(res, ch);
            Py_DECREF(ch);
        }
        break;
    }
    case HOOK_SHIELD:
        if (na >= 1 && PyTuple_GET_ITEM(args, 0) != res) {
            PyObject *one = PyTuple_Pack(1, PyTuple_GET_ITEM(args, 0));
            if (one) {
                report_awaitable(res, one);
                Py_DECREF(one);
            }
        }
        break;
    case HOOK_WAIT:
        if (na >= 1) report_awaitable(res, PyTuple_GET_ITEM(args, 0));
        break;
    case HOOK_AS_COMPLETED:
        if (na >= 1 && creator && creator != Py_None) {
            PyObject *fs = PyTuple_GET_ITEM(args, 0);
            if (PyList_Check(fs) || PyTuple_Check(fs) || PyAnySet_Check(fs)) {
                PyObject *seq = PySequence_List(fs);
                for (Py_ssize_t i = 0; seq && i < PyList_GET_SIZE(seq); i++)
                    report_child(PyList_GET_ITEM(seq, i), creator, 2);
                Py_XDECREF(seq);
            }
        }
        break;
    case HOOK_SET_RUNNING_LOOP:
        if (na >= 1)
        {
            PyObject *loop = PyTuple_GET_ITEM(args, 0);
            int stepped = loop != Py_None && g_base_loop_type && PyObject_IsInstance(loop, g_base_loop_type) == 1;
            sampler_running_loop(g_sampler, loop == Py_None ? 0 : addr_of(loop), (int64_t)syscall(SYS_gettid),
                                 stepped);
        }
        break;
    case HOOK_TG_CREATE:
        if (na >= 1) {
            PyObject *p = PyObject_GetAttrString(PyTuple_GET_ITEM(args, 0), "_parent_task");
            if (p) {
                report_child(res, p, 2);
                Py_DECREF(p);
            }
        }
        break;
    }
    PyErr_Clear();
}

static PyObject *hook_call(HookObject *h, PyObject *args, PyObject *kw)
{
    PyObject *creator = NULL;
    int active = g_sampler && g_aio.enabled;
    if (active && (h->kind == HOOK_CREATE_TASK || h->kind == HOOK_AS_COMPLETED) && g_current_task) {
        /* asyncio.current_task(loop): the task running the call, before an
         * eager task takes its place */
        PyObject *loop = h->kind == HOOK_CREATE_TASK && PyTuple_GET_SIZE(args) >= 1 ? PyTuple_GET_ITEM(args, 0) : NULL;
        PyObject *exc_type, *exc_value, *exc_tb;
        PyErr_Fetch(&exc_type, &exc_value, &exc_tb);
        creator = loop ? PyObject_CallFunctionObjArgs(g_current_task, loop, NULL)
                       : PyObject_CallFunctionObjArgs(g_current_task, NULL);
        if (!creator) PyErr_Clear();
        PyErr_Restore(exc_type, exc_value, exc_tb);
    }
    PyObject *res = PyObject_Call(h->orig, args, kw);
    if (res && active && g_sampler) hook_report(h, args, res, creator);
    Py_XDECREF(creator);
    return res;
}

static PyObject *hook_get(PyObject *self, PyObject *obj, PyObject *type)
{
    if (!obj || obj == Py_None) {
        Py_INCREF(self);
        return self;
    }
    return PyMethod_New(self, obj);
}

/* Attributes not our own (__name__, __doc__, __wrapped__...) are the wrapped
 * function's. */
static PyObject *hook_getattro(PyObject *self, PyObject *name)
{
    PyObject *v = PyObject_GenericGetAttr(self, name);
    if (v || !PyErr_ExceptionMatches(PyExc_AttributeError)) return v;
    PyErr_Clear();
    if (PyUnicode_Check(name) && PyUnicode_CompareWithASCIIString(name, "__wrapped__") == 0) {
        Py_INCREF(((HookObject *)self)->orig);
        return ((HookObject *)self)->orig;
    }
    return PyObject_GetAttr(((HookObject *)self)->orig, name);
}

static void hook_dealloc(HookObject *h)
{
    Py_XDECREF(h->orig);
    Py_TYPE(h)->tp_free((PyObject *)h);
}

static PyObject *hook_repr(HookObject *h)
{
    return PyUnicode_FromFormat("<strobe hook of %R>", h->orig);
}

static PyTypeObject HookType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "strobe._strobe.Hook",
    .tp_basicsize = sizeof(HookObject),
    .tp_dealloc = (destructor)hook_dealloc,
    .tp_repr = (reprfunc)hook_repr,
    .tp_call = (ternaryfunc)hook_call,
    .tp_getattro = hook_getattro,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_METHOD_DESCRIPTOR,
    .tp_descr_get = hook_get,
    .tp_doc = "A strobe hook: calls the wrapped function unchanged, then reports to the profiler.",
};

static const char *hook_kinds[] = { NULL, "create_task", "gather", "shield", "wait", "as_completed",
                                    "taskgroup_create_task", "set_running_loop", NULL };

/* hook(func, kind) -> a Hook wrapping func */
static PyObject *py_hook(PyObject *self, PyObject *args)
{
    PyObject *func;
    const char *kind;
    if (!PyArg_ParseTuple(args, "Os", &func, &kind)) return NULL;
    int k = 0;
    for (int i = 1; hook_kinds[i]; i++)
        if (!strcmp(hook_kinds[i], kind)) k = i;
    if (!k) {
        PyErr_Format(PyExc_ValueError, "strobe: unknown hook kind '%s'", kind);
        return NULL;
    }
    HookObject *h = PyObject_New(HookObject, &HookType);
    if (!h) return NULL;
    Py_INCREF(func);
    h->orig = func;
    h->kind = k;
    return (PyObject *)h;
}

/* hook_env(Task, Future, current_task, BaseEventLoop): what the hooks use */
static PyObject *py_hook_env(PyObject *self, PyObject *args)
{
    PyObject *t, *f, *ct, *bl;
    if (!PyArg_ParseTuple(args, "OOOO", &t, &f, &ct, &bl)) return NULL;
    Py_INCREF(t);
    Py_INCREF(f);
    Py_INCREF(ct);
    Py_INCREF(bl);
    Py_XSETREF(g_base_loop_type, bl);
    Py_XSETREF(g_task_type, t);
    Py_XSETREF(g_future_type, f);
    Py_XSETREF(g_current_task, ct);
    if (!g_watched && !(g_watched = PyDict_New())) return NULL;
    Py_RETURN_NONE;
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
    PyObject *v = PyDict_GetItemString(d, key);
    if (!v) {
        PyErr_Format(PyExc_ValueError, "strobe: asyncio facts lack '%s'", key);
        return -1;
    }
    *out = PyLong_AsUnsignedLongLong(v);
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
    g_aio = A;
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
                              "summary", "handle_sigterm", "aio", "max_overhead", "sampler_cpu", NULL };
    double rate = SAMPLER_DEFAULT_RATE, duration = 0, max_overhead = SAMPLER_DEFAULT_OVERHEAD;
    const char *mode = "wall", *output = NULL, *format = NULL, *sampler_cpu = "follow";
    int max_depth = SAMPLER_DEFAULT_DEPTH, summary = 0, handle_sigterm = 0;
    PyObject *aio = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|dsidzzppOds", kwlist, &rate, &mode, &max_depth,
                                     &duration, &output, &format, &summary, &handle_sigterm, &aio,
                                     &max_overhead, &sampler_cpu))
        return NULL;
    if (strcmp(sampler_cpu, "follow") && strcmp(sampler_cpu, "any")) {
        PyErr_Format(PyExc_ValueError, "strobe: unknown sampler_cpu '%s' (choose follow or any)", sampler_cpu);
        return NULL;
    }
    if (!(max_overhead >= 0 && max_overhead <= 100)) {
        PyErr_SetString(PyExc_ValueError, "strobe: max_overhead is a percentage from 0 (off) to 100");
        return NULL;
    }
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
    cfg.max_overhead = max_overhead;
    cfg.sampler_cpu_any = !strcmp(sampler_cpu, "any");
    cfg.duration_s = duration;
    cfg.output = output;
    cfg.summary = summary;
    cfg.handle_sigterm = handle_sigterm;
    cfg.aio = A.enabled ? &A : NULL;
    cfg.opflow = &g_opflow;
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
    return Py_BuildValue("{sKsKsKsKsKsKsKsKsKsKsKsKsKsKsLsLsKsKsKsKsKsKsKsdsKsKsKsKsKsdsdsisisisKsKsKsKsKsKsKsKsKsKsKsisK}", "ticks", st.ticks, "samples",
                         st.samples, "threads", st.threads_seen, "missed_ticks", st.missed_ticks,
                         "stack_errors", st.stack_errors, "reads", st.reads, "read_failures",
                         st.read_failures, "code_hits", st.code_hits, "code_misses", st.code_misses,
                         "code_invalidations", st.code_invalidations, "tasks_seen", st.tasks_seen,
                         "torn_thread_passes", st.torn_threads, "chains_torn", st.chains_torn,
                         "cycle_samples", st.cycles_seen, "pass_ns", (long long)st.tick_ns,
                         "sampler_cpu_ns", (long long)st.sampler_cpu_ns, "page_hits", st.page_hits,
                         "page_misses", st.page_misses, "cache_pages", st.cache_pages,
                         "task_stride", st.task_stride, "kernel_reads", st.kernel_reads,
                         "kernel_read_ns", st.kernel_read_ns, "kernel_read_failures",
                         st.kernel_read_failures, "rate_now", st.rate_now, "builtin_frames", st.builtin_frames, "builtin_kept", st.builtin_kept,
                         "builtin_torn", st.builtin_torn, "builtin_not_c", st.builtin_not_c,
                         "builtin_unanalysable", st.builtin_unanalysable,
                         "elapsed", st.elapsed_s,
                         "rate", st.rate_achieved, "running", st.running, "finished",
                         st.finished, "stuck", st.stuck, "page_prefetched", st.page_prefetched, "page_filled", st.page_filled, "page_refreshed", st.page_refreshed, "tasks_reused", st.tasks_reused, "tasks_changed", st.tasks_changed, "full_rereads", st.full_rereads, "task_lists_built", st.task_lists_built, "task_graphs_built", st.task_graphs_built, "chain_frames_checked", st.chain_frames_checked, "code_batched", st.code_batched, "code_unchanged", st.code_unchanged, "follow_cpu", st.follow_cpu, "follow_moves", st.follow_moves);
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
    result = Py_BuildValue("{sdsssisdsssdsssssnsi}", "rate", o.rate_hz, "mode",
                           sampler_mode_name(o.mode), "max_depth", o.max_depth, "max_overhead",
                           o.max_overhead, "sampler_cpu", o.sampler_cpu_any ? "any" : "follow", "duration",
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
    if (sampler_take_unqualified(g_sampler, &codes, &n) != 0) {
        sampler_stats st;
        sampler_get_stats(g_sampler, &st);
        if (!st.stuck) return PyErr_NoMemory();
        return PyList_New(0);   /* the sampling thread is stuck: nothing to qualify */
    }
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
    { "hook", py_hook, METH_VARARGS, "hook(func, kind) -> a Hook calling func and reporting links" },
    { "hook_env", py_hook_env, METH_VARARGS, "hook_env(Task, Future, current_task, BaseEventLoop)" },
    { "add_task_type", py_add_task_type, METH_O, "add_task_type(type): a Task subclass" },
    { "unqualified", py_unqualified, METH_NOARGS, "Codes known only by co_name (3.8-3.10)." },
    { "qualify", py_qualify, METH_VARARGS, "qualify(list of (code, qualname, name, file, line))" },
    { "start", (PyCFunction)(void (*)(void))py_start, METH_VARARGS | METH_KEYWORDS,
      "start(rate=100, mode='wall', max_depth=512, duration=0, output=None, format=None, "
      "summary=False, handle_sigterm=False, aio=None, max_overhead=1.0, sampler_cpu='follow')" },
    { "stop", py_stop, METH_NOARGS, "Stop sampling; the profile stays for write()." },
    { "discard", py_discard, METH_NOARGS, "Stop and forget the profile." },
    { "write", (PyCFunction)(void (*)(void))py_write, METH_VARARGS | METH_KEYWORDS,
      "write(path, format=None)" },
    { "finish", py_finish, METH_NOARGS, "Stop, write the configured output, print the summary (once)." },
    { "set_thread_name", py_set_thread_name, METH_VARARGS, "set_thread_name(native_id, name or None)" },
    { "stats", py_stats, METH_NOARGS, "Counters of the current profiler, or None." },
    { "parse_record_args", py_parse_record_args, METH_VARARGS, "parse_record_args(args, pid) -> dict" },
    { "_opflow_depths", strobe_py_opflow_depths, METH_VARARGS, "test only: _opflow_depths(code, exctable[, mode])" },
    { "_opflow_callee", strobe_py_opflow_callee, METH_VARARGS, "test only: _opflow_callee(opcode, oparg, depth)" },
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
    strobe_opflow_fill(&g_opflow);
    if (layout_check(&g_layout) != 0) return NULL;
    if (PyType_Ready(&HookType) < 0) return NULL;
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
