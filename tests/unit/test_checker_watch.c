/* Unit tests for the checker's watchdog (src/health/watch.c) on a real
 * libev loop with the scripted probe layer (fake_probe.c): a local error
 * keeps the backend's state and degrades the checker, a valid result
 * clears it, a worker whose probe never ends turns stale, and the error
 * is logged once, the recovery once. The pure rules are in
 * test_health_state.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "config/config.h"
#include "core_harness.h"
#include "fake_probe.h"
#include "health/health.h"

static struct ev_loop *loop;
static ev_timer tick;
static int log_rd = -1, log_wr = -1;
static int n_seen;

static void hook(void *ctx, const struct backend_rt *b, const struct health_transition *t)
{
    (void)ctx, (void)b, (void)t;
    n_seen++;
}

#define CFG                                                                                        \
    "maglev:\n"                                                                                    \
    "  healthchecks:\n"                                                                            \
    "    h: {type: tcp, port: 80, interval: 100ms, rise: 2, fall: 2}\n"                            \
    "  backends:\n"                                                                                \
    "    a: {address: 192.0.2.10, healthcheck: h}\n"                                               \
    "  vpp: {lb: {ipv4-src-address: 192.0.2.1, ipv6-src-address: \"2001:db8::1\"}}\n"

static int setup(void **state)
{
    (void)state;
    loop = harness_loop_new(&tick);
    n_seen = 0;
    fake_n = 0;
    fake_started = 0;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0)
        return -1;
    log_rd = fds[0];
    log_wr = fds[1];
    log_setup(LOG_LEVEL_INFO, LOG_FORMAT_TEXT, log_wr);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    harness_loop_free(loop, &tick);
    log_setup(LOG_LEVEL_ERROR, LOG_FORMAT_TEXT, 2);
    close(log_rd);
    close(log_wr);
    return 0;
}

/* What was logged since the last call (the pipe drained). */
static char logged[65536];
static const char *read_log(void)
{
    size_t n = 0;
    ssize_t r;
    while (n < sizeof(logged) - 1 && (r = read(log_rd, logged + n, sizeof(logged) - 1 - n)) > 0)
        n += (size_t)r;
    logged[n] = '\0';
    return logged;
}

