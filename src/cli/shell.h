/* shell: maglevc's interactive shell (libedit) and its batch twin.
 *
 * The shell prints the client and server versions, then reads commands
 * with a `maglev> ` prompt: TAB completes keywords and live names, `?`
 * lists what may come next (and leaves the line as it was), history lives
 * in ~/.maglevc_history, Ctrl-C clears the line (or stops `watch events`),
 * Ctrl-D, `quit` and `exit` leave. */
#ifndef MAGLEV_CLI_SHELL_H
#define MAGLEV_CLI_SHELL_H

#include <stdio.h>

#include "cli/actions.h"

/* The interactive shell on the terminal; returns the exit status (0). */
int shell_run(struct session *s);

/* Commands from a non-terminal (one per line; blank lines and lines
 * starting with '#' skipped) until EOF or quit. Returns 0, or the status of
 * the last command that failed. */
int shell_batch(struct session *s, FILE *in);

/* Parses and runs one line; *quit is set for quit/exit. Returns the exit
 * status (EXIT_USAGE for a line that does not parse, after printing why). */
int shell_line(struct session *s, const char *line, int *quit);

#endif
