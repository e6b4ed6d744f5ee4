/* http_classify.c: the wording of http(s) probe results, from plain facts. */
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

void http_tls_result(enum http_tls_failure why, const char *reason, const char *server_name,
                     const struct ip_addr *addr, struct probe_result *r)
{
    char d[HTTP_DETAIL_MAX + 256], a[IP_ADDR_STRLEN];
    switch (why) {
    case HTTP_TLS_VERIFY:
        snprintf(d, sizeof(d), "certificate verify failed: %.200s", reason ? reason : "?");
        break;
    case HTTP_TLS_NAME:
        snprintf(d, sizeof(d), "certificate does not match %.200s",
                 server_name ? server_name : ip_addr_format(addr, a, sizeof(a)));
        break;
    case HTTP_TLS_CLOSED:
        snprintf(d, sizeof(d), "TLS handshake failed: connection closed");
        break;
    case HTTP_TLS_PROTOCOL:
    case HTTP_TLS_SOCKET:
    default:
        if (reason && reason[0])
            snprintf(d, sizeof(d), "TLS handshake failed: %.200s", reason);
        else
            snprintf(d, sizeof(d), "TLS error");
        break;
    }
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
