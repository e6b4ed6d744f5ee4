/* result: probe result codes in HAProxy style, and the pure checks that
 * classify what a probe saw. */
#ifndef MAGLEV_HEALTH_RESULT_H
#define MAGLEV_HEALTH_RESULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/config.h"

enum probe_code {
    PC_NONE,     /* no probe result yet */
    PC_L4OK,     /* TCP connect or ICMP echo succeeded */
    PC_L4TOUT,   /* no TCP connection / ICMP reply within timeout */
    PC_L4CON,    /* connection refused, host/net unreachable */
    PC_L6OK,     /* TLS handshake succeeded (informational) */
    PC_L6TOUT,   /* TLS handshake did not finish within timeout */
    PC_L6RSP,    /* TLS error: handshake failure, certificate not valid */
    PC_L7OK,     /* HTTP response accepted */
    PC_L7RSP,    /* HTTP: no/garbled response, or body did not match */
    PC_L7STS,    /* HTTP status code not in response-codes */
    PC_L7TOUT,   /* HTTP response did not arrive within timeout */
    PC_SOCKERR,  /* local error: namespace, socket, bind */
    PC_PAUSED,   /* operator paused the backend */
    PC_DISABLED, /* operator (or config) disabled the backend */
    PC_REMOVED,  /* backend removed from the config */
    PC_ENABLED,  /* operator enabled / resumed: a fresh start */
    PC__COUNT
};

#define PROBE_DETAIL_MAX 128

struct probe_result {
    enum probe_code code;
    char detail[PROBE_DETAIL_MAX]; /* short, e.g. "HTTP 503", "connection refused" */
    int64_t duration_us;           /* from probe start to result */
};

const char *probe_code_name(enum probe_code c); /* "L4OK", ... "disabled" */
/* A passing result counts towards rise; anything else towards fall. */
bool probe_code_passed(enum probe_code c);

/* A local error (SOCKERR: namespace, socket, bind, local resources): the
 * checker failed, not the backend; such a result does not move the state
 * machine (see docs/healthchecks.md, "When the checker fails"). */
bool probe_code_local(enum probe_code c);

/* HTTP response check: status against response-codes, then the body
 * against response-regex (compiled by the caller, NULL = none). Fills r
 * with L7OK, L7STS or L7RSP and a detail. */
struct pcre2_real_code_8;
void http_check_response(const struct healthcheck_conf *hc, const struct pcre2_real_code_8 *regex,
                         long status, const char *body, size_t body_len, struct probe_result *r);

/* Maps a failed socket operation (errno) during connect to a code/detail:
 * ECONNREFUSED/EHOSTUNREACH/ENETUNREACH/ECONNRESET -> L4CON, ETIMEDOUT ->
 * L4TOUT, anything else -> L4CON with strerror. */
void probe_result_from_errno(int err, struct probe_result *r);

void probe_result_set(struct probe_result *r, enum probe_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
