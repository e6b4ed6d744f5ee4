/* strbuf: a growable, always NUL-terminated string buffer. Out of memory
 * aborts (common/mem.h), so nothing here fails. */
#ifndef MAGLEV_COMMON_STRBUF_H
#define MAGLEV_COMMON_STRBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct strbuf {
    char *buf;  /* NUL-terminated; NULL until something is added */
    size_t len; /* bytes in buf, without the NUL */
    size_t cap; /* bytes allocated */
};

#define STRBUF_INIT                                                                                \
    {                                                                                              \
        0                                                                                          \
    }

void strbuf_add(struct strbuf *sb, const char *data, size_t len);
void strbuf_adds(struct strbuf *sb, const char *s);
void strbuf_addc(struct strbuf *sb, char c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
/* Contents as a C string ("" when empty); valid until the next change. */
const char *strbuf_str(const struct strbuf *sb);
/* Hands the buffer to the caller (free() it); the strbuf is reset. */
char *strbuf_detach(struct strbuf *sb);
void strbuf_reset(struct strbuf *sb);
void strbuf_free(struct strbuf *sb);

#endif
