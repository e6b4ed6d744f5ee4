/* log: structured logging (logfmt text or JSON lines) to stderr.
 *
 * A record is a time, a level, an event name (msg=...) and typed key=value
 * fields:
 *
 *     log_info("config-loaded", LOG_STR("path", path), LOG_INT("backends", n));
 *
 * Text:  time=2026-11-24T07:14:17.123Z level=info msg=config-loaded path=/x backends=3
 * JSON:  {"time":"2026-11-24T07:14:17.123Z","level":"info","msg":"config-loaded",...}
 *
 * Text values that are empty or contain a space, '"', '=', '\\' or a control
 * character are double-quoted with \" \\ \n \r \t and \u00XX escapes, so every
 * line parses as logfmt. Each record is written with one write(2) call, so
 * records from several threads never interleave.
 */
#ifndef MAGLEV_COMMON_LOG_H
#define MAGLEV_COMMON_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

enum log_kv_type { LOG_KV_END, LOG_KV_STR, LOG_KV_INT, LOG_KV_UINT, LOG_KV_BOOL, LOG_KV_DOUBLE };

struct log_kv {
    const char *key;
    enum log_kv_type type;
    union {
        const char *s; /* NULL logs as an empty string */
        int64_t i;
        uint64_t u;
        bool b;
        double d;
    } v;
};

#define LOG_STR(k, x)    ((struct log_kv){ .key = (k), .type = LOG_KV_STR, .v.s = (x) })
#define LOG_INT(k, x)    ((struct log_kv){ .key = (k), .type = LOG_KV_INT, .v.i = (int64_t)(x) })
#define LOG_UINT(k, x)   ((struct log_kv){ .key = (k), .type = LOG_KV_UINT, .v.u = (uint64_t)(x) })
#define LOG_BOOL(k, x)   ((struct log_kv){ .key = (k), .type = LOG_KV_BOOL, .v.b = (x) })
#define LOG_DOUBLE(k, x) ((struct log_kv){ .key = (k), .type = LOG_KV_DOUBLE, .v.d = (x) })
#define LOG_END_KV       ((struct log_kv){ .key = NULL, .type = LOG_KV_END })

/* One formatted record, handed to the hook: the daemon's is the gRPC
 * WatchEvents stream's (src/api/events.c), which sends records as log
 * events to the clients that asked for them. */
struct log_record {
    int64_t time_us; /* wall clock, microseconds since the epoch */
    enum log_level level;
    const char *event;
    const struct log_kv *fields; /* terminated by LOG_KV_END */
    const char *line;            /* the record as written, without newline */
};
typedef void (*log_hook_fn)(const struct log_record *rec, void *ctx);

/* Parse "debug"|"info"|"warn"|"warning"|"error" (any case); 0 or -EINVAL. */
int log_level_parse(const char *s, enum log_level *out);
/* Parse "text"|"logfmt"|"json"; 0 or -EINVAL. */
int log_format_parse(const char *s, enum log_format *out);
const char *log_level_name(enum log_level level);

/* Defaults: info, text, fd 2. */
void log_setup(enum log_level min_level, enum log_format format, int fd);
bool log_enabled(enum log_level level);
/* Called for every record at or above its own level, whatever the output
 * level. One hook; NULL removes it. */
void log_set_hook(log_hook_fn fn, void *ctx, enum log_level min_level);

/* fields is terminated by an entry of type LOG_KV_END. */
void log_write(enum log_level level, const char *event, const struct log_kv *fields);
/* Formats a record into buf (without newline); returns the length it needed,
 * like snprintf. Used by log_write and by tests. */
size_t log_format_record(char *buf, size_t len, enum log_format format, int64_t time_us,
                         enum log_level level, const char *event, const struct log_kv *fields);

#define LOG_AT(lvl, event, ...)                                                                    \
    do {                                                                                           \
        if (log_enabled(lvl))                                                                      \
            log_write((lvl), (event),                                                              \
                      (const struct log_kv[]){ __VA_ARGS__ __VA_OPT__(, ) LOG_END_KV });           \
    } while (0)

#define log_debug(event, ...) LOG_AT(LOG_LEVEL_DEBUG, event, __VA_ARGS__)
#define log_info(event, ...)  LOG_AT(LOG_LEVEL_INFO, event, __VA_ARGS__)
#define log_warn(event, ...)  LOG_AT(LOG_LEVEL_WARN, event, __VA_ARGS__)
#define log_error(event, ...) LOG_AT(LOG_LEVEL_ERROR, event, __VA_ARGS__)

#endif
