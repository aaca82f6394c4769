/* layout.h — the facts of one CPython version that the engine needs to read
 * interpreter memory: field offsets, sizes, enum values and formats.
 *
 * In process, the extension module fills this struct with offsetof() against
 * the headers it was compiled with (src/module/layout_fill.c), so it is exact
 * by construction.  Out of process it will come from the target's
 * _Py_DebugOffsets (3.13+) or from generated per-version tables.
 *
 * An offset of -1 means "this version has no such field".  Nothing here
 * includes Python.h.
 */
#ifndef STROBE_LAYOUT_H
#define STROBE_LAYOUT_H

#include <stdint.h>

enum frame_model {
    FRAME_MODEL_PYFRAME = 1,  /* 3.8–3.10: PyFrameObject chain from tstate->frame */
    FRAME_MODEL_IFRAME = 2,   /* 3.11+: _PyInterpreterFrame chain */
};

typedef struct strobe_layout {
    uint32_t version_hex;     /* PY_VERSION_HEX of the target */
    int frame_model;          /* enum frame_model */
    int linetable_format;     /* enum linetable_format (linetable.h) */

    /* PyInterpreterState */
    int32_t interp_next;
    int32_t interp_tstate_head;

    /* PyThreadState */
    int32_t ts_size;          /* bytes to read to cover every field below */
    int32_t ts_next;
    int32_t ts_interp;
    int32_t ts_frame;         /* 3.8–3.10 frame, 3.13 current_frame; -1 on 3.11/3.12 */
    int32_t ts_cframe;        /* 3.11/3.12: _PyCFrame *cframe; else -1 */
    int32_t cframe_current_frame;
    int32_t ts_thread_id;     /* pthread ident */
    int32_t ts_native_thread_id;  /* -1 before 3.11 */

    /* PyFrameObject (FRAME_MODEL_PYFRAME) */
    int32_t f_size;
    int32_t f_back;
    int32_t f_code;
    int32_t f_lasti;          /* int */
    int lasti_is_units;       /* 3.10: f_lasti counts 2-byte code units */

    /* _PyInterpreterFrame (FRAME_MODEL_IFRAME) */
    int32_t if_size;
    int32_t if_code;          /* f_code, or f_executable on 3.13 */
    int32_t if_previous;
    int32_t if_instr;         /* prev_instr (3.11/3.12) or instr_ptr (3.13) */
    int32_t if_owner;         /* char */
    int owner_generator;      /* FRAME_OWNED_BY_GENERATOR */
    int owner_cstack;         /* FRAME_OWNED_BY_CSTACK, or -1 */
    int32_t if_specials;      /* FRAME_SPECIALS_SIZE: words of a frame before its locals; 0 before 3.11 */

    /* PyObject */
    int32_t ob_refcnt;
    int32_t ob_type;
    int32_t tp_base;          /* PyTypeObject.tp_base */
    uint64_t frame_type;      /* address of PyFrame_Type (FRAME_MODEL_PYFRAME) */

    /* PyCodeObject */
    int32_t co_size;          /* bytes to read to cover every field below */
    int32_t co_name;
    int32_t co_qualname;      /* -1 before 3.11 */
    int32_t co_filename;
    int32_t co_firstlineno;   /* int */
    int32_t co_linetable;     /* co_lnotab (3.8/3.9) or co_linetable (3.10+) */
    int32_t co_code_adaptive; /* 3.11+: first code unit; else -1 */
    int32_t co_firsttraceable;/* 3.11+ int; else -1 */
    int32_t co_argcount;      /* int */
    int32_t co_flags;         /* int */
    int32_t co_varnames;      /* 3.8–3.10 tuple; else -1 */
    int32_t co_version;       /* 3.12+ uint32, unique per code object (0: the counter ran out); else -1 */
    uint64_t code_type;       /* address of PyCode_Type in the target */

    /* PyBytesObject */
    int32_t bytes_size;       /* ob_size */
    int32_t bytes_data;       /* ob_sval */

    /* PyUnicodeObject (compact forms only) */
    int32_t u_length;
    int32_t u_hash;
    int32_t u_state;
    int32_t u_ascii_data;     /* sizeof(PyASCIIObject) */
    int32_t u_compact_data;   /* sizeof(PyCompactUnicodeObject) */
    int u_kind_shift;         /* state bit positions */
    int u_compact_shift;
    int u_ascii_shift;

    /* PyTupleObject */
    int32_t tuple_size;
    int32_t tuple_items;

    /* Generators and coroutines (asyncio).  A generator's frame state is
     * normalised to enum gen_state by the engine (asyncio.c). */
    int32_t gen_size;         /* bytes to read to cover the fields below (and,
                                 on 3.11+, the embedded frame's header) */
    int32_t gen_frame;        /* 3.8–3.10: gi_frame (PyFrameObject *); else -1 */
    int32_t gen_running;      /* 3.8/3.9: char gi_running; else -1 */
    int32_t gen_iframe;       /* 3.11+: the embedded _PyInterpreterFrame; else -1 */
    int32_t gen_frame_state;  /* 3.11+: int8 gi_frame_state; else -1 */
    int32_t gen_code;         /* 3.8–3.10: gi_code (the code it runs, as its
                               * frame's f_code); else -1 */
    int fs_created, fs_suspended, fs_suspended_yf, fs_executing;  /* 3.10+ frame states */
    int32_t f_gen;            /* 3.8–3.10: PyFrameObject.f_gen (borrowed); else -1 */
    int32_t f_stacktop;       /* 3.8/3.9: PyObject ** (NULL while running); else -1 */
    int32_t f_valuestack;     /* 3.10: PyObject **; else -1 */
    int32_t f_stackdepth;     /* 3.10: int; else -1 */
    int32_t f_state;          /* 3.10: signed char; else -1 */
    int32_t f_localsplus;     /* 3.8–3.10 */
    int32_t if_stacktop;      /* 3.11+: int, TOS index into localsplus */
    int32_t if_localsplus;    /* 3.11+ */
    int32_t co_code;          /* 3.8–3.10: the bytes of the bytecode; else -1 */
    int op_yield_from;        /* 3.8–3.10 opcode; else -1 */
    int op_resume;            /* 3.11/3.12 RESUME; else -1 */
    int op_instrumented_resume;  /* the other form of RESUME: 3.11 RESUME_QUICK,
                                    3.12 INSTRUMENTED_RESUME; else -1 */
    uint64_t coro_type, gen_type, asyncgen_type;   /* PyCoro_Type... addresses */

    /* str and int objects */
    uint64_t unicode_type, long_type;
    int32_t long_size;        /* ob_size (3.8–3.11) or long_value.lv_tag (3.12+) */
    int32_t long_digit;       /* the first 30-bit digit */
    int long_lv_tag;          /* 3.12+: tag = ndigits << 3 | sign bits */

    /* PySetObject and weak references (asyncio's task registries) */
    int32_t set_mask;         /* Py_ssize_t: table size - 1 */
    int32_t set_table;        /* setentry * */
    int32_t set_used;         /* Py_ssize_t */
    int32_t set_fill;         /* Py_ssize_t: active and dummy entries (0: unknown) */
    int32_t setentry_size;    /* sizeof(setentry); the key is its first field */
    int32_t wr_object;        /* PyWeakReference.wr_object (Py_None once dead) */
    uint64_t none_addr;       /* &_Py_NoneStruct */

    /* The GIL (struct _gil_runtime_state): its mutexes and condition
     * variables lie inside, so a futex wait there is a wait for the GIL. */
    uint64_t gil_addr;        /* 0 when unknown */
    int32_t gil_size;

    /* The uint32 counter co_version is taken from (3.12+), which moves only
     * when a code object (or a function version) is made: while it stands
     * still, no code object can have taken a validated one's address
     * (codecache.h).  0 when unknown. */
    uint64_t code_counter_addr;

    /* The callable a frame is calling (ccall.c): its value stack, and the
     * objects that name a builtin. */
    int32_t co_stacksize;     /* int */
    int32_t co_nlocalsplus;   /* 3.11+ int: the value stack follows the locals; else -1 */
    int32_t co_exceptiontable;/* 3.11+ bytes; else -1 */
    int32_t var_size;         /* PyVarObject.ob_size: a 3.11+ code's length in code units */
    int32_t tp_name;          /* const char * */
    int32_t tp_flags;         /* unsigned long */
    int32_t tp_call;
    uint64_t tpflags_heaptype;
    uint64_t type_type, cfunction_type, cmethod_type, methoddescr_type, classmethoddescr_type,
        wrapperdescr_type, function_type, method_type;
    int32_t cf_ml, cf_self, cf_module;   /* PyCFunctionObject */
    int32_t ml_name;          /* PyMethodDef: const char * */
    int32_t descr_type;       /* PyDescrObject.d_type */
    int32_t md_method;        /* PyMethodDescrObject.d_method (PyMethodDef *) */
    int32_t wd_base;          /* PyWrapperDescrObject.d_base (struct wrapperbase *) */
    int32_t wb_name;          /* struct wrapperbase.name: const char * */
    uint64_t methodwrapper_type;  /* a slot wrapper bound to an object: (1).__add__ */
    int32_t mw_descr;         /* its PyWrapperDescrObject * */
} strobe_layout;

#endif
