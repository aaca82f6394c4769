/* report.h — `strobe report FILE`: per thread, where the time of a pprof
 * profile written by strobe went (wall, CPU, off-CPU and its causes), and
 * the time suspended asyncio tasks spent waiting. */
#ifndef STROBE_REPORT_H
#define STROBE_REPORT_H

/* argv[0] is "report"; the options and FILE follow.  Returns the exit
 * status: 0, 1 when the file cannot be read or is not a usable profile, 2 on
 * a usage error.  Errors are one line on stderr, "strobe: error: ...". */
int report_main(int argc, char **argv);

#endif
