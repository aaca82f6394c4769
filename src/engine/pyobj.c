/* pyobj.c — see pyobj.h.
 *
 * A compact str stores its characters right after its header: after
 * PyASCIIObject when the ascii bit is set (1 byte per char, < 0x80), else
 * after PyCompactUnicodeObject in 1, 2 or 4 bytes per char (the kind).
 * Non-compact (legacy) strings are refused: code objects never hold them.
 */
#include "pyobj.h"

#include <stdlib.h>
#include <string.h>

int pyobj_utf8_encode(uint32_t cp, char *o)
{
    if (cp >= 0xD800 && cp <= 0xDFFF) cp = 0xFFFD;   /* lone surrogate */
    if (cp > 0x10FFFF) cp = 0xFFFD;
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) {
        o[0] = (char)(0xC0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int pyobj_read_str(mem_target *m, const strobe_layout *L, uint64_t addr, char *out, size_t cap)
{
    unsigned char hdr[128];
    if (cap == 0 || !addr || L->u_compact_data > (int32_t)sizeof hdr) return -1;
    if (mem_read(m, addr, (size_t)L->u_compact_data, hdr) != 0) return -1;
    int64_t length = (int64_t)mem_u64(hdr, L->u_length);
    uint32_t state;
    memcpy(&state, hdr + L->u_state, sizeof state);
    unsigned kind = (state >> L->u_kind_shift) & 7u;
    unsigned compact = (state >> L->u_compact_shift) & 1u;
    unsigned ascii = (state >> L->u_ascii_shift) & 1u;
    if (!compact || length < 0 || (kind != 1 && kind != 2 && kind != 4)) return -1;
    if (ascii && kind != 1) return -1;
    if (length > PYOBJ_MAX_STR) length = PYOBJ_MAX_STR;

    unsigned char raw[PYOBJ_MAX_STR * 4];
    size_t nraw = (size_t)length * kind;
    uint64_t data = addr + (uint64_t)(ascii ? L->u_ascii_data : L->u_compact_data);
    if (nraw && mem_read(m, data, nraw, raw) != 0) return -1;

    size_t n = 0;
    for (int64_t i = 0; i < length; i++) {
        uint32_t cp;
        if (kind == 1) cp = raw[i];
        else if (kind == 2) { uint16_t c; memcpy(&c, raw + 2 * i, 2); cp = c; }
        else memcpy(&cp, raw + 4 * i, 4);
        if (cp == 0) cp = 0xFFFD;   /* never emit NUL bytes into outputs */
        char enc[4];
        int k = pyobj_utf8_encode(cp, enc);
        if (n + (size_t)k + 1 > cap) break;
        memcpy(out + n, enc, (size_t)k);
        n += (size_t)k;
    }
    out[n] = 0;
    return (int)n;
}

int pyobj_read_bytes(mem_target *m, const strobe_layout *L, uint64_t addr,
                     uint8_t **out, size_t *len)
{
    unsigned char hdr[64];
    if (!addr || L->bytes_data > (int32_t)sizeof hdr) return -1;
    if (mem_read(m, addr, (size_t)L->bytes_data, hdr) != 0) return -1;
    int64_t size = (int64_t)mem_u64(hdr, L->bytes_size);
    if (size < 0 || size > PYOBJ_MAX_BYTES) return -1;
    uint8_t *buf = malloc(size ? (size_t)size : 1);
    if (!buf) return -1;
    if (size && mem_read(m, addr + (uint64_t)L->bytes_data, (size_t)size, buf) != 0) {
        free(buf);
        return -1;
    }
    *out = buf;
    *len = (size_t)size;
    return 0;
}

uint64_t pyobj_type(mem_target *m, const strobe_layout *L, uint64_t addr)
{
    uint64_t t;
    if (!addr || mem_read(m, addr + (uint64_t)L->ob_type, 8, &t) != 0) return 0;
    return t;
}

int pyobj_read_small_int(mem_target *m, const strobe_layout *L, uint64_t addr, uint64_t *out)
{
    uint8_t buf[64];
    int32_t end = L->long_digit + 8;
    if (!addr || end > (int32_t)sizeof buf || mem_read(m, addr, (size_t)end, buf) != 0) return -1;
    if (mem_u64(buf, L->ob_type) != L->long_type) return -1;
    uint64_t tag = mem_u64(buf, L->long_size);
    uint64_t ndigits;
    if (L->long_lv_tag) {
        if ((tag & 3) == 2) return -1;   /* negative */
        ndigits = tag >> 3;
    } else {
        if ((int64_t)tag < 0) return -1;
        ndigits = tag;
    }
    if (ndigits > 2) return -1;
    uint32_t d0, d1;
    memcpy(&d0, buf + L->long_digit, 4);
    memcpy(&d1, buf + L->long_digit + 4, 4);
    *out = ndigits == 0 ? 0 : ndigits == 1 ? d0 : ((uint64_t)d1 << 30 | d0);
    return 0;
}
