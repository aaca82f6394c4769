/* layout_fill.c — fills struct strobe_layout from the headers of the
 * interpreter this module is compiled against: offsetof() on the real
 * structs, so the facts are exact by construction.  The only file that
 * needs CPython's internal headers (Py_BUILD_CORE); it reads nothing at
 * run time except addresses of static objects (and, on 3.12, its own
 * writable segments, to find a counter no header names: see below). */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <frameobject.h>
#include <stddef.h>
#if PY_VERSION_HEX >= 0x030B0000
#include "internal/pycore_frame.h"
#endif
#include "internal/pycore_pystate.h"
#include "opcode.h"
#if PY_VERSION_HEX >= 0x03090000
#include "internal/pycore_interp.h"
#endif

#include "layout.h"
#include "linetable.h"
#include "layout_fill.h"

#if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030D0000
#include <dlfcn.h>
#include <link.h>
#endif

#define OFF(type, field) ((int32_t)offsetof(type, field))
#define END(type, field) ((int32_t)(offsetof(type, field) + sizeof(((type *)0)->field)))
#define MAX2(a, b) ((a) > (b) ? (a) : (b))

#if PY_VERSION_HEX >= 0x030C0000 && PY_VERSION_HEX < 0x030D0000
/* 3.12 numbers code objects from a global of the interpreter's own
 * (_Py_next_func_version) that no header nor dynamic symbol gives the
 * address of.  It is found by watching it move: the one uint32 in the
 * writable segments of the object that holds PyCode_Type that is one past
 * the co_version of the newest code object, through five new ones.  (Reads
 * of our own mapped segments, with the GIL held: no other thread makes code
 * meanwhile.)  Not found: 0, and code entries are validated every pass. */
#define PROBE_MAX 64
struct seg_scan {
    uintptr_t want_in;
    uintptr_t lo[8], hi[8];
    int n;
};

static int find_segments(struct dl_phdr_info *info, size_t size, void *arg)
{
    (void)size;
    struct seg_scan *sc = arg;
    int mine = 0;
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
        if (ph->p_type == PT_LOAD && sc->want_in >= lo && sc->want_in < lo + ph->p_memsz) mine = 1;
    }
    if (!mine) return 0;
    for (int i = 0; i < info->dlpi_phnum && sc->n < 8; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W)) continue;
        sc->lo[sc->n] = (info->dlpi_addr + ph->p_vaddr + 3) & ~(uintptr_t)3;
        sc->hi[sc->n] = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
        sc->n++;
    }
    return 1;
}

static int new_code_version(uint32_t *v)
{
    PyObject *c = Py_CompileString("0", "<strobe-probe>", Py_eval_input);
    if (!c) {
        PyErr_Clear();
        return -1;
    }
    *v = ((PyCodeObject *)c)->co_version;
    Py_DECREF(c);
    return *v ? 0 : -1;   /* 0: the counter ran out */
}

static uint64_t probe_code_counter(void)
{
    struct seg_scan sc;
    memset(&sc, 0, sizeof sc);
    sc.want_in = (uintptr_t)&PyCode_Type;
    uint32_t v;
    if (!dl_iterate_phdr(find_segments, &sc) || sc.n == 0 || new_code_version(&v) != 0) return 0;
    uint32_t *cand[PROBE_MAX];
    int n = 0;
    for (int k = 0; k < sc.n; k++)
        for (uint32_t *p = (uint32_t *)sc.lo[k]; (uintptr_t)(p + 1) <= sc.hi[k]; p++)
            if (*p == v + 1) {
                if (n == PROBE_MAX) return 0;   /* too common a value: give up */
                cand[n++] = p;
            }
    for (int round = 0; round < 4 && n > 0; round++) {
        if (new_code_version(&v) != 0) return 0;
        int m = 0;
        for (int i = 0; i < n; i++)
            if (*cand[i] == v + 1) cand[m++] = cand[i];
        n = m;
    }
    return n == 1 ? (uint64_t)(uintptr_t)cand[0] : 0;
}
#endif

