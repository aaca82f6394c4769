/* recopts.c — see recopts.h. */
#include "recopts.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export.h"
#include "sampler.h"

const char recopts_usage[] =
    "usage: strobe record [options] -- PYTHON [ARGS...]\n"
    "       python -m strobe record [options] SCRIPT [ARGS...]\n"
    "\n"
    "Run a Python program under the sampling profiler and write its profile\n"
    "when it exits (also on sys.exit, an uncaught exception, Ctrl-C, SIGTERM).\n"
    "\n"
    "options:\n"
    "  -o, --output FILE     where to write the profile (default: strobe-PID.pprof)\n"
    "  -f, --format FORMAT   pprof or collapsed (default: from FILE's extension:\n"
    "                        .pprof .pb.gz .pb -> pprof; .txt .collapsed .folded ->\n"
    "                        collapsed; no extension -> pprof)\n"
    "  -r, --rate HZ         samples per second, above 0 and at most 10000 (default 100)\n"
    "  -d, --duration SECS   stop sampling and write the profile after SECS seconds;\n"
    "                        the program keeps running (default: until it exits)\n"
    "      --mode MODE       wall: sample every thread each tick (default);\n"
    "                        cpu: keep only samples of threads that used CPU\n"
    "      --max-depth N     frames kept per stack, nearest the leaf; deeper stacks\n"
    "                        end in one '<K frames omitted>' element (default 512)\n"
    "      --max-overhead PCT  keep the sampler's own CPU time within PCT percent of\n"
    "                        the program's: first by sampling fewer asyncio tasks\n"
    "                        per sample (each weighted, totals kept), then by\n"
    "                        sampling less often (down to once a second); the\n"
    "                        summary says the rate achieved. 0 turns it off\n"
    "                        (default 1)\n"
    "      --sampler-cpu WHERE  follow: at 125 Hz and below, run the sampler on the\n"
    "                        CPU of the thread that keeps one busy (cheaper wake-ups;\n"
    "                        that thread waits for each sample); any: let the\n"
    "                        scheduler place it (default follow)\n"
    "  -h, --help            show this help\n";

static int num(const char *opt, const char *s, double lo, double hi, double *out,
               char *err, size_t errlen)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v != v) {
        snprintf(err, errlen, "%s expects a number, not '%s'", opt, s);
        return -1;
    }
    if (v <= lo || v > hi) {
        snprintf(err, errlen, "%s must be above %g and at most %g, not %s", opt, lo, hi, s);
        return -1;
    }
    *out = v;
    return 0;
}

