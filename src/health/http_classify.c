/* http_classify.c: the result of a finished http(s) probe, from plain facts. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <string.h>

#include "common/duration.h"
#include "health/http_classify.h"

void http_detail_clean(char *dst, const char *src)
{
    size_t n = 0;
    for (; src[n] && n < HTTP_DETAIL_MAX - 1; n++)
        dst[n] = (unsigned char)src[n] < 0x20 || src[n] == 0x7f ? ' ' : src[n];
    while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '.'))
        n--;
    dst[n] = '\0';
}

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

bool http_is_tls_error(CURLcode rc)
{
    switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
    case CURLE_USE_SSL_FAILED:
        return true;
    default:
        return false;
    }
}

/* A short TLS detail from curl's error buffer, e.g.
 *   "SSL certificate problem: self-signed certificate"
 *      -> "certificate verify failed: self-signed certificate"
 *   "OpenSSL/3.0.x: error:0A00010B:SSL routines::wrong version number"
 *      -> "TLS handshake failed: wrong version number"
 *   "OpenSSL SSL_connect: SSL_ERROR_SYSCALL in connection to 127.0.0.1:1 "
 *      -> "TLS handshake failed: connection closed" */
void http_tls_detail(CURLcode rc, const char *errbuf, const char *server_name,
                     const struct ip_addr *addr, struct probe_result *r)
{
    char msg[CURL_ERROR_SIZE];
    snprintf(msg, sizeof(msg), "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
    char *cut = strstr(msg, " in connection to ");
    if (cut)
        *cut = '\0';
    const char *m = msg, *s;
    if (starts_with(m, "SSL certificate problem: ")) {
        m += strlen("SSL certificate problem: ");
        rc = CURLE_PEER_FAILED_VERIFICATION;
    } else if (strstr(m, "subject name") && strstr(m, "match")) {
        const char *name = server_name;
        char a[IP_ADDR_STRLEN];
        if (!name)
            name = ip_addr_format(addr, a, sizeof(a));
        char d[HTTP_DETAIL_MAX + 64];
        snprintf(d, sizeof(d), "certificate does not match %s", name);
        http_detail_clean(r->detail, d);
        r->code = PC_L6RSP;
        return;
    } else if ((s = strstr(m, "::"))) { /* OpenSSL 3: error:XXXXXXXX:lib::reason */
        m = s + 2;
    } else if ((s = strstr(m, "routines:"))) { /* OpenSSL 1.1: lib:func:reason */
        const char *c = strrchr(s, ':');
        m = c ? c + 1 : s;
    } else if (starts_with(m, "OpenSSL SSL_connect: ")) {
        m += strlen("OpenSSL SSL_connect: ");
        if (starts_with(m, "SSL_ERROR_SYSCALL"))
            m = "connection closed";
    }
    const char *what = rc == CURLE_PEER_FAILED_VERIFICATION ? "certificate verify failed"
                       : rc == CURLE_SSL_CONNECT_ERROR      ? "TLS handshake failed"
                                                            : "TLS error";
    char d[HTTP_DETAIL_MAX + CURL_ERROR_SIZE];
    snprintf(d, sizeof(d), "%s: %s", what, m);
    http_detail_clean(r->detail, d);
    r->code = PC_L6RSP;
}

void http_timeout_result(int64_t timeout, bool https, bool tcp_connected, bool tls_done,
                         struct probe_result *r)
{
    char d[DURATION_BUFSZ];
    duration_format(timeout, d, sizeof(d));
    if (!tcp_connected)
        probe_result_set(r, PC_L4TOUT, "no connection within %s", d);
    else if (https && !tls_done)
        probe_result_set(r, PC_L6TOUT, "TLS handshake not finished within %s", d);
    else
        probe_result_set(r, PC_L7TOUT, "no complete response within %s", d);
}

bool http_response_needed(const struct http_facts *f)
{
    return !f->sockerr && (f->rc == CURLE_OK || (f->rc == CURLE_WRITE_ERROR && f->stopped));
}

/* curl's error buffer, or the text of its code when that is empty. */
static const char *curl_error(const struct http_facts *f)
{
    return f->errbuf && f->errbuf[0] ? f->errbuf : curl_easy_strerror(f->rc);
}

void http_classify(const struct http_facts *f, struct probe_result *r)
{
    char d[HTTP_DETAIL_MAX];
    CURLcode rc = f->rc;
    if (f->sockerr) {
        http_detail_clean(d, f->sock_err ? f->sock_err : "");
        probe_result_set(r, PC_SOCKERR, "%s", d);
        return;
    }
    if (http_response_needed(f)) {
        if (f->hc->response_regex && !f->regex) {
            probe_result_set(r, PC_L7RSP, "%.*s", HTTP_DETAIL_MAX - 1,
                             f->regex_err ? f->regex_err : "response-regex");
            return;
        }
        http_check_response(f->hc, f->regex, f->status, f->body, f->body_len, r);
        return;
    }
    if (rc == CURLE_OUT_OF_MEMORY) { /* libcurl's own allocation failed */
        probe_result_set(r, PC_SOCKERR, "out of memory");
        return;
    }
    if (http_is_tls_error(rc)) {
        http_tls_detail(rc, f->errbuf ? f->errbuf : "", f->hc->tls_server_name, f->addr, r);
        return;
    }
    switch (rc) {
    case CURLE_COULDNT_CONNECT:
        if (f->os_errno != 0) {
            probe_result_from_errno((int)f->os_errno, r);
        } else {
            http_detail_clean(d, curl_error(f));
            probe_result_set(r, PC_L4CON, "%s", d);
        }
        return;
    case CURLE_OPERATION_TIMEDOUT:
        http_timeout_result(f->hc->timeout, f->https, f->tcp_connected, f->tls_done, r);
        return;
    case CURLE_GOT_NOTHING:
        probe_result_set(r, PC_L7RSP, "empty response");
        return;
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_UNSUPPORTED_PROTOCOL: /* e.g. an HTTP/0.9 answer */
        probe_result_set(r, PC_L7RSP, "invalid HTTP response");
        return;
    case CURLE_PARTIAL_FILE:
        probe_result_set(r, PC_L7RSP, "incomplete response");
        return;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        probe_result_set(r, PC_L7RSP, "%s error: %s", rc == CURLE_RECV_ERROR ? "receive" : "send",
                         f->os_errno ? strerror((int)f->os_errno) : "connection closed");
        return;
    default:
        http_detail_clean(d, curl_error(f));
        probe_result_set(r, f->tcp_connected ? PC_L7RSP : PC_L4CON, "%s", d);
        return;
    }
}
