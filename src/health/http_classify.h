/* Internal to src/health: the wording of http(s) probe results, pure.
 *
 * probe_http_native.c and tls_client.c gather the facts (the phase a
 * timed-out probe reached, why a TLS handshake failed) and hand them here
 * as plain values; this file turns them into a probe result code and a
 * short, clean detail. */
#ifndef MAGLEV_HEALTH_HTTP_CLASSIFY_H
#define MAGLEV_HEALTH_HTTP_CLASSIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/ipaddr.h"
#include "config/config.h"
#include "health/result.h"

#define HTTP_DETAIL_MAX 100 /* result details stay shorter than this */

/* The result of a timeout (hc's timeout) by the phase reached: L4TOUT
 * before the TCP connection, L6TOUT during the TLS handshake, L7TOUT
 * waiting for the response. */
void http_timeout_result(int64_t timeout, bool https, bool tcp_connected, bool tls_done,
                         struct probe_result *r);

/* Why a TLS handshake failed, as OpenSSL says it (tls_client.c). */
enum http_tls_failure {
    HTTP_TLS_VERIFY,   /* the certificate did not verify; reason: OpenSSL's verify text */
    HTTP_TLS_NAME,     /* the certificate does not match the name (or address) */
    HTTP_TLS_PROTOCOL, /* a TLS error or alert; reason: OpenSSL's reason text, may be NULL */
    HTTP_TLS_CLOSED,   /* the server closed the connection */
    HTTP_TLS_SOCKET,   /* a socket error; reason: its strerror() */
};

/* Fills r with L6RSP and a short detail, e.g. "certificate verify failed:
 * self-signed certificate", "certificate does not match www.example.com",
 * "TLS handshake failed: wrong version number". server_name (NULL = none)
 * or else addr is the name a certificate must match. */
void http_tls_result(enum http_tls_failure why, const char *reason, const char *server_name,
                     const struct ip_addr *addr, struct probe_result *r);

/* Copies src into dst (HTTP_DETAIL_MAX bytes): control characters become
 * spaces, trailing spaces and dots go, at most HTTP_DETAIL_MAX - 1
 * characters. */
void http_detail_clean(char *dst, const char *src);

#endif
