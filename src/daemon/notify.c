/* notify.c: see notify.h. */
#include "daemon/notify.h"

#include <ev.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"

#ifdef HAVE_LIBSYSTEMD
#include <systemd/sd-daemon.h>

static ev_timer watchdog_timer, status_timer;
static notify_status_fn status_fn;
static void *status_ctx;
static char last_status[256];

static void notify_send(const char *msg)
{
    int rc = sd_notify(0, msg);
    if (rc < 0)
        log_debug("notify-failed", LOG_STR("message", msg), LOG_INT("error", rc));
}

static void on_watchdog(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    notify_send("WATCHDOG=1");
}

static void update_status(void)
{
    char buf[sizeof(last_status)];
    buf[0] = '\0';
    status_fn(status_ctx, buf, sizeof(buf));
    if (strcmp(buf, last_status) == 0)
        return;
    memcpy(last_status, buf, sizeof(buf));
    char msg[sizeof(buf) + 8];
    snprintf(msg, sizeof(msg), "STATUS=%s", buf);
    notify_send(msg);
}

static void on_status(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    update_status();
}

void notify_start(struct ev_loop *loop, notify_status_fn status, void *ctx)
{
    uint64_t usec = 0;
    if (sd_watchdog_enabled(0, &usec) > 0 && usec > 0) {
        double every = (double)usec / 2e6;
        ev_timer_init(&watchdog_timer, on_watchdog, every, every);
        ev_timer_start(loop, &watchdog_timer);
        log_info("watchdog-enabled", LOG_UINT("watchdog-usec", usec),
                 LOG_DOUBLE("ping-every-s", every));
    }
    if (status && getenv("NOTIFY_SOCKET")) {
        status_fn = status;
        status_ctx = ctx;
        ev_timer_init(&status_timer, on_status, 1., 1.);
        ev_timer_start(loop, &status_timer);
    }
}

void notify_ready(void)
{
    if (status_fn) {
        last_status[0] = '\0';
        update_status();
    }
    notify_send("READY=1");
}

void notify_reloading(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    char msg[64];
    snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
             (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
    notify_send(msg);
}

void notify_stopping(void)
{
    notify_send("STOPPING=1");
}

void notify_stop(struct ev_loop *loop)
{
    ev_timer_stop(loop, &watchdog_timer);
    ev_timer_stop(loop, &status_timer);
}

#else /* !HAVE_LIBSYSTEMD */

void notify_start(struct ev_loop *loop, notify_status_fn status, void *ctx)
{
    (void)loop;
    (void)status;
    (void)ctx;
}
void notify_ready(void)
{
}
void notify_reloading(void)
{
}
void notify_stopping(void)
{
}
void notify_stop(struct ev_loop *loop)
{
    (void)loop;
}

#endif
