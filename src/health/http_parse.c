/* http_parse.c: HTTP/1.x response head and body parsing, pure. */
#include <string.h>
#include <strings.h>

#include "health/http_parse.h"

#define CL_DIGITS_MAX    18 /* a Content-Length below 10^18 */
#define CHUNK_DIGITS_MAX 15 /* a chunk below 2^60 bytes */

void http_head_init(struct http_head *h)
{
    memset(h, 0, sizeof(*h));
    h->content_length = -1;
}

bool http_status_interim(int status)
{
    return status >= 100 && status <= 199 && status != 101;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* "HTTP/1.x NNN" then nothing or " reason"; s[0..n) without the line end.
 * NNN from 100 (0 means no status yet). */
static bool status_line(const char *s, size_t n, int *status)
{
    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || !is_digit(s[7]) || s[8] != ' ' || s[9] < '1' ||
        s[9] > '9' || !is_digit(s[10]) || !is_digit(s[11]) || (n > 12 && s[12] != ' '))
        return false;
    *status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    return true;
}

static bool name_is(const char *name, size_t len, const char *want)
{
    return len == strlen(want) && strncasecmp(name, want, len) == 0;
}

static bool content_length(struct http_head *h, const char *v, size_t n)
{
    if (n == 0 || n > CL_DIGITS_MAX)
        return false;
    int64_t cl = 0;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(v[i]))
            return false;
        cl = cl * 10 + (v[i] - '0');
    }
    if (h->content_length >= 0 && h->content_length != cl)
        return false; /* two different lengths: which one? */
    h->content_length = cl;
    return true;
}

/* Whether the last coding of a Transfer-Encoding list is chunked. */
static bool ends_chunked(const char *v, size_t n)
{
    const size_t k = strlen("chunked");
    if (n < k || strncasecmp(v + n - k, "chunked", k) != 0)
        return false;
    return n == k || v[n - k - 1] == ',' || v[n - k - 1] == ' ' || v[n - k - 1] == '\t';
}

