/* pb.c — protocol-buffer writer (see pb.h). */
#include "pb.h"

#include <stdlib.h>
#include <string.h>

void pb_init(pb_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
    b->failed = 0;
}

void pb_free(pb_buf *b)
{
    free(b->data);
    pb_init(b);
}

unsigned char *pb_take(pb_buf *b, size_t *len)
{
    unsigned char *d = b->data;
    *len = b->len;
    pb_init(b);
    return d;
}

/* Room for `extra` more bytes; 0 on success. */
static int reserve(pb_buf *b, size_t extra)
{
    if (b->failed)
        return -1;
    if (extra <= b->cap - b->len)
        return 0;
    if (extra > SIZE_MAX / 2 - b->len) {
        b->failed = 1;
        return -1;
    }
    size_t need = b->len + extra, cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    unsigned char *d = realloc(b->data, cap);
    if (!d) {
        b->failed = 1;
        return -1;
    }
    b->data = d;
    b->cap = cap;
    return 0;
}

void pb_raw(pb_buf *b, const void *data, size_t len)
{
    if (len == 0 || reserve(b, len))
        return;
    memcpy(b->data + b->len, data, len);
    b->len += len;
}

static size_t varint_size(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

static void put_varint(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p = (unsigned char)v;
}

void pb_varint(pb_buf *b, uint64_t v)
{
    if (reserve(b, 10))
        return;
    put_varint(b->data + b->len, v);
    b->len += varint_size(v);
}

void pb_tag(pb_buf *b, uint32_t field, int wiretype)
{
    pb_varint(b, ((uint64_t)field << 3) | (uint64_t)wiretype);
}

void pb_uint64(pb_buf *b, uint32_t field, uint64_t v)
{
    pb_tag(b, field, PB_VARINT);
    pb_varint(b, v);
}

void pb_int64(pb_buf *b, uint32_t field, int64_t v)
{
    pb_uint64(b, field, (uint64_t)v);
}

void pb_bytes(pb_buf *b, uint32_t field, const void *data, size_t len)
{
    pb_tag(b, field, PB_LEN);
    pb_varint(b, len);
    pb_raw(b, data, len);
}

/* The mark is the offset of a one-byte length placeholder; the body follows. */
size_t pb_begin(pb_buf *b, uint32_t field)
{
    pb_tag(b, field, PB_LEN);
    if (reserve(b, 1))
        return 0;
    b->data[b->len++] = 0;
    return b->len - 1;
}

void pb_end(pb_buf *b, size_t mark)
{
    if (b->failed)
        return;
    size_t body = b->len - mark - 1, k = varint_size(body);
    if (k > 1) {
        if (reserve(b, k - 1))
            return;
        memmove(b->data + mark + k, b->data + mark + 1, body);
        b->len += k - 1;
    }
    put_varint(b->data + mark, body);
}

void pb_packed_uint64(pb_buf *b, uint32_t field, const uint64_t *v, size_t n)
{
    if (n == 0)
        return;
    size_t m = pb_begin(b, field);
    for (size_t i = 0; i < n; i++)
        pb_varint(b, v[i]);
    pb_end(b, m);
}

void pb_packed_int64(pb_buf *b, uint32_t field, const int64_t *v, size_t n)
{
    if (n == 0)
        return;
    size_t m = pb_begin(b, field);
    for (size_t i = 0; i < n; i++)
        pb_varint(b, (uint64_t)v[i]);
    pb_end(b, m);
}
