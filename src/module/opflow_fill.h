/* opflow_fill.h — the bytecode tables of the interpreter the module was
 * built for (src/engine/opflow.h), and two test-only functions. */
#ifndef STROBE_OPFLOW_FILL_H
#define STROBE_OPFLOW_FILL_H
#include <Python.h>

#include "opflow.h"

void strobe_opflow_fill(opflow_tables *T);

/* _opflow_depths(code: bytes, exceptiontable: bytes[, mode=0])
 *   mode 0: list of depths per code unit (-1: no instruction / unreached);
 *   mode 1: (depths, 3.8 finally nesting per unit);
 *   mode 2: nanoseconds one strobe_opflow_fill() takes (best of a few).
 *   Raises ValueError((code, message)) when the code can't be analysed. */
PyObject *strobe_py_opflow_depths(PyObject *self, PyObject *args);

/* _opflow_callee(opcode, oparg, depth) -> None, or (kind, slot, self_slot,
 *   args_slot, nargs, kwnames_slot, kwargs_slot, null_slot, flags) */
PyObject *strobe_py_opflow_callee(PyObject *self, PyObject *args);

#endif
