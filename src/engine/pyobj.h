/* pyobj.h — decoding CPython objects copied through mem: str -> UTF-8 and
 * bytes -> raw bytes.  Every length is capped; a torn or garbage object is a
 * failure, never a fault or an unbounded allocation. */
#ifndef STROBE_PYOBJ_H
#define STROBE_PYOBJ_H

#include <stddef.h>
#include <stdint.h>
#include "layout.h"
#include "mem.h"

#define PYOBJ_MAX_STR 1024      /* characters read of one str */
#define PYOBJ_MAX_BYTES 65536   /* bytes read of one bytes object */

/* Read the str at addr into out (UTF-8, NUL-terminated, at most cap-1 bytes;
 * a longer string is cut at a character boundary).  Returns the UTF-8 length,
 * or -1 when addr is not a readable compact str. */
int pyobj_read_str(mem_target *m, const strobe_layout *L, uint64_t addr, char *out, size_t cap);

/* Read a bytes object's contents into a buffer malloc'd here (*out, *len).
 * Returns 0 or -1. */
int pyobj_read_bytes(mem_target *m, const strobe_layout *L, uint64_t addr,
                     uint8_t **out, size_t *len);

/* Read a non-negative int object of at most two 30-bit digits into *out.
 * Returns 0, or -1 when addr is not such an int. */
int pyobj_read_small_int(mem_target *m, const strobe_layout *L, uint64_t addr, uint64_t *out);

/* The type address of the object at addr (0 when unreadable). */
uint64_t pyobj_type(mem_target *m, const strobe_layout *L, uint64_t addr);

/* Encode one code point as UTF-8 into out (room for 4); returns its length. */
int pyobj_utf8_encode(uint32_t cp, char *out);

#endif
