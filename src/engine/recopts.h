/* recopts.h — the options of `record`, parsed and checked once, in C, for
 * both front ends: the `strobe` command and `python -m strobe record` (which
 * reaches this parser through the extension module). */
#ifndef STROBE_RECOPTS_H
#define STROBE_RECOPTS_H

#include <stddef.h>
#include <sys/types.h>

typedef struct {
    double rate_hz;
    int mode;              /* enum sampler_mode */
    int max_depth;
    double max_overhead;   /* percent of the program's CPU; 0 = off */
    int sampler_cpu_any;   /* --sampler-cpu any */
    double duration_s;     /* 0 = until the program exits */
    const char *output;    /* as given, or NULL */
    const char *format;    /* as given with -f, or NULL */
    int help;              /* -h / --help seen */
    int first_arg;         /* index of the program's first word; == argc if none */
} record_opts;

extern const char recopts_usage[];

/* Parse argv[0..argc) (the words after "record").  Options stop at "--" or
 * at the first word that is not an option.  Returns 0, or -1 with one line
 * in err. */
int recopts_parse(int argc, char *const argv[], record_opts *o, char *err, size_t errlen);

/* Decide the output: -o as given or "strobe-PID.EXT" in the current
 * directory, made absolute; the format from -f, else from the extension.
 * Checks the file can be written.  Returns 0 with the absolute path in
 * `path` and the export format in *format, or -1 with a reason. */
int recopts_output(const record_opts *o, pid_t pid, char *path, size_t pathlen,
                   int *format, char *err, size_t errlen);

#endif
