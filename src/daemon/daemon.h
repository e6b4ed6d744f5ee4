/* daemon: maglevd's running state on the libev loop: signals, the core,
 * the API server. */
#ifndef MAGLEV_DAEMON_DAEMON_H
#define MAGLEV_DAEMON_DAEMON_H

#include <stdbool.h>

struct metrics_listeners;

struct daemon_opts {
    const char *config;
    struct metrics_listeners *metrics; /* bound (metrics_listen); NULL = none; taken */
    bool dashboard;                    /* serve the dashboard on those listeners too */
    const char *grpc_addr;             /* listener list; "" = no API */
    const char *vpp_api_addr;          /* "" = no VPP integration */
    const char *vpp_stats_addr;        /* "" = no LB counters (none either without VPP) */
    unsigned vpp_stats_interval_ms;    /* 0 = 5 s (tests) */
    unsigned dashboard_queue_msgs;     /* 0 = the dashboard's own (tests) */
    bool vpp_dry_run;
    unsigned grpc_max_conns;    /* 0: what the descriptor budget allows, at most 1024 */
    unsigned grpc_handshake_ms; /* 0: 10 s */
    unsigned grpc_idle_ms;      /* 0: 300 s */
};

/* Runs until SIGTERM/SIGINT; returns the process exit code (2 when the
 * metrics endpoint cannot be served). */
int daemon_run(const struct daemon_opts *opts);

#endif
