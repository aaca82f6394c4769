/* pb.h — the smallest protocol-buffer writer: varints, length-delimited
 * fields, nested messages and packed repeated integers, appended to one
 * growable buffer.
 *
 * Errors are sticky: after an allocation failure every call is a no-op and
 * `failed` stays set; check it once when the message is complete.
 * Nested messages and packed fields are bracketed by pb_begin / pb_end; the
 * length prefix is written when the bracket closes (brackets must nest). */
#ifndef STROBE_PB_H
#define STROBE_PB_H

#include <stddef.h>
#include <stdint.h>

enum { PB_VARINT = 0, PB_I64 = 1, PB_LEN = 2, PB_I32 = 5 };

typedef struct {
    unsigned char *data;
    size_t len, cap;
    int failed;          /* an allocation failed; contents are unusable */
} pb_buf;

void pb_init(pb_buf *b);
void pb_free(pb_buf *b);
/* Hand the bytes to the caller (who frees them); b is left empty. */
unsigned char *pb_take(pb_buf *b, size_t *len);

void pb_raw(pb_buf *b, const void *data, size_t len);
void pb_varint(pb_buf *b, uint64_t v);
void pb_tag(pb_buf *b, uint32_t field, int wiretype);

/* Scalar fields (written even when zero: callers skip defaults themselves). */
void pb_uint64(pb_buf *b, uint32_t field, uint64_t v);
void pb_int64(pb_buf *b, uint32_t field, int64_t v);   /* two's complement, 10 bytes if < 0 */
void pb_bytes(pb_buf *b, uint32_t field, const void *data, size_t len);

/* Open a length-delimited field (sub-message or packed run); returns the mark
 * that pb_end needs.  Between the two, write the body with any calls above
 * (pb_varint alone for packed runs). */
size_t pb_begin(pb_buf *b, uint32_t field);
void pb_end(pb_buf *b, size_t mark);

/* Packed repeated fields; nothing is written when n == 0. */
void pb_packed_uint64(pb_buf *b, uint32_t field, const uint64_t *v, size_t n);
void pb_packed_int64(pb_buf *b, uint32_t field, const int64_t *v, size_t n);

#endif
