/* walk.c: typed access to YAML nodes with error reporting — the schema's
 * building blocks. */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/duration.h"
#include "config/config_int.h"

struct config_mark config_mark_of(const struct yt_node *n)
{
    return n ? (struct config_mark){ n->line, n->col } : (struct config_mark){ 0, 0 };
}

void config_err(struct pctx *c, enum config_stage st, const struct yt_node *n, const char *path,
                const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    config_diag_vadd(c->d, st, config_mark_of(n), path, fmt, ap);
    va_end(ap);
}

void config_path_fmt(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, PATH_MAX_LEN, fmt, ap);
    va_end(ap);
}

bool config_walk_unset(const struct yt_node *map, const char *key)
{
    const struct yt_node *v = yt_map_get(map, key);
    return !v || (v->kind == YT_SCALAR && v->is_null);
}

static bool is_empty_node(const struct yt_node *n)
{
    return n && n->kind == YT_SCALAR && n->is_null;
}

const struct yt_node *config_walk_req_node(const struct yt_node *map, const char *key,
                                           const struct yt_node *a, const struct yt_node *b)
{
    const struct yt_node *k = yt_map_key(map, key);
    if (k)
        return k;
    if (a && !is_empty_node(a))
        return a;
    return b ? b : a;
}

size_t config_levenshtein(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return (size_t)-1;
    size_t row[65];
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost =
                tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]) ? 0 : 1;
            size_t best = diag + cost;
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *config_suggest(const char *word, const char *const keys[])
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    size_t limit = strlen(word) / 3 + 1;
    if (limit > 3)
        limit = 3;
    for (size_t i = 0; keys && keys[i]; i++) {
        size_t d = config_levenshtein(word, keys[i]);
        /* a prefix such as "health" for "healthcheck" is a good guess too */
        if (d > limit && strlen(word) >= 3 && strncmp(keys[i], word, strlen(word)) == 0)
            d = limit;
        if (d <= limit && d < best_d) {
            best = keys[i];
            best_d = d;
        }
    }
    return best;
}

