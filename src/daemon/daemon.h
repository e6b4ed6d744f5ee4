/* daemon: maglevd's running state on the libev loop: signals, the core,
 * the API server. */
#ifndef MAGLEV_DAEMON_DAEMON_H
#define MAGLEV_DAEMON_DAEMON_H

struct daemon_opts {
    const char *config;
    const char *grpc_addr; /* listener list; "" = no API */
};

/* Runs until SIGTERM/SIGINT; returns the process exit code. */
int daemon_run(const struct daemon_opts *opts);

#endif