/* One header field line, s[0..n) without the line end, n > 0. */
static bool header_line(struct http_head *h, const char *s, size_t n)
{
    if (s[0] == ' ' || s[0] == '\t')
        return true; /* obsolete folding: continues a field; none we use */
    const char *colon = memchr(s, ':', n);
    if (!colon || colon == s)
        return false;
    size_t nlen = (size_t)(colon - s);
    for (size_t i = 0; i < nlen; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            return false;
    const char *v = colon + 1, *end = s + n;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    size_t vlen = (size_t)(end - v);
    if (name_is(s, nlen, "content-length"))
        return content_length(h, v, vlen);
    if (name_is(s, nlen, "transfer-encoding"))
        h->chunked = ends_chunked(v, vlen); /* the last field's last coding */
    return true;
}

enum http_parse_rc http_head_parse(struct http_head *h, const char *buf, size_t len)
{
    if (h->status == 0 && h->len == 0) { /* reject a wrong start without waiting for a line */
        size_t k = len < 7 ? len : 7;
        if (memcmp(buf, "HTTP/1.", k) != 0)
            return HTTP_PARSE_BAD;
    }
    while (h->len < len) {
        const char *s = buf + h->len;
        const char *nl = memchr(s, '\n', len - h->len);
        if (!nl)
            return HTTP_PARSE_MORE;
        size_t n = (size_t)(nl - s);
        if (n > 0 && s[n - 1] == '\r')
            n--;
        if (h->status == 0) {
            if (!status_line(s, n, &h->status))
                return HTTP_PARSE_BAD;
        } else if (n == 0) {
            h->len = (size_t)(nl + 1 - buf);
            return HTTP_PARSE_DONE;
        } else if (!header_line(h, s, n)) {
            return HTTP_PARSE_BAD;
        }
        h->len = (size_t)(nl + 1 - buf);
    }
    return HTTP_PARSE_MORE;
}

/* ---- the body ---------------------------------------------------------------- */

enum chunk_state {
    CH_SIZE,    /* hex digits of the chunk size */
    CH_EXT,     /* a chunk extension, up to the line end */
    CH_SIZE_LF, /* the LF after the size line's CR */
    CH_DATA,    /* b->left bytes of data */
    CH_DATA_CR, /* the CRLF after the data */
    CH_DATA_LF,
    CH_END, /* the last chunk was seen */
};

void http_body_init(struct http_body *b, const struct http_head *h)
{
    memset(b, 0, sizeof(*b));
    if ((h->status >= 100 && h->status <= 199) || h->status == 204 || h->status == 304) {
        b->mode = HTTP_BODY_NONE;
    } else if (h->chunked) {
        b->mode = HTTP_BODY_CHUNKED;
        b->state = CH_SIZE;
    } else if (h->content_length >= 0) {
        b->mode = HTTP_BODY_LENGTH;
        b->left = (uint64_t)h->content_length;
    } else {
        b->mode = HTTP_BODY_CLOSE;
    }
}

static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c |= 0x20; /* lower case */
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* The size line ended: data follows, or it was the last chunk. */
static void size_line_end(struct http_body *b)
{
    b->state = b->left ? CH_DATA : CH_END;
}

static enum http_parse_rc chunked_feed(struct http_body *b, char *data, size_t n, size_t *out)
{
    size_t i = 0, o = 0;
    while (i < n && b->state != CH_END) {
        unsigned char c = (unsigned char)data[i];
        int v;
        switch (b->state) {
        case CH_SIZE:
            if ((v = hex_value(c)) >= 0) {
                if (++b->digits > CHUNK_DIGITS_MAX)
                    goto bad;
                b->left = b->left << 4 | (uint64_t)v;
            } else if (b->digits == 0) {
                goto bad;
            } else if (c == ';' || c == ' ' || c == '\t') {
                b->state = CH_EXT;
            } else if (c == '\r') {
                b->state = CH_SIZE_LF;
            } else if (c == '\n') {
                size_line_end(b);
            } else {
                goto bad;
            }
            i++;
            break;
        case CH_EXT:
            if (c == '\n')
                size_line_end(b);
            i++;
            break;
        case CH_SIZE_LF:
            if (c != '\n')
                goto bad;
            size_line_end(b);
            i++;
            break;
        case CH_DATA: {
            size_t k = n - i;
            if (k > b->left)
                k = (size_t)b->left;
            memmove(data + o, data + i, k);
            o += k;
            i += k;
            b->left -= k;
            if (b->left == 0)
                b->state = CH_DATA_CR;
            break;
        }
        case CH_DATA_CR:
        case CH_DATA_LF:
            if (c == '\r' && b->state == CH_DATA_CR) {
                b->state = CH_DATA_LF;
            } else if (c == '\n') {
                b->state = CH_SIZE;
                b->digits = 0;
            } else {
                goto bad;
            }
            i++;
            break;
        default:
            goto bad;
        }
    }
    *out = o;
    return b->state == CH_END ? HTTP_PARSE_DONE : HTTP_PARSE_MORE;
bad:
    *out = o;
    return HTTP_PARSE_BAD;
}

enum http_parse_rc http_body_feed(struct http_body *b, char *data, size_t n, size_t *out)
{
    *out = 0;
    switch (b->mode) {
    case HTTP_BODY_NONE:
        return HTTP_PARSE_DONE;
    case HTTP_BODY_LENGTH:
        *out = n < b->left ? n : (size_t)b->left;
        b->left -= *out;
        return b->left == 0 ? HTTP_PARSE_DONE : HTTP_PARSE_MORE;
    case HTTP_BODY_CHUNKED:
        return chunked_feed(b, data, n, out);
    case HTTP_BODY_CLOSE:
        *out = n;
        return HTTP_PARSE_MORE;
    }
    return HTTP_PARSE_BAD;
}
