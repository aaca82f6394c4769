/* fuzz_linetable.c — the three line-table decoders (src/engine/linetable.c).
 *
 * Input: byte 0 picks the format (b % 3: lnotab 3.8/3.9, linetable 3.10,
 * locations 3.11+), bytes 1-4 are co_firstlineno (int32, little-endian), the
 * rest is the table, decoded where it lies (libFuzzer's copy ends exactly
 * at the input's end, so ASan sees any read past `len`).
 *
 * Queried: about 300 byte offsets spread over (and past) the range the
 * table covers, odd ones, and the extremes.  Checked beyond "no crash":
 * a success gives a line in [0, INT_MAX] (or -1 = no line, which lnotab
 * never gives), the same query gives the same answer, and a NULL table
 * with a length is refused. */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "linetable.h"

static void query(enum linetable_format fmt, const uint8_t *t, size_t len, int first, uint32_t addr)
{
    int line = INT_MIN, again = INT_MIN;
    int rc = linetable_line(fmt, t, len, first, addr, &line);
    if (rc != 0 && rc != -1) abort();
    if (rc == 0) {
        if (line < -1) abort();
        if (line == -1 && fmt == LT_LNOTAB) abort();
    }
    int rc2 = linetable_line(fmt, t, len, first, addr, &again);
    if (rc2 != rc || (rc == 0 && again != line)) abort();
}

/* Byte offsets the table claims to cover (an upper bound). */
static uint64_t covered(enum linetable_format fmt, const uint8_t *t, size_t len)
{
    uint64_t end = 0;
    if (fmt == LT_LOCATIONS) {
        for (size_t i = 0; i < len; i++)
            if (t[i] & 0x80) end += ((uint64_t)(t[i] & 7) + 1) * 2;
    } else {
        for (size_t i = 0; i < len; i += 2) end += t[i];
    }
    return end;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5) return 0;
    enum linetable_format fmt = (enum linetable_format)(data[0] % 3 + 1);
    int32_t first;
    memcpy(&first, data + 1, 4);
    const uint8_t *t = data + 5;
    size_t len = size - 5;

    uint64_t end = covered(fmt, t, len) + 8;
    uint64_t step = end / 256 + 1;
    for (uint64_t a = 0; a <= end && a <= UINT32_MAX; a += step) {
        query(fmt, t, len, first, (uint32_t)a);
        query(fmt, t, len, first, (uint32_t)(a | 1));
    }
    const uint32_t extremes[] = { 0, 1, 2, 254, 255, 256, 510, 65534, 0x7FFFFFFF, 0xFFFFFFFE, UINT32_MAX };
    for (size_t i = 0; i < sizeof extremes / sizeof extremes[0]; i++)
        query(fmt, t, len, first, extremes[i]);
    /* the other formats on the same bytes (cross-format garbage) */
    for (int f = LT_LNOTAB; f <= LT_LOCATIONS; f++)
        if (f != (int)fmt) query((enum linetable_format)f, t, len, first, (uint32_t)(end / 2) & ~1u);
    /* refused arguments */
    int line;
    if (len && linetable_line(fmt, NULL, len, first, 0, &line) != -1) abort();
    if (linetable_line(fmt, t, len, first, 0, NULL) != -1) abort();
    if (linetable_line((enum linetable_format)0, t, len, first, 0, &line) != -1) abort();
    if (linetable_line((enum linetable_format)9, t, len, first, 0, &line) != -1) abort();
    return 0;
}
