/* linetable.h — decoders for the three line-number table formats that
 * CPython 3.8–3.13 store in code objects.  Pure functions over bytes that were
 * copied out of the target (they may be torn or garbage: a decoder never reads
 * past `len` and never loops without consuming input).
 *
 *   LT_LNOTAB     3.8, 3.9   co_lnotab: (byte-offset delta, signed line delta) pairs
 *   LT_LINETABLE  3.10       co_linetable: (byte-range delta, line delta | -128 = none)
 *   LT_LOCATIONS  3.11+      co_linetable: location entries (PEP 657 format)
 *
 * `addr` is always a BYTE offset into the code's instruction bytes (what
 * code.co_lines() yields: 3.10's f_lasti * 2, 3.11+'s code-unit index * 2).
 */
#ifndef STROBE_LINETABLE_H
#define STROBE_LINETABLE_H

#include <stddef.h>
#include <stdint.h>

enum linetable_format { LT_LNOTAB = 1, LT_LINETABLE = 2, LT_LOCATIONS = 3 };

/* Line of the instruction at byte offset `addr`.  Returns 0 and sets *line on
 * success; *line is -1 when the instruction has no line (e.g. 3.11+ entries
 * with no location).  Returns -1 when the table is malformed or `addr` lies
 * beyond it. */
int linetable_line(enum linetable_format fmt, const uint8_t *table, size_t len,
                   int firstlineno, uint32_t addr, int *line);

#endif
