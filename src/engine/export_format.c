/* export_format.c — names of the output formats and the file extensions
 * that imply them. */
#include "export.h"

#include <string.h>
#include <strings.h>

enum export_format export_format_from_name(const char *name)
{
    if (!name)
        return EXPORT_NONE;
    if (strcmp(name, "pprof") == 0)
        return EXPORT_PPROF;
    if (strcmp(name, "collapsed") == 0)
        return EXPORT_COLLAPSED;
    return EXPORT_NONE;
}

static const struct {
    const char *suffix;
    enum export_format fmt;
} suffixes[] = {
    {".pprof", EXPORT_PPROF},
    {".pb.gz", EXPORT_PPROF},
    {".pb", EXPORT_PPROF},
    {".txt", EXPORT_COLLAPSED},
    {".collapsed", EXPORT_COLLAPSED},
    {".folded", EXPORT_COLLAPSED},
};

/* Only the last path component counts, the suffix is matched without regard
 * to case, and it must follow a non-empty stem ("x.txt", not ".txt"). */
enum export_format export_format_from_path(const char *path)
{
    if (!path)
        return EXPORT_NONE;
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    size_t n = strlen(base);
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t k = strlen(suffixes[i].suffix);
        if (n > k && strcasecmp(base + n - k, suffixes[i].suffix) == 0)
            return suffixes[i].fmt;
    }
    return EXPORT_NONE;
}

const char *export_format_name(enum export_format fmt)
{
    switch (fmt) {
    case EXPORT_PPROF: return "pprof";
    case EXPORT_COLLAPSED: return "collapsed";
    case EXPORT_NONE: break;
    }
    return "none";
}
