/* core_harness: what the C unit tests on a real libev loop share (test_core,
 * test_core_vpp, test_vpp_sync, test_checker): failing from a helper, the
 * loop with a tick, running it until a condition or for a while, loading a
 * config (its diagnostics printed), a temporary config file. */
#ifndef MAGLEV_TESTS_CORE_HARNESS_H
#define MAGLEV_TESTS_CORE_HARNESS_H

#include <stdlib.h>

#include <ev.h>

#include "config/config.h"

/* fail_msg longjmps out of the test; abort() tells the compiler so. */
#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fail_msg(__VA_ARGS__);                                                                     \
        abort();                                                                                   \
    } while (0)

/* The monotonic clock in seconds. */
double harness_now(void);

/* Runs `loop` (the test file's loop, with a tick: harness_loop_new) until
 * cond holds; fails after secs seconds. */
#define RUN_UNTIL(cond, secs)                                                                      \
    do {                                                                                           \
        double end_ = harness_now() + (secs);                                                      \
        while (!(cond)) {                                                                          \
            if (harness_now() > end_)                                                              \
                FAIL("timed out waiting for %s", #cond);                                           \
            ev_run(loop, EVRUN_ONCE);                                                              \
        }                                                                                          \
    } while (0)

/* A new loop with *tick started on it, so that ev_run(EVRUN_ONCE) returns
 * at least every 10 ms; harness_loop_free stops the tick and destroys it. */
struct ev_loop *harness_loop_new(ev_timer *tick);
void harness_loop_free(struct ev_loop *loop, ev_timer *tick);
/* Starts and stops a 10 ms tick on a loop that has none. */
void harness_tick_start(struct ev_loop *loop, ev_timer *tick);
void harness_tick_stop(struct ev_loop *loop, ev_timer *tick);

/* Runs the loop for secs seconds (its own tick). */
void harness_run_for(struct ev_loop *loop, double secs);

/* Prints every diagnostic of d (print_error) and frees them. */
void harness_print_diags(struct config_diags *d);
/* The config of yaml (named t.yaml), or of the file path; a refused config
 * prints its diagnostics and fails the test. */
struct maglev_config *harness_load_buffer(const char *yaml);
struct maglev_config *harness_load_file(const char *path);

/* A temporary directory with the path of a config file in it. */
struct harness_dir {
    char dir[64];
    char path[128]; /* dir/maglev.yaml */
};

/* Creates /tmp/maglev-test-<tag>-XXXXXX; 0 or -1. */
int harness_dir_make(struct harness_dir *d, const char *tag);
/* Removes the config file and the directory. */
void harness_dir_remove(struct harness_dir *d);
/* Writes text to d->path (fails the test on an error). */
void harness_write_config(const struct harness_dir *d, const char *text);

#endif