static int count(const char *hay, const char *needle)
{
    int n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static struct checker_watch watch(const struct checker *ck)
{
    struct checker_watch w;
    checker_watch_get(ck, &w);
    return w;
}

/* Drives backend a with code until cond holds (fails after 30 s). */
#define DRIVE_UNTIL(code, cond)                                                                    \
    do {                                                                                           \
        double end_ = harness_now() + 30;                                                          \
        while (!(cond)) {                                                                          \
            if (harness_now() > end_)                                                              \
                FAIL("timed out waiting for %s", #cond);                                           \
            fake_drive(loop, "a", code);                                                           \
        }                                                                                          \
    } while (0)

static void test_local_error_keeps_state(void **state)
{
    (void)state;
    struct maglev_config *cfg = harness_load_buffer(CFG);
    struct checker *ck = checker_new(loop, cfg);
    checker_set_hook(ck, hook, NULL);
    const struct backend_rt *a = checker_find(ck, "a");
    /* from unknown: a local error does not take it down */
    fake_drive(loop, "a", PC_SOCKERR);
    assert_int_equal(a->sm.state, BS_UNKNOWN);
    assert_int_equal(n_seen, 0);
    assert_true(watch(ck).reasons & HEALTH_WATCH_PROBE_ERRORS);
    assert_int_equal(watch(ck).probe_errors, 1);
    fake_drive(loop, "a", PC_L4OK);
    assert_int_equal(a->sm.state, BS_UP);
    assert_int_equal(watch(ck).probe_errors, 0);
    uint32_t counter = a->sm.counter;
    /* up: any number of local errors (fall is 2) keep it up, the counter
     * unmoved; the results are counted and shown as the last probe */
    for (int i = 0; i < 5; i++)
        fake_drive(loop, "a", PC_SOCKERR);
    assert_int_equal(a->sm.state, BS_UP);
    assert_int_equal(a->sm.counter, counter);
    assert_int_equal(n_seen, 1);
    assert_int_equal(a->last.code, PC_SOCKERR);
    assert_int_equal(a->probe_codes[PC_SOCKERR], 6);
    assert_int_equal(watch(ck).probe_errors, 1);
    /* the tick logs it, once, and notes since when */
    DRIVE_UNTIL(PC_SOCKERR, watch(ck).since_us != 0);
    harness_run_for(loop, 0.05);
    const char *l = read_log();
    assert_int_equal(count(l, "msg=checker-degraded"), 1);
    assert_non_null(strstr(l, "probe-errors"));
    assert_non_null(strstr(l, "backend=a code=SOCKERR"));
    /* still failing a while later (many ticks): not logged again within
     * the minute */
    double end = harness_now() + 1.5;
    while (harness_now() < end)
        fake_drive(loop, "a", PC_SOCKERR);
    assert_int_equal(count(read_log(), "msg=checker-degraded"), 0);
    /* a valid result clears it at once; the tick logs the recovery once
     * the window is clean too (a busy machine may have started a probe
     * late) */
    fake_drive(loop, "a", PC_L4OK);
    assert_int_equal(watch(ck).probe_errors, 0);
    assert_int_equal(watch(ck).stale, 0);
    DRIVE_UNTIL(PC_L4OK, watch(ck).reasons == 0);
    end = harness_now() + 1.5; /* a tick or more */
    while (harness_now() < end)
        fake_drive(loop, "a", PC_L4OK);
    l = read_log();
    assert_true(count(l, "msg=checker-recovered") >= 1);
    assert_int_equal(a->sm.state, BS_UP);
    assert_int_equal(n_seen, 1);
    checker_free(ck);
    config_free(cfg);
}

static void test_stale_worker(void **state)
{
    (void)state;
    struct maglev_config *cfg = harness_load_buffer(CFG);
    struct checker *ck = checker_new(loop, cfg);
    const struct backend_rt *a = checker_find(ck, "a");
    fake_drive(loop, "a", PC_L4OK);
    assert_int_equal(a->sm.state, BS_UP);
    /* the next probe starts and never ends (a fake probe has no timeout):
     * no valid result for 3 intervals is stale */
    RUN_UNTIL(fake_find("a") >= 0, 10);
    double t0 = harness_now();
    RUN_UNTIL(a->stale, 10);
    assert_true(harness_now() - t0 >= 0.15); /* 3 x 100 ms after the last result */
    assert_int_equal(watch(ck).stale, 1);
    assert_true(watch(ck).reasons & HEALTH_WATCH_STALE);
    assert_int_equal(a->sm.state, BS_UP); /* staleness moves no state */
    RUN_UNTIL(watch(ck).since_us != 0, 10);
    /* the probe ends: fresh again */
    fake_complete(fake_find("a"), PC_L4OK);
    assert_false(a->stale);
    assert_int_equal(watch(ck).stale, 0);
    /* stale again, then paused: a paused backend is never stale */
    RUN_UNTIL(fake_find("a") >= 0, 10);
    RUN_UNTIL(a->stale, 10);
    assert_int_equal(checker_pause(ck, "a"), 0);
    assert_false(a->stale);
    assert_int_equal(watch(ck).stale, 0);
    harness_run_for(loop, 0.5);
    assert_false(a->stale);
    /* resumed: the stale clock starts again from the resume */
    assert_int_equal(checker_resume(ck, "a"), 0);
    assert_false(a->stale);
    fake_drive(loop, "a", PC_L4OK);
    assert_false(a->stale);
    checker_free(ck);
    config_free(cfg);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_local_error_keeps_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_worker, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