int recopts_parse(int argc, char *const argv[], record_opts *o, char *err, size_t errlen)
{
    memset(o, 0, sizeof *o);
    o->rate_hz = SAMPLER_DEFAULT_RATE;
    o->mode = SAMPLER_WALL;
    o->max_depth = SAMPLER_DEFAULT_DEPTH;
    o->max_overhead = SAMPLER_DEFAULT_OVERHEAD;
    int i = 0;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) { i++; break; }
        if (a[0] != '-' || !a[1]) break;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) { o->help = 1; continue; }

        /* options with a value: "-o X", "--output X", "--output=X", "-oX" */
        static const struct { const char *s, *l; } opts[] = {
            { "-o", "--output" }, { "-f", "--format" }, { "-r", "--rate" },
            { "-d", "--duration" }, { NULL, "--mode" }, { NULL, "--max-depth" },
            { NULL, "--max-overhead" }, { NULL, "--sampler-cpu" },
        };
        int which = -1;
        const char *val = NULL;
        for (int k = 0; k < (int)(sizeof opts / sizeof *opts) && which < 0; k++) {
            size_t ll = strlen(opts[k].l);
            if (!strcmp(a, opts[k].l) || (opts[k].s && !strcmp(a, opts[k].s))) which = k;
            else if (!strncmp(a, opts[k].l, ll) && a[ll] == '=') { which = k; val = a + ll + 1; }
            else if (opts[k].s && !strncmp(a, opts[k].s, 2) && a[2]) { which = k; val = a + 2; }
        }
        if (which < 0) {
            snprintf(err, errlen, "unknown option '%s' (see strobe record --help)", a);
            return -1;
        }
        if (!val) {
            if (i + 1 >= argc) {
                snprintf(err, errlen, "option '%s' needs a value", a);
                return -1;
            }
            val = argv[++i];
        }
        double d;
        switch (which) {
        case 0:
            if (!*val) { snprintf(err, errlen, "--output needs a file name"); return -1; }
            o->output = val;
            break;
        case 1:
            if (export_format_from_name(val) == EXPORT_NONE) {
                snprintf(err, errlen, "unknown format '%s' (choose pprof or collapsed)", val);
                return -1;
            }
            o->format = val;
            break;
        case 2:
            if (num("--rate", val, 0, SAMPLER_MAX_RATE, &o->rate_hz, err, errlen)) return -1;
            break;
        case 3:
            if (num("--duration", val, 0, 1e9, &o->duration_s, err, errlen)) return -1;
            break;
        case 4:
            if ((o->mode = sampler_mode_from_name(val)) < 0) {
                snprintf(err, errlen, "unknown mode '%s' (choose wall or cpu)", val);
                return -1;
            }
            break;
        case 5:
            if (num("--max-depth", val, 0, SAMPLER_MAX_DEPTH, &d, err, errlen)) return -1;
            if (d != (int)d) {
                snprintf(err, errlen, "--max-depth expects a whole number, not '%s'", val);
                return -1;
            }
            o->max_depth = (int)d;
            break;
        case 6: {   /* 0 is allowed: off */
            char *end;
            errno = 0;
            d = strtod(val, &end);
            if (errno || end == val || *end || d != d || d < 0 || d > 100) {
                snprintf(err, errlen, "--max-overhead expects a percentage from 0 (off) to 100, not '%s'",
                         val);
                return -1;
            }
            o->max_overhead = d;
            break;
        }
        case 7:
            if (strcmp(val, "follow") && strcmp(val, "any")) {
                snprintf(err, errlen, "unknown --sampler-cpu '%s' (choose follow or any)", val);
                return -1;
            }
            o->sampler_cpu_any = !strcmp(val, "any");
            break;
        }
    }
    o->first_arg = i;
    return 0;
}

int recopts_output(const record_opts *o, pid_t pid, char *path, size_t pathlen,
                   int *format, char *err, size_t errlen)
{
    char name[PATH_MAX];
    int fmt = o->format ? export_format_from_name(o->format) : EXPORT_NONE;
    if (o->output) {
        snprintf(name, sizeof name, "%s", o->output);
        if (fmt == EXPORT_NONE) {
            fmt = export_format_from_path(name);
            const char *base = strrchr(name, '/');
            base = base ? base + 1 : name;
            const char *dot = strrchr(base, '.');
            if (fmt == EXPORT_NONE && dot && dot != base) {
                snprintf(err, errlen,
                         "cannot tell the format from '%s'; use -f pprof or -f collapsed", o->output);
                return -1;
            }
            if (fmt == EXPORT_NONE) fmt = EXPORT_PPROF;
        }
    } else {
        if (fmt == EXPORT_NONE) fmt = EXPORT_PPROF;
        snprintf(name, sizeof name, "strobe-%d.%s", (int)pid, fmt == EXPORT_PPROF ? "pprof" : "txt");
    }
    if (name[0] == '/') {
        snprintf(path, pathlen, "%s", name);
    } else {
        char cwd[PATH_MAX];
        if (!getcwd(cwd, sizeof cwd)) {
            snprintf(err, errlen, "cannot find the current directory: %s", strerror(errno));
            return -1;
        }
        if ((size_t)snprintf(path, pathlen, "%s/%s", cwd, name) >= pathlen) {
            snprintf(err, errlen, "output path too long");
            return -1;
        }
    }
    if (export_check_writable(path, err, errlen) != 0) return -1;
    *format = fmt;
    return 0;
}
