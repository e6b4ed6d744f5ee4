/* result.c: result codes and the pure response checks. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <errno.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "health/result.h"

const char *probe_code_name(enum probe_code c)
{
    static const char *const names[PC__COUNT] = {
        [PC_NONE] = "none",       [PC_L4OK] = "L4OK",         [PC_L4TOUT] = "L4TOUT",
        [PC_L4CON] = "L4CON",     [PC_L6OK] = "L6OK",         [PC_L6TOUT] = "L6TOUT",
        [PC_L6RSP] = "L6RSP",     [PC_L7OK] = "L7OK",         [PC_L7RSP] = "L7RSP",
        [PC_L7STS] = "L7STS",     [PC_L7TOUT] = "L7TOUT",     [PC_SOCKERR] = "SOCKERR",
        [PC_PAUSED] = "paused",   [PC_DISABLED] = "disabled", [PC_REMOVED] = "removed",
        [PC_ENABLED] = "enabled",
    };
    return (unsigned)c < PC__COUNT && names[c] ? names[c] : "?";
}

bool probe_code_passed(enum probe_code c)
{
    return c == PC_L4OK || c == PC_L6OK || c == PC_L7OK;
}

bool probe_code_local(enum probe_code c)
{
    return c == PC_SOCKERR;
}

void probe_result_set(struct probe_result *r, enum probe_code code, const char *fmt, ...)
{
    r->code = code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->detail, sizeof(r->detail), fmt, ap);
    va_end(ap);
}

void probe_result_from_errno(int err, struct probe_result *r)
{
    switch (err) {
    case ECONNREFUSED:
        probe_result_set(r, PC_L4CON, "connection refused");
        break;
    case EHOSTUNREACH:
    case EHOSTDOWN:
        probe_result_set(r, PC_L4CON, "host unreachable");
        break;
    case ENETUNREACH:
    case ENETDOWN:
        probe_result_set(r, PC_L4CON, "network unreachable");
        break;
    case ECONNRESET:
        probe_result_set(r, PC_L4CON, "connection reset");
        break;
    case ETIMEDOUT:
        probe_result_set(r, PC_L4TOUT, "connection timed out");
        break;
    default:
        probe_result_set(r, PC_L4CON, "%s", strerror(err));
        break;
    }
}

static bool code_allowed(const struct healthcheck_conf *hc, long status)
{
    for (size_t i = 0; i < hc->n_codes; i++)
        if (status >= hc->codes[i].lo && status <= hc->codes[i].hi)
            return true;
    return false;
}

void http_check_response(const struct healthcheck_conf *hc, const struct pcre2_real_code_8 *regex,
                         long status, const char *body, size_t body_len, struct probe_result *r)
{
    if (status < 100 || status > 999) {
        probe_result_set(r, PC_L7RSP, "invalid HTTP response");
        return;
    }
    if (!code_allowed(hc, status)) {
        probe_result_set(r, PC_L7STS, "HTTP %ld", status);
        return;
    }
    if (regex) {
        pcre2_match_data *md = pcre2_match_data_create_from_pattern(regex, NULL);
        int rc = md ? pcre2_match(regex, (PCRE2_SPTR)(body ? body : ""), body_len, 0, 0, md, NULL)
                    : PCRE2_ERROR_NOMEMORY;
        pcre2_match_data_free(md);
        if (rc == PCRE2_ERROR_NOMATCH) {
            probe_result_set(r, PC_L7RSP, "HTTP %ld, regex did not match", status);
            return;
        }
        if (rc < 0) {
            PCRE2_UCHAR msg[96];
            pcre2_get_error_message(rc, msg, sizeof(msg));
            probe_result_set(r, PC_L7RSP, "HTTP %ld, regex error: %s", status, (char *)msg);
            return;
        }
    }
    probe_result_set(r, PC_L7OK, "HTTP %ld", status);
}
