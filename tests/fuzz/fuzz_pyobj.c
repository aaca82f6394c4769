/* fuzz_pyobj.c — str, bytes and int objects (src/engine/pyobj.c) read from
 * fuzz bytes through a sandboxed mem_target (fuzz_sandbox.h).
 *
 * Input (fuzz_common.h): byte 0 the version's layout, byte 1 bit 0 the page
 * cache, byte 2 an output capacity for a second, small-buffer read of each
 * str (1 + b), bytes 4-7 a code point for pyobj_utf8_encode; the image's
 * first 8 words are object addresses.  Each object is read as a str (into a
 * full-size buffer and into the small one), a bytes, a small int, and its
 * type is read; it is also named as aio_task_name() names a task.
 *
 * Checked: a str's result is -1 or its UTF-8 length n < cap, the output is
 * NUL-terminated at n, holds no NUL before, and is valid UTF-8 (no
 * surrogates, nothing above U+10FFFF, shortest forms); a cut read is a
 * prefix of the full one; a bytes object's length is at most
 * PYOBJ_MAX_BYTES and its buffer that long (ASan); utf8_encode gives 1-4
 * bytes of valid UTF-8. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aio.h"
#include "fuzz_sandbox.h"
#include "pyobj.h"

#define CHECK(x) do { if (!(x)) abort(); } while (0)

/* Valid UTF-8 of exactly n bytes (RFC 3629). */
static int utf8_ok(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) { i++; continue; }
        if (c >= 0xC2 && c <= 0xDF) { k = 1; cp = c & 0x1F; }
        else if (c >= 0xE0 && c <= 0xEF) { k = 2; cp = c & 0x0F; }
        else if (c >= 0xF0 && c <= 0xF4) { k = 3; cp = c & 0x07; }
        else return 0;
        if (i + k >= n) return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return 0;
            cp = cp << 6 | (s[i + j] & 0x3F);
        }
        if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

static char full[PYOBJ_MAX_STR * 4 + 1];
static char small[257];

static void read_str(mem_target *m, const strobe_layout *L, uint64_t a, size_t cap)
{
    int n = pyobj_read_str(m, L, a, full, sizeof full);
    if (n < 0) {
        CHECK(n == -1);
        return;
    }
    CHECK((size_t)n < sizeof full && full[n] == 0 && strlen(full) == (size_t)n);
    CHECK(utf8_ok((const unsigned char *)full, (size_t)n));
    memset(small, 0x55, sizeof small);
    int k = pyobj_read_str(m, L, a, small, cap);
    CHECK(k >= 0 && (size_t)k < cap && small[k] == 0 && strlen(small) == (size_t)k);
    CHECK(k <= n && memcmp(small, full, (size_t)k) == 0);
    CHECK(utf8_ok((const unsigned char *)small, (size_t)k));
    /* the cut falls where the next character would not have fitted */
    if (k < n) {
        unsigned c = (unsigned char)full[k];
        size_t next = c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
        CHECK((size_t)k + next + 1 > cap);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < FZ_HDR) return 0;
    int v = data[0] % FUZZ_NVERSIONS;
    mem_target *m = fz_begin(data, size, data[1] & 1);
    if (!m) return 0;
    size_t len = size - FZ_HDR;
    strobe_layout L = fz_layout(v);
    size_t cap = 1 + (size_t)data[2];   /* 1 .. 256 */

    uint32_t cp;
    memcpy(&cp, data + 4, 4);
    char enc[4];
    int e = pyobj_utf8_encode(cp, enc);
    CHECK(e >= 1 && e <= 4 && utf8_ok((const unsigned char *)enc, (size_t)e));

    for (int i = 0; i < 8; i++) {
        uint64_t a = fz_root(len, i);
        read_str(m, &L, a, cap);
        uint8_t *b = NULL;
        size_t n = 0;
        if (pyobj_read_bytes(m, &L, a, &b, &n) == 0) {
            CHECK(n <= PYOBJ_MAX_BYTES);
            volatile uint8_t sink = 0;
            for (size_t k = 0; k < n; k++) sink ^= b[k];
            (void)sink;
            free(b);
        }
        uint64_t val;
        /* (digits are not checked to be below 2^30: garbage gives any value
         * up to two 32-bit words overlapping, harmless for a task's number) */
        if (pyobj_read_small_int(m, &L, a, &val) == 0)
            CHECK(val <= ((uint64_t)UINT32_MAX << 30 | UINT32_MAX));
        (void)pyobj_type(m, &L, a);
        char name[64];
        int r = aio_task_name(m, &L, a, name, sizeof name);
        if (r >= 0) CHECK(strlen(name) < sizeof name);
    }
    return 0;
}
