/* linetable.c — line-number table decoders (see linetable.h).
 *
 * The three formats, and what `addr` is in each version (all verified by
 * reading the C-level frame fields with ctypes and comparing with dis):
 *
 * LT_LNOTAB (3.8, 3.9: co_lnotab).  A flat list of byte pairs (offset
 *   increment, unsigned; line increment, signed char).  Start at offset 0 and
 *   line co_firstlineno; apply every pair whose cumulative offset is <= addr.
 *   Large jumps are split into several pairs (255-byte / +-127-line steps).
 *   The table has no end marker: the last line runs to the end of the code,
 *   so every addr maps to a line.  addr = frame->f_lasti, already a byte
 *   offset (of the instruction being executed, e.g. the CALL_FUNCTION).
 * LT_LINETABLE (3.10: co_linetable).  Byte pairs (range length in bytes,
 *   unsigned; line delta, signed, where -128 means "this range has no line"
 *   and does not move the running line).  Ranges tile [0, code size); the
 *   line of addr is that of the first non-empty range ending after addr.
 *   The C field frame->f_lasti counts 2-byte code units: addr = 2*f_lasti
 *   (the Python attribute frame.f_lasti already reports the doubled value).
 * LT_LOCATIONS (3.11+: co_linetable, PEP 657).  Entries; the first byte has
 *   bit 7 set, kind in bits 3-6, (code units covered - 1) in bits 0-2.  The
 *   payload (bytes < 0x80) depends on the kind: 15 no location (no bytes,
 *   line -1); 14 long form (svarint line delta, varint end-line delta,
 *   varint column+1, varint end-column+1); 13 line only (svarint line delta);
 *   10-12 one line with delta kind-10 (column byte, end-column byte); 0-9
 *   short form, delta 0 (one column byte).  A varint is 6-bit groups, least
 *   significant first, bit 6 = more follow; an svarint stores |v|<<1 | sign.
 *   Ranges count CACHE units too.  addr = 2 * (ip - first code unit of
 *   co_code_adaptive), ip being _PyInterpreterFrame.prev_instr (3.11, 3.12)
 *   or .instr_ptr (3.13).  While a Python callee runs, 3.11/3.12 leave
 *   prev_instr on the CALL's last CACHE unit, 3.13 on the CALL itself; all
 *   of these lie inside the CALL's entry, so decode to the CALL's line.
 *
 * Input may be torn or garbage: reads are bounded by `len`, every loop step
 * consumes at least one byte, running lines are kept in int64 and checked,
 * and anything that a CPython compiler could not have written yields -1.
 */
#include "linetable.h"

#include <limits.h>

/* Running lines beyond this are garbage, never source. */
#define LT_LINE_MAX ((int64_t)INT_MAX)

static int line_ok(int64_t l)
{
    return l >= 0 && l <= LT_LINE_MAX;
}

static int lnotab_line(const uint8_t *t, size_t len, int first, uint32_t addr,
                       int *line)
{
    if (len & 1)
        return -1;
    uint64_t off = 0;
    int64_t cur = first;
    for (size_t i = 0; i < len; i += 2) {
        off += t[i];
        if (off > addr)
            break;
        cur += (int8_t)t[i + 1];
        if (cur < -LT_LINE_MAX || cur > LT_LINE_MAX)
            return -1;
    }
    if (!line_ok(cur))
        return -1;
    *line = (int)cur;
    return 0;
}

static int linetable310_line(const uint8_t *t, size_t len, int first,
                             uint32_t addr, int *line)
{
    if (len & 1)
        return -1;
    uint64_t end = 0;
    int64_t cur = first;
    for (size_t i = 0; i < len; i += 2) {
        int8_t d = (int8_t)t[i + 1];
        int64_t l = -1;
        end += t[i];
        if (d != -128) {
            cur += d;
            if (cur < -LT_LINE_MAX || cur > LT_LINE_MAX)
                return -1;
            l = cur;
        }
        /* Empty ranges never satisfy this: the previous end was <= addr. */
        if (end > addr) {
            if (l != -1 && !line_ok(l))
                return -1;
            *line = (int)l;
            return 0;
        }
    }
    return -1;
}

/* Reads one varint of the location table at t[*i]; payload bytes never have
 * bit 7 set (that bit starts an entry).  At most 6 groups (36 bits). */
static int read_varint(const uint8_t *t, size_t len, size_t *i, uint64_t *out)
{
    uint64_t v = 0;
    for (unsigned shift = 0; shift <= 30; shift += 6) {
        if (*i >= len)
            return -1;
        uint8_t b = t[(*i)++];
        if (b & 0x80)
            return -1;
        v |= (uint64_t)(b & 0x3f) << shift;
        if (!(b & 0x40)) {
            if (v > (uint64_t)INT_MAX * 2 + 1)
                return -1;
            *out = v;
            return 0;
        }
    }
    return -1;
}

static int read_svarint(const uint8_t *t, size_t len, size_t *i, int64_t *out)
{
    uint64_t v;
    if (read_varint(t, len, i, &v) < 0)
        return -1;
    *out = (v & 1) ? -(int64_t)(v >> 1) : (int64_t)(v >> 1);
    return 0;
}

/* Skips n payload bytes (each must be < 0x80). */
static int skip_payload(const uint8_t *t, size_t len, size_t *i, size_t n)
{
    if (len - *i < n)
        return -1;
    for (size_t k = 0; k < n; k++)
        if (t[*i + k] & 0x80)
            return -1;
    *i += n;
    return 0;
}

static int locations_line(const uint8_t *t, size_t len, int first,
                          uint32_t addr, int *line)
{
    uint64_t end = 0, unused;
    int64_t cur = first;
    size_t i = 0;
    while (i < len) {
        uint8_t b = t[i++];
        if (!(b & 0x80))
            return -1;
        int kind = (b >> 3) & 15;
        int64_t delta = 0;
        int has_line = 1;
        end += ((uint64_t)(b & 7) + 1) * 2;
        switch (kind) {
        case 15:
            has_line = 0;
            break;
        case 14:
            if (read_svarint(t, len, &i, &delta) < 0 ||
                read_varint(t, len, &i, &unused) < 0 ||
                read_varint(t, len, &i, &unused) < 0 ||
                read_varint(t, len, &i, &unused) < 0)
                return -1;
            break;
        case 13:
            if (read_svarint(t, len, &i, &delta) < 0)
                return -1;
            break;
        case 10: case 11: case 12:
            delta = kind - 10;
            if (skip_payload(t, len, &i, 2) < 0)
                return -1;
            break;
        default:
            if (skip_payload(t, len, &i, 1) < 0)
                return -1;
            break;
        }
        cur += delta;
        if (cur < -LT_LINE_MAX || cur > LT_LINE_MAX)
            return -1;
        if (end > addr) {
            if (!has_line) {
                *line = -1;
                return 0;
            }
            if (!line_ok(cur))
                return -1;
            *line = (int)cur;
            return 0;
        }
    }
    return -1;
}

int linetable_line(enum linetable_format fmt, const uint8_t *table, size_t len,
                   int firstlineno, uint32_t addr, int *line)
{
    if (!line || (!table && len))
        return -1;
    switch (fmt) {
    case LT_LNOTAB:
        return lnotab_line(table, len, firstlineno, addr, line);
    case LT_LINETABLE:
        return linetable310_line(table, len, firstlineno, addr, line);
    case LT_LOCATIONS:
        return locations_line(table, len, firstlineno, addr, line);
    }
    return -1;
}
