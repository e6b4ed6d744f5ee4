/* daemon: maglevd's running state on the libev loop: config, health
 * checker, signals, reload orchestration. */
#ifndef MAGLEV_DAEMON_DAEMON_H
#define MAGLEV_DAEMON_DAEMON_H

/* Runs until SIGTERM/SIGINT; returns the process exit code. */
int daemon_run(const char *config_path);

#endif
