/* export_collapsed.c — the profile as collapsed ("folded") stacks, the text
 * format of flamegraph.pl, speedscope and Austin's tools:
 *
 *     thread:NAME;ROOT (FILE:LINE);...;LEAF (FILE:LINE) COUNT
 *
 * One line per distinct rendered stack, COUNT the sum of values[0] (the
 * sample count) over every sample that renders to it; lines with a count of
 * 0 or less are left out.  Samples of different label sets merge when their
 * stacks and thread names render alike.  Lines are sorted bytewise, so the
 * same profile always gives the same bytes.
 *
 * Elements: NAME is the value of the label whose key is "thread name" ("?"
 * when the sample has none).  A synthetic element (its function's file is
 * string 0) is its name alone.
 *
 * Sanitising: the format's separators cannot appear inside an element, so in
 * every element ';' becomes ':' and '\n' and '\r' become ' '.  Every other
 * byte passes through untouched: UTF-8 names come out as they came in (the
 * bytes of a multi-byte sequence are all >= 0x80 and never match). */
#include "export.h"
#include "pb.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

static void put_sanitised(pb_buf *b, const char *s, size_t n)
{
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c != ';' && c != '\n' && c != '\r')
            continue;
        pb_raw(b, s + start, i - start);
        pb_raw(b, c == ';' ? ":" : " ", 1);
        start = i + 1;
    }
    pb_raw(b, s + start, n - start);
}

static void put_str(pb_buf *b, const char *s)
{
    pb_raw(b, s, strlen(s));
}

static const char THREAD_NAME[] = "thread name";

static void render_thread(const profile *p, uint32_t labels, pb_buf *b)
{
    size_t n;
    const prof_label *lb = profile_labels(p, labels, &n);
    put_str(b, "thread:");
    for (size_t i = 0; i < n; i++) {
        size_t klen;
        const char *k = profile_str(p, lb[i].key, &klen);
        if (klen == sizeof THREAD_NAME - 1 && memcmp(k, THREAD_NAME, klen) == 0) {
            size_t vlen;
            const char *v = profile_str(p, lb[i].str, &vlen);
            put_sanitised(b, v, vlen);
            return;
        }
    }
    put_str(b, "?");
}

static void render_frame(const profile *p, uint32_t loc, pb_buf *b)
{
    const prof_location *l = &p->loc[loc];
    const prof_function *f = &p->fn[l->function];
    size_t len;
    const char *s = profile_str(p, f->name, &len);
    put_sanitised(b, s, len);
    if (f->file == 0)
        return;
    put_str(b, " (");
    s = profile_str(p, f->file, &len);
    put_sanitised(b, s, len);
    char num[32];
    snprintf(num, sizeof num, ":%" PRId64 ")", l->line);
    put_str(b, num);
}

typedef struct {
    size_t off, len;     /* rendered text in the scratch buffer */
    const char *text;    /* set once rendering is done */
    int64_t count;
} line;

static int cmp_line(const void *a, const void *b)
{
    const line *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = n ? memcmp(x->text, y->text, n) : 0;
    if (c)
        return c;
    return (x->len > y->len) - (x->len < y->len);
}

int export_collapsed(const profile *p, unsigned char **out, size_t *outlen, char *err,
                     size_t errlen)
{
    pb_buf text, res;
    pb_init(&text);
    pb_init(&res);
    line *lines = NULL;
    size_t nlines = 0;
    if (p->nvalues > 0 && p->nsamples > 0) {
        lines = malloc((size_t)p->nsamples * sizeof *lines);
        if (!lines)
            goto nomem;
    }
    for (uint32_t i = 0; i < p->nsamples && p->nvalues > 0; i++) {
        const prof_sample *s = &p->samples[i];
        if (s->values[0] <= 0)
            continue;
        size_t off = text.len, n;
        render_thread(p, s->labels, &text);
        const uint32_t *locs = profile_stack(p, s->stack, &n);
        for (size_t k = n; k-- > 0;) {
            pb_raw(&text, ";", 1);
            render_frame(p, locs[k], &text);
        }
        if (text.failed)
            goto nomem;
        lines[nlines].off = off;
        lines[nlines].len = text.len - off;
        lines[nlines].count = s->values[0];
        nlines++;
    }
    for (size_t i = 0; i < nlines; i++)
        lines[i].text = (const char *)text.data + lines[i].off;
    if (nlines)
        qsort(lines, nlines, sizeof *lines, cmp_line);
    for (size_t i = 0; i < nlines;) {
        int64_t count = 0;
        size_t j = i;
        for (; j < nlines && cmp_line(&lines[i], &lines[j]) == 0; j++)
            count = (int64_t)((uint64_t)count + (uint64_t)lines[j].count);
        pb_raw(&res, lines[i].text, lines[i].len);
        char num[32];
        snprintf(num, sizeof num, " %" PRId64 "\n", count);
        put_str(&res, num);
        i = j;
    }
    if (res.failed)
        goto nomem;
    free(lines);
    pb_free(&text);
    if (!res.data) {
        /* An empty profile is an empty file; still hand back a buffer. */
        res.data = malloc(1);
        if (!res.data)
            goto nomem;
    }
    *out = pb_take(&res, outlen);
    return 0;
nomem:
    free(lines);
    pb_free(&text);
    pb_free(&res);
    set_err(err, errlen, "out of memory while writing collapsed stacks");
    return -1;
}