void strobe_layout_fill(strobe_layout *L)
{
    memset(L, 0, sizeof *L);
    L->version_hex = PY_VERSION_HEX;
    L->ob_type = OFF(PyObject, ob_type);
    L->ob_refcnt = OFF(PyObject, ob_refcnt);
    L->tp_base = OFF(PyTypeObject, tp_base);
    L->frame_type = (uint64_t)(uintptr_t)&PyFrame_Type;

    /* interpreter and thread states */
    L->interp_next = OFF(PyInterpreterState, next);
#if PY_VERSION_HEX >= 0x030B0000
    L->interp_tstate_head = OFF(PyInterpreterState, threads.head);
#else
    L->interp_tstate_head = OFF(PyInterpreterState, tstate_head);
#endif
    L->ts_next = OFF(PyThreadState, next);
    L->ts_interp = OFF(PyThreadState, interp);
    L->ts_thread_id = OFF(PyThreadState, thread_id);
    int32_t ts_end = MAX2(END(PyThreadState, next), END(PyThreadState, thread_id));
#if PY_VERSION_HEX >= 0x030B0000
    L->ts_native_thread_id = OFF(PyThreadState, native_thread_id);
    ts_end = MAX2(ts_end, END(PyThreadState, native_thread_id));
#else
    L->ts_native_thread_id = -1;
#endif
#if PY_VERSION_HEX >= 0x030D0000
    L->ts_frame = OFF(PyThreadState, current_frame);
    L->ts_cframe = -1;
    L->cframe_current_frame = -1;
    ts_end = MAX2(ts_end, END(PyThreadState, current_frame));
#elif PY_VERSION_HEX >= 0x030B0000
    L->ts_frame = -1;
    L->ts_cframe = OFF(PyThreadState, cframe);
    L->cframe_current_frame = OFF(_PyCFrame, current_frame);
    ts_end = MAX2(ts_end, END(PyThreadState, cframe));
#else
    L->ts_frame = OFF(PyThreadState, frame);
    L->ts_cframe = -1;
    L->cframe_current_frame = -1;
    ts_end = MAX2(ts_end, END(PyThreadState, frame));
#endif
    L->ts_size = ts_end;

    /* frames */
#if PY_VERSION_HEX >= 0x030B0000
    L->frame_model = FRAME_MODEL_IFRAME;
    L->if_previous = OFF(_PyInterpreterFrame, previous);
    L->if_owner = OFF(_PyInterpreterFrame, owner);
#if PY_VERSION_HEX >= 0x030D0000
    L->if_code = OFF(_PyInterpreterFrame, f_executable);
    L->if_instr = OFF(_PyInterpreterFrame, instr_ptr);
#else
    L->if_code = OFF(_PyInterpreterFrame, f_code);
    L->if_instr = OFF(_PyInterpreterFrame, prev_instr);
#endif
    L->if_size = MAX2(MAX2(L->if_previous, L->if_code), L->if_instr) + 8;
    L->if_size = MAX2(L->if_size, L->if_owner + 1);
    L->owner_generator = FRAME_OWNED_BY_GENERATOR;
    L->if_specials = (int32_t)FRAME_SPECIALS_SIZE;
#if PY_VERSION_HEX >= 0x030C0000
    L->owner_cstack = FRAME_OWNED_BY_CSTACK;
#else
    L->owner_cstack = -1;
#endif
    L->f_back = L->f_code = L->f_lasti = L->f_size = -1;
#else
    L->frame_model = FRAME_MODEL_PYFRAME;
    L->f_back = OFF(PyFrameObject, f_back);
    L->f_code = OFF(PyFrameObject, f_code);
    L->f_lasti = OFF(PyFrameObject, f_lasti);
    L->f_size = MAX2(MAX2(END(PyFrameObject, f_back), END(PyFrameObject, f_code)),
                     END(PyFrameObject, f_lasti));
    L->f_size = MAX2(L->f_size, L->ob_type + 8);
    L->lasti_is_units = PY_VERSION_HEX >= 0x030A0000;
    L->if_previous = L->if_code = L->if_instr = L->if_owner = L->if_size = -1;
    L->owner_generator = L->owner_cstack = -1;
    L->if_specials = 0;
#endif

    /* code objects */
    L->co_name = OFF(PyCodeObject, co_name);
    L->co_filename = OFF(PyCodeObject, co_filename);
    L->co_firstlineno = OFF(PyCodeObject, co_firstlineno);
    L->co_argcount = OFF(PyCodeObject, co_argcount);
    L->co_flags = OFF(PyCodeObject, co_flags);
    int32_t co_end = MAX2(END(PyCodeObject, co_name), END(PyCodeObject, co_filename));
    co_end = MAX2(co_end, END(PyCodeObject, co_firstlineno));
    co_end = MAX2(co_end, END(PyCodeObject, co_argcount));
    co_end = MAX2(co_end, END(PyCodeObject, co_flags));
#if PY_VERSION_HEX >= 0x030B0000
    L->co_qualname = OFF(PyCodeObject, co_qualname);
    L->co_linetable = OFF(PyCodeObject, co_linetable);
    L->co_code_adaptive = OFF(PyCodeObject, co_code_adaptive);
    L->co_firsttraceable = OFF(PyCodeObject, _co_firsttraceable);
    L->co_varnames = -1;
    L->linetable_format = LT_LOCATIONS;
    co_end = MAX2(co_end, END(PyCodeObject, co_qualname));
    co_end = MAX2(co_end, END(PyCodeObject, _co_firsttraceable));
#elif PY_VERSION_HEX >= 0x030A0000
    L->co_qualname = -1;
    L->co_linetable = OFF(PyCodeObject, co_linetable);
    L->co_code_adaptive = L->co_firsttraceable = -1;
    L->co_varnames = OFF(PyCodeObject, co_varnames);
    L->linetable_format = LT_LINETABLE;
#else
    L->co_qualname = -1;
    L->co_linetable = OFF(PyCodeObject, co_lnotab);
    L->co_code_adaptive = L->co_firsttraceable = -1;
    L->co_varnames = OFF(PyCodeObject, co_varnames);
    L->linetable_format = LT_LNOTAB;
#endif
#if PY_VERSION_HEX >= 0x030C0000
    L->co_version = OFF(PyCodeObject, co_version);
    co_end = MAX2(co_end, END(PyCodeObject, co_version));
#else
    L->co_version = -1;
#endif
    co_end = MAX2(co_end, L->co_linetable + 8);
    if (L->co_varnames >= 0) co_end = MAX2(co_end, L->co_varnames + 8);
    L->co_size = co_end;
    L->code_type = (uint64_t)(uintptr_t)&PyCode_Type;

    /* bytes, str, tuple */
    L->bytes_size = OFF(PyVarObject, ob_size);
    L->bytes_data = OFF(PyBytesObject, ob_sval);
    L->u_length = OFF(PyASCIIObject, length);
    L->u_hash = OFF(PyASCIIObject, hash);
    L->u_state = OFF(PyASCIIObject, state);
    L->u_ascii_data = (int32_t)sizeof(PyASCIIObject);
    L->u_compact_data = (int32_t)sizeof(PyCompactUnicodeObject);
    /* The state bitfield's layout is fixed by its declaration order on every
     * supported version (interned:2, kind:3, compact:1, ascii:1); checked
     * against live strings in strobe_layout_check(). */
    L->u_kind_shift = 2;
    L->u_compact_shift = 5;
    L->u_ascii_shift = 6;
    L->tuple_size = OFF(PyVarObject, ob_size);
    L->tuple_items = OFF(PyTupleObject, ob_item);

    /* generators and coroutines */
    L->coro_type = (uint64_t)(uintptr_t)&PyCoro_Type;
    L->gen_type = (uint64_t)(uintptr_t)&PyGen_Type;
    L->asyncgen_type = (uint64_t)(uintptr_t)&PyAsyncGen_Type;
    L->gen_frame = L->gen_running = L->gen_iframe = L->gen_frame_state = L->gen_code = -1;
    L->f_gen = L->f_stacktop = L->f_valuestack = L->f_stackdepth = L->f_state = -1;
    L->f_localsplus = L->if_stacktop = L->if_localsplus = L->co_code = -1;
    L->fs_created = L->fs_suspended = L->fs_suspended_yf = L->fs_executing = -100;
    L->op_yield_from = L->op_resume = L->op_instrumented_resume = -1;
#if PY_VERSION_HEX >= 0x030B0000
    L->gen_iframe = OFF(PyGenObject, gi_iframe);
    L->gen_frame_state = OFF(PyGenObject, gi_frame_state);
    L->if_stacktop = OFF(_PyInterpreterFrame, stacktop);
    L->if_localsplus = OFF(_PyInterpreterFrame, localsplus);
    /* the generator header, then the frame up to its first local */
    L->gen_size = L->gen_iframe + L->if_localsplus;
    L->fs_created = FRAME_CREATED;
    L->fs_suspended = FRAME_SUSPENDED;
#if PY_VERSION_HEX >= 0x030D0000
    L->fs_suspended_yf = FRAME_SUSPENDED_YIELD_FROM;
#else
    L->fs_suspended_yf = FRAME_SUSPENDED;
    L->op_resume = RESUME;
#if PY_VERSION_HEX >= 0x030C0000
    L->op_instrumented_resume = INSTRUMENTED_RESUME;   /* under sys.monitoring */
#else
    L->op_instrumented_resume = RESUME_QUICK;          /* 3.11's quickened form */
#endif
#endif
    L->fs_executing = FRAME_EXECUTING;
#else
    L->gen_frame = OFF(PyGenObject, gi_frame);
    L->gen_code = OFF(PyGenObject, gi_code);
    L->gen_size = END(PyGenObject, gi_frame);
    L->f_gen = OFF(PyFrameObject, f_gen);
    L->f_valuestack = OFF(PyFrameObject, f_valuestack);
    L->f_localsplus = OFF(PyFrameObject, f_localsplus);
    L->co_code = OFF(PyCodeObject, co_code);
    L->op_yield_from = YIELD_FROM;
    L->f_size = MAX2(L->f_size, END(PyFrameObject, f_gen));
    L->f_size = MAX2(L->f_size, END(PyFrameObject, f_valuestack));
#if PY_VERSION_HEX >= 0x030A0000
    L->f_stackdepth = OFF(PyFrameObject, f_stackdepth);
    L->f_state = OFF(PyFrameObject, f_state);
    L->f_size = MAX2(L->f_size, END(PyFrameObject, f_stackdepth));
    L->f_size = MAX2(L->f_size, END(PyFrameObject, f_state));
    L->fs_created = FRAME_CREATED;
    L->fs_suspended = L->fs_suspended_yf = FRAME_SUSPENDED;
    L->fs_executing = FRAME_EXECUTING;
#else
    L->gen_running = OFF(PyGenObject, gi_running);
    L->gen_size = MAX2(L->gen_size, END(PyGenObject, gi_running));
    L->f_stacktop = OFF(PyFrameObject, f_stacktop);
    L->f_size = MAX2(L->f_size, END(PyFrameObject, f_stacktop));
#endif
#endif
    L->co_size = MAX2(L->co_size, L->co_code >= 0 ? L->co_code + 8 : 0);

    /* str and int */
    L->unicode_type = (uint64_t)(uintptr_t)&PyUnicode_Type;
    L->long_type = (uint64_t)(uintptr_t)&PyLong_Type;
#if PY_VERSION_HEX >= 0x030C0000
    L->long_size = OFF(PyLongObject, long_value.lv_tag);
    L->long_digit = OFF(PyLongObject, long_value.ob_digit);
    L->long_lv_tag = 1;
#else
    L->long_size = OFF(PyVarObject, ob_size);
    L->long_digit = OFF(PyLongObject, ob_digit);
    L->long_lv_tag = 0;
#endif

    /* sets and weak references */
    L->set_mask = OFF(PySetObject, mask);
    L->set_table = OFF(PySetObject, table);
    L->set_used = OFF(PySetObject, used);
    L->set_fill = OFF(PySetObject, fill);
    L->setentry_size = (int32_t)sizeof(setentry);
    L->wr_object = OFF(PyWeakReference, wr_object);
    L->none_addr = (uint64_t)(uintptr_t)Py_None;

    /* the GIL: per interpreter from 3.12 (the main one's own), in the
     * runtime before */
#if PY_VERSION_HEX >= 0x030C0000
    L->gil_addr = (uint64_t)(uintptr_t)PyInterpreterState_Main()->ceval.gil;
#else
    L->gil_addr = (uint64_t)(uintptr_t)&_PyRuntime.ceval.gil;
#endif
    L->gil_size = (int32_t)sizeof(struct _gil_runtime_state);

#if PY_VERSION_HEX >= 0x030D0000
    L->code_counter_addr = (uint64_t)(uintptr_t)&PyInterpreterState_Main()->func_state.next_version;
#elif PY_VERSION_HEX >= 0x030C0000
    L->code_counter_addr = probe_code_counter();
#endif

    /* callables */
    L->co_stacksize = OFF(PyCodeObject, co_stacksize);
#if PY_VERSION_HEX >= 0x030B0000
    L->co_nlocalsplus = OFF(PyCodeObject, co_nlocalsplus);
    L->co_exceptiontable = OFF(PyCodeObject, co_exceptiontable);
    /* the code cache reads both (a frame's size: codecache.h) */
    L->co_size = MAX2(L->co_size, END(PyCodeObject, co_stacksize));
    L->co_size = MAX2(L->co_size, END(PyCodeObject, co_nlocalsplus));
#else
    L->co_nlocalsplus = L->co_exceptiontable = -1;
#endif
    L->var_size = OFF(PyVarObject, ob_size);
    L->tp_name = OFF(PyTypeObject, tp_name);
    L->tp_flags = OFF(PyTypeObject, tp_flags);
    L->tp_call = OFF(PyTypeObject, tp_call);
    L->tpflags_heaptype = Py_TPFLAGS_HEAPTYPE;
    L->type_type = (uint64_t)(uintptr_t)&PyType_Type;
    L->cfunction_type = (uint64_t)(uintptr_t)&PyCFunction_Type;
#if PY_VERSION_HEX >= 0x03090000
    L->cmethod_type = (uint64_t)(uintptr_t)&PyCMethod_Type;
#else
    L->cmethod_type = 0;
#endif
    L->methoddescr_type = (uint64_t)(uintptr_t)&PyMethodDescr_Type;
    L->classmethoddescr_type = (uint64_t)(uintptr_t)&PyClassMethodDescr_Type;
    L->wrapperdescr_type = (uint64_t)(uintptr_t)&PyWrapperDescr_Type;
    L->function_type = (uint64_t)(uintptr_t)&PyFunction_Type;
    L->method_type = (uint64_t)(uintptr_t)&PyMethod_Type;
    L->cf_ml = OFF(PyCFunctionObject, m_ml);
    L->cf_self = OFF(PyCFunctionObject, m_self);
    L->cf_module = OFF(PyCFunctionObject, m_module);
    L->ml_name = OFF(PyMethodDef, ml_name);
    L->descr_type = OFF(PyDescrObject, d_type);
    L->md_method = OFF(PyMethodDescrObject, d_method);
    L->wd_base = OFF(PyWrapperDescrObject, d_base);
    L->wb_name = OFF(struct wrapperbase, name);
    /* method-wrapper objects: their type is not exported on every version,
     * so it is taken from one; their struct (descrobject.c, the same on
     * 3.8-3.13) is private: a header, the descriptor, the object. */
    struct mw_mirror {
        PyObject_HEAD
        PyWrapperDescrObject *descr;
        PyObject *self;
    };
    L->mw_descr = OFF(struct mw_mirror, descr);
    PyObject *one = PyLong_FromLong(1);
    PyObject *mw = one ? PyObject_GetAttrString(one, "__add__") : NULL;
    L->methodwrapper_type = mw ? (uint64_t)(uintptr_t)Py_TYPE(mw) : 0;
    Py_XDECREF(mw);
    Py_XDECREF(one);
    PyErr_Clear();
}
