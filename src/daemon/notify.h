/* notify: the systemd service notification protocol (sd_notify(3)), when
 * maglevd runs as a Type=notify unit (NOTIFY_SOCKET set). Without
 * libsystemd at build time every call is a no-op.
 *
 *   READY=1                      start-up done: config loaded, listeners up
 *   RELOADING=1 MONOTONIC_USEC=  a SIGHUP reload begins; READY=1 when done
 *   STOPPING=1                   shutting down
 *   STATUS=...                   one line, refreshed every second if changed
 *   WATCHDOG=1                   every WATCHDOG_USEC/2, from a timer of the
 *                                loop: a blocked loop stops the pings */
#ifndef MAGLEV_DAEMON_NOTIFY_H
#define MAGLEV_DAEMON_NOTIFY_H

#include <stddef.h>

struct ev_loop;

/* Writes the STATUS= line (without the prefix) into buf. */
typedef void (*notify_status_fn)(void *ctx, char *buf, size_t len);

/* Starts the watchdog and status timers (those that apply). */
void notify_start(struct ev_loop *loop, notify_status_fn status, void *ctx);
void notify_ready(void);
void notify_reloading(void);
void notify_stopping(void);
/* Stops the timers. */
void notify_stop(struct ev_loop *loop);

#endif
