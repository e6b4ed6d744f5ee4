/* Internal to src/health: pure HTTP/1.x response parsing for the native
 * http probe (probe_http_native.c). No I/O, no allocation.
 *
 * The head (status line and header fields) is parsed from one buffer that
 * holds the response from its first byte and grows between calls; only
 * complete lines are read, each once. The body is then fed as it arrives
 * and decoded in place: chunk framing removed, bytes past its end dropped. */
#ifndef MAGLEV_HEALTH_HTTP_PARSE_H
#define MAGLEV_HEALTH_HTTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum http_parse_rc {
    HTTP_PARSE_MORE, /* complete so far, needs more bytes */
    HTTP_PARSE_DONE, /* the head (or the body) is complete */
    HTTP_PARSE_BAD,  /* not an HTTP/1.x response, or malformed */
};

struct http_head {
    int status;             /* 0 until the status line is complete */
    size_t len;             /* bytes parsed; once DONE, where the body starts */
    int64_t content_length; /* -1 = none */
    bool chunked;           /* Transfer-Encoding ends with "chunked" */
};

void http_head_init(struct http_head *h);

/* Parses buf[0..len), the response from its first byte; len may only grow
 * between calls. The status line must be "HTTP/1.x NNN" (NNN from 100)
 * followed by the end of the line or a space and a reason; anything else
 * is BAD, as soon as the first bytes show it. Lines end with CRLF or LF.
 * h->status is set as soon as the status line is complete, even when MORE
 * or BAD (a bad header further on) is returned. DONE once the empty line
 * ending the head is in. */
enum http_parse_rc http_head_parse(struct http_head *h, const char *buf, size_t len);

/* An interim response (1xx but 101), to be skipped for the one after it. */
bool http_status_interim(int status);

enum http_body_mode {
    HTTP_BODY_NONE,    /* no body: 1xx, 204, 304 */
    HTTP_BODY_LENGTH,  /* Content-Length */
    HTTP_BODY_CHUNKED, /* Transfer-Encoding: chunked */
    HTTP_BODY_CLOSE,   /* until the server closes */
};

struct http_body {
    enum http_body_mode mode;
    uint64_t left; /* LENGTH: bytes still to come; CHUNKED: of this chunk */
    int state;     /* CHUNKED: where in the framing */
    int digits;    /* CHUNKED: hex digits of the chunk size so far */
};

/* The body following head h (complete) in a response to a GET. */
void http_body_init(struct http_body *b, const struct http_head *h);

/* Takes the next n bytes received after the head, at data; leaves the body
 * bytes among them at data[0..*out). DONE when the body is complete (with
 * chunked, at the last chunk: trailers are not waited for), MORE when more
 * is to come (always, until the close, for HTTP_BODY_CLOSE), BAD on a
 * malformed chunk. n may be 0. */
enum http_parse_rc http_body_feed(struct http_body *b, char *data, size_t n, size_t *out);

#endif
