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

    /* PyObject */
    int32_t ob_refcnt;
    int32_t ob_type;
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
} strobe_layout;

#endif