static void unknown_key(struct pctx *c, const struct yt_node *key, const char *path,
                        const char *const keys[])
{
    const char *s = config_suggest(key->value, keys);
    if (strcmp(key->value, "<<") == 0) {
        config_err(c, CONFIG_STAGE_STRUCTURE, key, path,
                   "YAML merge keys (<<) are not supported; write the keys out");
    } else if (s) {
        config_err(c, CONFIG_STAGE_STRUCTURE, key, path, "unknown key \"%s\"; did you mean \"%s\"?",
                   key->value, s);
    } else {
        char list[400] = "";
        size_t used = 0;
        for (size_t i = 0; keys[i] && used < sizeof(list); i++)
            used +=
                (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", keys[i]);
        config_err(c, CONFIG_STAGE_STRUCTURE, key, path, "unknown key \"%s\"; expected one of: %s",
                   key->value, list);
    }
}

struct keyref {
    const struct yt_node *key;
    size_t idx;
};

static int cmp_keyref(const void *a, const void *b)
{
    const struct keyref *x = a, *y = b;
    int r = strcmp(x->key->value, y->key->value);
    if (r)
        return r;
    return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void check_duplicates(struct pctx *c, const struct yt_node *n, const char *path)
{
    if (n->n < 2)
        return;
    struct keyref *refs = mem_calloc(n->n, sizeof(*refs));
    for (size_t i = 0; i < n->n; i++)
        refs[i] = (struct keyref){ n->map[i].key, i };
    qsort(refs, n->n, sizeof(*refs), cmp_keyref);
    for (size_t i = 1; i < n->n; i++) {
        if (strcmp(refs[i].key->value, refs[i - 1].key->value) != 0)
            continue;
        size_t first = i - 1;
        while (first > 0 && strcmp(refs[first - 1].key->value, refs[i].key->value) == 0)
            first--;
        config_err(c, CONFIG_STAGE_STRUCTURE, refs[i].key, path,
                   "duplicate key \"%s\" (first defined at line %d); remove one of them",
                   refs[i].key->value, refs[first].key->line);
    }
    free(refs);
}

static const char *kind_article(const struct yt_node *n)
{
    if (n->kind == YT_SCALAR)
        return n->is_null ? "an empty value" : "a scalar";
    return n->kind == YT_MAP ? "a mapping" : "a list";
}

bool config_walk_map(struct pctx *c, const struct yt_node *n, const char *path, const char *what,
                     const char *const keys[])
{
    if (!n || (n->kind == YT_SCALAR && n->is_null))
        return true;
    if (n->kind != YT_MAP) {
        if (n->kind == YT_SCALAR)
            config_err(c, CONFIG_STAGE_STRUCTURE, n, path, "expected %s (a mapping), got \"%s\"",
                       what, n->value);
        else
            config_err(c, CONFIG_STAGE_STRUCTURE, n, path, "expected %s (a mapping), got %s", what,
                       kind_article(n));
        return false;
    }
    check_duplicates(c, n, path);
    if (keys) {
        for (size_t i = 0; i < n->n; i++) {
            bool known = false;
            for (size_t k = 0; keys[k] && !known; k++)
                known = strcmp(n->map[i].key->value, keys[k]) == 0;
            if (!known)
                unknown_key(c, n->map[i].key, path, keys);
        }
    }
    return true;
}

/* Returns the scalar value node for key, or NULL if absent/null/not scalar. */
static const struct yt_node *scalar_of(struct pctx *c, const struct yt_node *map, const char *path,
                                       const char *key, const char *type)
{
    const struct yt_node *v = yt_map_get(map, key);
    if (!v || (v->kind == YT_SCALAR && v->is_null))
        return NULL;
    if (v->kind != YT_SCALAR) {
        config_err(c, CONFIG_STAGE_STRUCTURE, v, path, "%s: expected %s, got %s", key, type,
                   kind_article(v));
        return NULL;
    }
    if (strlen(v->value) != v->len) {
        config_err(c, CONFIG_STAGE_STRUCTURE, v, path, "%s: value contains a NUL byte", key);
        return NULL;
    }
    return v;
}

const struct yt_node *config_walk_str(struct pctx *c, const struct yt_node *map, const char *path,
                                      const char *key, char **out)
{
    const struct yt_node *v = scalar_of(c, map, path, key, "a string");
    if (v) {
        free(*out);
        *out = mem_strdup(v->value);
    }
    return v;
}

static int parse_ll(const char *s, long long *out)
{
    const char *p = s;
    if (*p == '+' || *p == '-')
        p++;
    if (!isdigit((unsigned char)*p))
        return -EINVAL;
    for (const char *q = p; *q; q++)
        if (!isdigit((unsigned char)*q))
            return -EINVAL;
    errno = 0;
    long long v = strtoll(s, NULL, 10);
    if (errno == ERANGE)
        return -ERANGE;
    *out = v;
    return 0;
}

bool config_walk_node_int(struct pctx *c, const struct yt_node *n, const char *path,
                          const char *what, long long *out)
{
    if (n->kind != YT_SCALAR || n->is_null) {
        config_err(c, CONFIG_STAGE_STRUCTURE, n, path, "%s: expected an integer, got %s", what,
                   kind_article(n));
        return false;
    }
    int rc = n->quoted ? -EINVAL : parse_ll(n->value, out);
    if (rc == -ERANGE) {
        config_err(c, CONFIG_STAGE_STRUCTURE, n, path, "%s: integer %s is too large", what,
                   n->value);
        return false;
    }
    if (rc < 0) {
        config_err(c, CONFIG_STAGE_STRUCTURE, n, path, "%s: expected an integer, got %s\"%s\"",
                   what, n->quoted ? "the string " : "", n->value);
        return false;
    }
    return true;
}

const struct yt_node *config_walk_int(struct pctx *c, const struct yt_node *map, const char *path,
                                      const char *key, long long *out)
{
    const struct yt_node *v = yt_map_get(map, key);
    if (!v || (v->kind == YT_SCALAR && v->is_null))
        return NULL;
    return config_walk_node_int(c, v, path, key, out) ? v : NULL;
}

const struct yt_node *config_walk_bool(struct pctx *c, const struct yt_node *map, const char *path,
                                       const char *key, bool *out)
{
    const struct yt_node *v = scalar_of(c, map, path, key, "true or false");
    if (!v)
        return NULL;
    const char *s = v->value;
    if (!v->quoted && (!strcmp(s, "true") || !strcmp(s, "True") || !strcmp(s, "TRUE"))) {
        *out = true;
        return v;
    }
    if (!v->quoted && (!strcmp(s, "false") || !strcmp(s, "False") || !strcmp(s, "FALSE"))) {
        *out = false;
        return v;
    }
    config_err(c, CONFIG_STAGE_STRUCTURE, v, path, "%s: expected true or false, got %s\"%s\"", key,
               v->quoted ? "the string " : "", s);
    return NULL;
}

const struct yt_node *config_walk_duration(struct pctx *c, const struct yt_node *map,
                                           const char *path, const char *key, int64_t *out)
{
    const struct yt_node *v = scalar_of(c, map, path, key, "a duration");
    if (!v)
        return NULL;
    int rc = duration_parse(v->value, out);
    if (rc == -EDOM)
        config_err(c, CONFIG_STAGE_STRUCTURE, v, path,
                   "%s: \"%s\" is a bare number; a duration needs a unit, e.g. \"%ss\" or \"%sms\"",
                   key, v->value, v->value, v->value);
    else if (rc == -ERANGE)
        config_err(c, CONFIG_STAGE_STRUCTURE, v, path, "%s: duration \"%s\" is too large", key,
                   v->value);
    else if (rc < 0)
        config_err(c, CONFIG_STAGE_STRUCTURE, v, path,
                   "%s: \"%s\" is not a duration; use a number with a unit (ns, us, ms, s, m, h), "
                   "e.g. \"2s\", \"200ms\" or \"1m30s\"",
                   key, v->value);
    return rc < 0 ? NULL : v;
}

const struct yt_node *config_walk_ip(struct pctx *c, enum config_stage st,
                                     const struct yt_node *map, const char *path, const char *key,
                                     struct ip_addr *out)
{
    const struct yt_node *v = scalar_of(c, map, path, key, "an IP address");
    if (!v)
        return NULL;
    if (ip_addr_parse(v->value, out) < 0) {
        config_err(c, st, v, path, "%s: \"%s\" is not an IPv4 or IPv6 address", key, v->value);
        return NULL;
    }
    return v;
}

bool config_walk_name(struct pctx *c, const struct yt_node *key, const char *path, const char *what)
{
    const char *s = key->value;
    size_t len = strlen(s);
    bool ok = len > 0 && len <= CONFIG_NAME_MAX && len == key->len && isalnum((unsigned char)s[0]);
    for (size_t i = 0; ok && i < len; i++)
        ok = isalnum((unsigned char)s[i]) || s[i] == '-' || s[i] == '_' || s[i] == '.';
    if (!ok)
        config_err(
            c, CONFIG_STAGE_SEMANTIC, key, path,
            "invalid %s name \"%s\": use 1..%d letters, digits, '-', '_' or '.', starting with "
            "a letter or digit",
            what, s, CONFIG_NAME_MAX);
    return ok;
}

const struct yt_node *config_walk_percent(struct pctx *c, const struct yt_node *map,
                                          const char *path, const char *key, uint8_t *out)
{
    const struct yt_node *v = scalar_of(c, map, path, key, "a percentage");
    if (!v)
        return NULL;
    char digits[8] = "";
    size_t n = strlen(v->value);
    bool pct = n > 0 && v->value[n - 1] == '%';
    if (pct)
        n--;
    if (n > 0 && n < sizeof(digits) && (pct || !v->quoted)) {
        memcpy(digits, v->value, n);
        digits[n] = '\0';
    }
    long long x;
    if (!digits[0] || digits[0] == '+' || digits[0] == '-' || parse_ll(digits, &x) < 0) {
        config_err(c, CONFIG_STAGE_STRUCTURE, v, path,
                   "%s: expected a percentage from 0 to 100 such as 50%% (or 50), got \"%s\"", key,
                   v->value);
        return NULL;
    }
    if (x > 100) {
        config_err(c, CONFIG_STAGE_SEMANTIC, v, path,
                   "%s %lld%% out of range 0..100%%; use 0 to turn it off", key, x);
        return NULL;
    }
    *out = (uint8_t)x;
    return v;
}

bool config_walk_range(struct pctx *c, enum config_stage st, const struct yt_node *n,
                       const char *path, const char *key, long long v, long long lo, long long hi)
{
    if (v >= lo && v <= hi)
        return true;
    config_err(c, st, n, path, "%s %lld out of range %lld..%lld", key, v, lo, hi);
    return false;
}

bool config_walk_duration_range(struct pctx *c, enum config_stage st, const struct yt_node *n,
                                const char *path, const char *key, int64_t v, int64_t lo,
                                int64_t hi)
{
    char a[DURATION_BUFSZ], b[DURATION_BUFSZ];
    if (v < lo) {
        config_err(c, st, n, path, "%s %s is below the minimum %s", key,
                   duration_format(v, a, sizeof(a)), duration_format(lo, b, sizeof(b)));
        return false;
    }
    if (v > hi) {
        config_err(c, st, n, path, "%s %s is above the maximum %s", key,
                   duration_format(v, a, sizeof(a)), duration_format(hi, b, sizeof(b)));
        return false;
    }
    return true;
}

const struct yt_node *config_walk_slow_start(struct pctx *c, const struct yt_node *map,
                                             const char *path, int64_t *out)
{
    int64_t v = 0;
    const struct yt_node *n = config_walk_duration(c, map, path, "slow-start", &v);
    if (!n)
        return NULL;
    char a[DURATION_BUFSZ];
    if (v < 0 || (v > 0 && v < CONFIG_SLOW_START_MIN)) {
        /* a ramp steps at most once a second: below that there is no ramp */
        config_err(c, CONFIG_STAGE_SEMANTIC, n, path,
                   "slow-start %s is below the minimum 1s (the weight steps at most once a "
                   "second); use at least 1s, or 0 to turn slow start off",
                   duration_format(v, a, sizeof(a)));
        return NULL;
    }
    if (v > CONFIG_SLOW_START_MAX) {
        config_err(c, CONFIG_STAGE_SEMANTIC, n, path,
                   "slow-start %s is above the maximum 1h; use a shorter ramp",
                   duration_format(v, a, sizeof(a)));
        return NULL;
    }
    *out = v;
    return n;
}

bool config_walk_nonempty(struct pctx *c, const struct yt_node *n, const char *path,
                          const char *key)
{
    if (n->len > 0)
        return true;
    config_err(c, CONFIG_STAGE_SEMANTIC, n, path, "%s is empty; give a value or remove the key",
               key);
    return false;
}

/* Length of a Unicode line break or C1 control at p (NEL, LS, PS, U+0080..U+009F), else 0. */
static int unicode_break_len(const unsigned char *p)
{
    if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f)
        return 2;
    if (p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 || p[2] == 0xa9))
        return 3;
    return 0;
}

bool config_walk_token(struct pctx *c, const struct yt_node *n, const char *path, const char *key,
                       const char *s, bool allow_space)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f || unicode_break_len(p) || (!allow_space && *p == ' ')) {
            config_err(c, CONFIG_STAGE_SEMANTIC, n, path, "%s \"%s\" must not contain %s", key, s,
                       *p == ' ' ? "spaces" : "control characters");
            return false;
        }
    }
    return true;
}
