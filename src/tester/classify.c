/* classify.c: what a finished request means, and who answered it (pure).
 * The libcurl result codes are only compared here, nothing is called. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <strings.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <curl/curl.h>
#include <pcre2.h>

#include "tester/tester.h"

const char *tester_outcome_name(enum tester_outcome o)
{
    static const char *const names[TO_COUNT] = {
        [TO_OK] = "ok",
        [TO_REFUSED] = "refused",
        [TO_TIMEOUT] = "timeout",
        [TO_RESET] = "reset",
        [TO_UNREACHABLE] = "unreachable",
        [TO_TLS] = "tls",
        [TO_HTTP_4XX] = "http_4xx",
        [TO_HTTP_5XX] = "http_5xx",
        [TO_OTHER] = "other",
    };
    return (unsigned)o < TO_COUNT ? names[o] : "other";
}

/* A socket error seen by a connect, send or receive. */
static enum tester_outcome from_errno(long e, enum tester_outcome dflt)
{
    switch (e) {
    case ECONNREFUSED:
        return TO_REFUSED;
    case ECONNRESET:
    case EPIPE:
    case ECONNABORTED:
        return TO_RESET;
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EHOSTDOWN:
    case ENETDOWN:
        return TO_UNREACHABLE;
    case ETIMEDOUT:
        return TO_TIMEOUT;
    default:
        return dflt;
    }
}

static bool tls_code(int rc)
{
    switch (rc) {
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
        return true;
    default:
        return false;
    }
}

enum tester_outcome tester_classify(int curl_code, long os_errno, long status)
{
    switch (curl_code) {
    case CURLE_OK:
        if (status >= 500 && status <= 599)
            return TO_HTTP_5XX;
        if (status >= 400)
            return status <= 499 ? TO_HTTP_4XX : TO_OTHER;
        return status >= 100 ? TO_OK : TO_OTHER;
    case CURLE_COULDNT_CONNECT:
        return from_errno(os_errno, TO_OTHER);
    case CURLE_OPERATION_TIMEDOUT:
        return TO_TIMEOUT;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
        return from_errno(os_errno, TO_RESET);
    case CURLE_GOT_NOTHING:  /* closed before a response */
    case CURLE_PARTIAL_FILE: /* closed in the body */
        return TO_RESET;
    default:
        if (tls_code(curl_code)) /* a reset in the handshake is a reset */
            return from_errno(os_errno, TO_TLS) == TO_RESET ? TO_RESET : TO_TLS;
        return TO_OTHER;
    }
}

/* Copies a value, trimmed, control characters and '"' as '?', cut at
 * TESTER_NAME_MAX; false when it is empty. */
static bool clean_name(const char *v, size_t n, char *out)
{
    while (n && (v[0] == ' ' || v[0] == '\t'))
        v++, n--;
    while (n && (v[n - 1] == ' ' || v[n - 1] == '\t' || v[n - 1] == '\r' || v[n - 1] == '\n'))
        n--;
    if (n > TESTER_NAME_MAX)
        n = TESTER_NAME_MAX;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)v[i];
        out[i] = c < ' ' || c == 0x7f || c == '"' || c == '\\' ? '?' : (char)c;
    }
    out[n] = '\0';
    return n > 0;
}

bool tester_header_value(const char *line, size_t len, const char *name, char *out)
{
    size_t nl = strlen(name);
    if (len <= nl || line[nl] != ':' || strncasecmp(line, name, nl) != 0)
        return false;
    return clean_name(line + nl + 1, len - nl - 1, out);
}

bool tester_body_match(const void *code, const char *body, size_t len, char *out)
{
    const pcre2_code *re = code;
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    if (!md)
        return false;
    bool found = false;
    int rc = pcre2_match(re, (PCRE2_SPTR)(body ? body : ""), len, 0, 0, md, NULL);
    if (rc > 0) {
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        /* the first group when it took part in the match, else the match */
        int g = rc > 1 && ov[2] != PCRE2_UNSET ? 1 : 0;
        found = clean_name(body + ov[2 * g], ov[2 * g + 1] - ov[2 * g], out);
    }
    pcre2_match_data_free(md);
    return found;
}
