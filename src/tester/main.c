/* maglevt: the VIP tester's entry point. Exit codes: 0 every request
 * succeeded, 1 some request failed (or the run could not start), 2 usage
 * error (the message names the bad argument). */
#include <stdio.h>

#include "common/version.h"
#include "tester/tester.h"

int main(int argc, char **argv)
{
    struct tester_opts o;
    char err[512];
    switch (tester_parse_args(argc, argv, &o, err, sizeof(err))) {
    case TESTER_ARGS_HELP:
        fputs(tester_usage(), stdout);
        return 0;
    case TESTER_ARGS_VERSION:
        printf("maglevt %s (commit %s, built %s)\n", version_string(), version_commit(),
               version_date());
        return 0;
    case TESTER_ARGS_USAGE:
        fprintf(stderr, "maglevt: %s\n", err);
        return 2;
    case TESTER_ARGS_RUN:
        break;
    }
    int rc = tester_run(&o);
    tester_opts_free(&o);
    return rc;
}
