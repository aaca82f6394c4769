/* dumpmod.c — a throwaway extension built by tests/fuzz/gen_layouts.py for
 * each installed interpreter: it runs the module's own fills
 * (src/module/layout_fill.c, opflow_fill.c, compiled beside it against the
 * same headers) and hands the results to Python, so the fuzz targets get
 * every version's real offsets and bytecode tables without Python.h.
 *
 *   _fuzzdump.layout()  -> {field: value} for every field of strobe_layout
 *                          (the list comes from layout.h: fields.inc)
 *   _fuzzdump.opflow()  -> the bytes of opflow_tables (a plain value)
 *   _fuzzdump.sizes()   -> (sizeof strobe_layout, sizeof opflow_tables) */
#include <Python.h>

#include "layout.h"
#include "layout_fill.h"
#include "opflow.h"
#include "opflow_fill.h"

static PyObject *dump_layout(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    strobe_layout L;
    strobe_layout_fill(&L);
    PyObject *d = PyDict_New();
    if (!d) return NULL;
#define F(name)                                                              \
    do {                                                                     \
        PyObject *v = PyLong_FromLongLong((long long)L.name);                \
        if (!v || PyDict_SetItemString(d, #name, v) != 0) {                  \
            Py_XDECREF(v);                                                   \
            Py_DECREF(d);                                                    \
            return NULL;                                                     \
        }                                                                    \
        Py_DECREF(v);                                                        \
    } while (0);
#include "fields.inc"
#undef F
    return d;
}

static PyObject *dump_opflow(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    opflow_tables *T = PyMem_Calloc(1, sizeof *T);
    if (!T) return PyErr_NoMemory();
    strobe_opflow_fill(T);
    PyObject *b = PyBytes_FromStringAndSize((const char *)T, (Py_ssize_t)sizeof *T);
    PyMem_Free(T);
    return b;
}

static PyObject *dump_sizes(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
    return Py_BuildValue("(nn)", (Py_ssize_t)sizeof(strobe_layout), (Py_ssize_t)sizeof(opflow_tables));
}

static PyMethodDef methods[] = {
    { "layout", dump_layout, METH_NOARGS, NULL },
    { "opflow", dump_opflow, METH_NOARGS, NULL },
    { "sizes", dump_sizes, METH_NOARGS, NULL },
    { NULL, NULL, 0, NULL },
};

static struct PyModuleDef moddef = { PyModuleDef_HEAD_INIT, "_fuzzdump", NULL, -1, methods,
                                     NULL, NULL, NULL, NULL };

__attribute__((visibility("default"))) PyMODINIT_FUNC PyInit__fuzzdump(void)
{
    return PyModule_Create(&moddef);
}
