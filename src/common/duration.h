/* duration: Go-style duration strings ("200ms", "1m30s", "1.5h") <-> nanoseconds. */
#ifndef MAGLEV_COMMON_DURATION_H
#define MAGLEV_COMMON_DURATION_H

#include <stddef.h>
#include <stdint.h>

#define DURATION_NS  INT64_C(1)
#define DURATION_US  INT64_C(1000)
#define DURATION_MS  INT64_C(1000000)
#define DURATION_SEC INT64_C(1000000000)
#define DURATION_MIN (60 * DURATION_SEC)
#define DURATION_H   (60 * DURATION_MIN)

#define DURATION_BUFSZ 40

/* Parses like Go's time.ParseDuration: an optional sign, then one or more
 * decimal numbers (with optional fraction) each followed by a unit: ns, us,
 * µs (U+00B5 or U+03BC), ms, s, m, h. "0" alone is zero.
 * Returns 0, -EINVAL (malformed), -EDOM (a bare number other than 0: a unit
 * is missing), or -ERANGE (outside int64 nanoseconds). */
int duration_parse(const char *s, int64_t *ns_out);

/* Formats like Go's Duration.String(): "1h2m3.5s", "1.5s", "200ms", "1µs",
 * "0s". buf must hold DURATION_BUFSZ bytes; returns buf. */
char *duration_format(int64_t ns, char *buf, size_t len);

#endif
