/* Internal to src/health: what a finished http(s) probe means, pure.
 *
 * probe_http.c gathers the facts of a transfer from curl and the socket
 * (the CURLcode, errno, the phase reached, the error buffer, the status
 * and body) and hands them here as plain values; this file turns them
 * into a probe result code and a short, clean detail. */
#ifndef MAGLEV_HEALTH_HTTP_CLASSIFY_H
#define MAGLEV_HEALTH_HTTP_CLASSIFY_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ipaddr.h"
#include "config/config.h"
#include "health/result.h"

#define HTTP_DETAIL_MAX 100 /* result details stay shorter than this */

struct pcre2_real_code_8;

/* What a finished transfer left behind. */
struct http_facts {
    const struct healthcheck_conf *hc;
    const struct ip_addr *addr; /* the backend */
    CURLcode rc;
    bool sockerr;         /* the open-socket callback failed ... */
    const char *sock_err; /* ... for this reason */
    bool stopped;         /* the write callback stopped the transfer on purpose */
    long os_errno;        /* CURLINFO_OS_ERRNO, 0 when none */
    bool https;
    bool tcp_connected; /* the TCP connection was established */
    bool tls_done;      /* the TLS handshake finished */
    const char *errbuf; /* curl's error buffer, "" when empty */
    /* Needed only when http_response_needed(): */
    long status;                           /* CURLINFO_RESPONSE_CODE */
    const char *body;                      /* what was kept of it, may be NULL */
    size_t body_len;                       /* its length */
    const struct pcre2_real_code_8 *regex; /* hc->response_regex compiled ... */
    const char *regex_err;                 /* ... or why not (regex NULL) */
};

/* Whether the transfer got a response to check (status, and the body for
 * a response-regex): CURLE_OK, or the write callback stopping it. */
bool http_response_needed(const struct http_facts *f);

/* Fills r with the code and detail of a finished transfer. */
void http_classify(const struct http_facts *f, struct probe_result *r);

/* The result of a timeout (hc's timeout) by the phase reached: L4TOUT
 * before the TCP connection, L6TOUT during the TLS handshake, L7TOUT
 * waiting for the response. */
void http_timeout_result(int64_t timeout, bool https, bool tcp_connected, bool tls_done,
                         struct probe_result *r);

/* Whether rc is a TLS error (L6RSP). */
bool http_is_tls_error(CURLcode rc);

/* Fills r with L6RSP and a short detail from curl's error buffer (or the
 * text of rc when empty); server_name (NULL = none) or else addr is the
 * name a certificate must match. */
void http_tls_detail(CURLcode rc, const char *errbuf, const char *server_name,
                     const struct ip_addr *addr, struct probe_result *r);

/* Copies src into dst (HTTP_DETAIL_MAX bytes): control characters become
 * spaces, trailing spaces and dots go, at most HTTP_DETAIL_MAX - 1
 * characters. */
void http_detail_clean(char *dst, const char *src);

#endif
