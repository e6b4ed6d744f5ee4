/* core_harness: shared helpers of the unit tests on a real loop (see
 * core_harness.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/clock.h"
#include "core_harness.h"

double harness_now(void)
{
    return (double)clock_mono_us() / 1e6;
}

static void on_tick(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
}

void harness_tick_start(struct ev_loop *loop, ev_timer *tick)
{
    ev_timer_init(tick, on_tick, 0.01, 0.01);
    ev_timer_start(loop, tick);
}

void harness_tick_stop(struct ev_loop *loop, ev_timer *tick)
{
    ev_timer_stop(loop, tick);
}

struct ev_loop *harness_loop_new(ev_timer *tick)
{
    struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
    harness_tick_start(loop, tick);
    return loop;
}

void harness_loop_free(struct ev_loop *loop, ev_timer *tick)
{
    harness_tick_stop(loop, tick);
    ev_loop_destroy(loop);
}

void harness_run_for(struct ev_loop *loop, double secs)
{
    ev_timer tick;
    harness_tick_start(loop, &tick);
    double end = harness_now() + secs;
    while (harness_now() < end)
        ev_run(loop, EVRUN_ONCE);
    harness_tick_stop(loop, &tick);
}

void harness_print_diags(struct config_diags *d)
{
    for (size_t i = 0; i < d->n; i++) {
        char *line = config_diag_format(d, i);
        print_error("%s\n", line);
        free(line);
    }
    config_diags_free(d);
}

/* The config of a load that returned rc, or the test fails. */
static struct maglev_config *loaded(int rc, struct maglev_config *cfg, struct config_diags *d)
{
    if (rc < 0) {
        harness_print_diags(d);
        FAIL("config refused");
    }
    config_diags_free(d);
    return cfg;
}

struct maglev_config *harness_load_buffer(const char *yaml)
{
    struct config_diags d = { 0 };
    struct maglev_config *cfg = NULL;
    int rc = config_load_buffer("t.yaml", yaml, strlen(yaml), &cfg, &d);
    return loaded(rc, cfg, &d);
}

struct maglev_config *harness_load_file(const char *path)
{
    struct config_diags d = { 0 };
    struct maglev_config *cfg = NULL;
    int rc = config_load_file(path, &cfg, &d);
    return loaded(rc, cfg, &d);
}

int harness_dir_make(struct harness_dir *d, const char *tag)
{
    snprintf(d->dir, sizeof(d->dir), "/tmp/maglev-test-%s-XXXXXX", tag);
    if (!mkdtemp(d->dir))
        return -1;
    snprintf(d->path, sizeof(d->path), "%s/maglev.yaml", d->dir);
    return 0;
}

void harness_dir_remove(struct harness_dir *d)
{
    unlink(d->path);
    rmdir(d->dir);
}

void harness_write_config(const struct harness_dir *d, const char *text)
{
    FILE *f = fopen(d->path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}
