/* errf.h — write a formatted message into a caller's error buffer (err may
 * be NULL or errlen 0: nothing is written). */
#ifndef STROBE_ERRF_H
#define STROBE_ERRF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

__attribute__((format(printf, 3, 4)))
static inline void strobe_errf(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || !errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

#endif
