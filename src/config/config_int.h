/* Internal to src/config: the loader's context and the typed accessors
 * ("schema" helpers) shared by the section parsers. */
#ifndef MAGLEV_CONFIG_CONFIG_INT_H
#define MAGLEV_CONFIG_CONFIG_INT_H

#include <stdarg.h>

#include "common/mem.h"
#include "common/strbuf.h"
#include "config/config.h"
#include "config/yamltree.h"

#define PATH_MAX_LEN 512

struct pctx {
    struct config_diags *d;
    struct maglev_config *cfg;
    const struct yt_node *maglev; /* the maglev: mapping, for marks */
};

/* diag.c */
void config_diag_add(struct config_diags *d, enum config_stage stage, struct config_mark mark,
                     const char *path, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void config_diag_vadd(struct config_diags *d, enum config_stage stage, struct config_mark mark,
                      const char *path, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));
/* Keeps only the errors of the earliest failing stage; sets d->stage. */
void config_diag_settle(struct config_diags *d);
/* Appends s with control characters and Unicode line breaks escaped
 * (\n \r \t \xNN \uNNNN): valid inside a YAML double-quoted string and
 * safe on one log line. '"' and '\\' are escaped only when quote is set. */
void config_esc_add(struct strbuf *sb, const char *s, bool quote);

/* walk.c (config_walk_*: typed access to YAML nodes): every accessor
 * reports problems itself. */
/* Formats an object path into buf (PATH_MAX_LEN bytes), truncating. */
void config_path_fmt(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
struct config_mark config_mark_of(const struct yt_node *n);
void config_err(struct pctx *c, enum config_stage st, const struct yt_node *n, const char *path,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* Checks n is a mapping (a null value counts as an empty one) whose keys are
 * all in keys[] (NULL-terminated) and unique; returns false if n is not a
 * mapping. keys may be NULL for a mapping of names (only duplicates
 * checked). */
bool config_walk_map(struct pctx *c, const struct yt_node *n, const char *path, const char *what,
                     const char *const keys[]);
/* Accessors return the value node when the key is present, non-null and of
 * the right type; NULL otherwise (absent, null, or reported as wrong). */
const struct yt_node *config_walk_str(struct pctx *c, const struct yt_node *map, const char *path,
                                      const char *key, char **out);
const struct yt_node *config_walk_int(struct pctx *c, const struct yt_node *map, const char *path,
                                      const char *key, long long *out);
const struct yt_node *config_walk_bool(struct pctx *c, const struct yt_node *map, const char *path,
                                       const char *key, bool *out);
const struct yt_node *config_walk_duration(struct pctx *c, const struct yt_node *map,
                                           const char *path, const char *key, int64_t *out);
/* Parses an address; a malformed one is reported at stage st. */
const struct yt_node *config_walk_ip(struct pctx *c, enum config_stage st,
                                     const struct yt_node *map, const char *path, const char *key,
                                     struct ip_addr *out);
/* Scalar integer node -> value; reports and returns false when it is not. */
bool config_walk_node_int(struct pctx *c, const struct yt_node *n, const char *path,
                          const char *what, long long *out);
/* Checks an object name (map key); reports a semantic error if invalid. */
bool config_walk_name(struct pctx *c, const struct yt_node *key, const char *path,
                      const char *what);
/* A percentage 0..100: "50%" or 50 (an integer); reports a malformed one
 * (structure) or one above 100 (semantic). */
const struct yt_node *config_walk_percent(struct pctx *c, const struct yt_node *map,
                                          const char *path, const char *key, uint8_t *out);
/* A value range check reported as "<key> <value> out of range lo..hi". */
bool config_walk_range(struct pctx *c, enum config_stage st, const struct yt_node *n,
                       const char *path, const char *key, long long v, long long lo, long long hi);
/* A duration bound check: "<key> <v> is below the minimum <lo>" etc. */
bool config_walk_duration_range(struct pctx *c, enum config_stage st, const struct yt_node *n,
                                const char *path, const char *key, int64_t v, int64_t lo,
                                int64_t hi);
/* slow-start of map (a backend or a healthcheck): 0 (off) or a duration
 * in CONFIG_SLOW_START_MIN..MAX; reports one outside. Its node or NULL. */
const struct yt_node *config_walk_slow_start(struct pctx *c, const struct yt_node *map,
                                             const char *path, int64_t *out);
/* Strings that go on the wire: no control characters or spaces. */
bool config_walk_token(struct pctx *c, const struct yt_node *n, const char *path, const char *key,
                       const char *s, bool allow_space);
/* True when key is absent or has an empty value: "required" applies. */
bool config_walk_unset(const struct yt_node *map, const char *key);
/* Where to point for "key is required": the key when present (with an
 * empty value), else the first non-null of a and b. */
const struct yt_node *config_walk_req_node(const struct yt_node *map, const char *key,
                                           const struct yt_node *a, const struct yt_node *b);
/* A quoted "" where a value is needed: reported, returns false. */
bool config_walk_nonempty(struct pctx *c, const struct yt_node *n, const char *path,
                          const char *key);
size_t config_levenshtein(const char *a, const char *b);
const char *config_suggest(const char *word, const char *const keys[]);

/* parse_health.c, parse_lb.c, parse_vpp.c */
void config_parse_healthchecker(struct pctx *c, const struct yt_node *n);
void config_parse_healthchecks(struct pctx *c, const struct yt_node *n);
void config_parse_backends(struct pctx *c, const struct yt_node *n);
void config_parse_frontends(struct pctx *c, const struct yt_node *n);
void config_parse_vpp(struct pctx *c, const struct yt_node *n);

/* config.c */
int config_cmp_name(const void *a, const void *b); /* struct whose first member is char *name */

#endif
