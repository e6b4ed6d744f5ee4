/* yamltree: a small YAML document tree built from libyaml events, with hard
 * limits (input size, nesting depth, node count, alias expansion) so hostile
 * input costs bounded memory and time. Internal to src/config. */
#ifndef MAGLEV_CONFIG_YAMLTREE_H
#define MAGLEV_CONFIG_YAMLTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define YT_MAX_INPUT     (16u * 1024 * 1024) /* bytes */
#define YT_MAX_DEPTH     64
#define YT_MAX_NODES     1000000
#define YT_MAX_EXPANSION 1000000 /* nodes counted through aliases */

enum yt_kind { YT_SCALAR, YT_MAP, YT_SEQ };

struct yt_node;

struct yt_pair {
    struct yt_node *key;
    struct yt_node *value;
};

struct yt_node {
    enum yt_kind kind;
    int line, col; /* 1-based */
    bool quoted;   /* scalar was quoted or block-literal, or tagged !!str */
    bool is_null;  /* plain scalar "", "~", "null", "Null", "NULL" */
    char *value;   /* scalar bytes, NUL-terminated (may contain NULs) */
    size_t len;
    size_t n;            /* pairs (MAP) or items (SEQ) */
    struct yt_pair *map; /* MAP */
    struct yt_node **seq;
    uint64_t weight; /* nodes reachable through this one, aliases counted */
};

struct yt_doc {
    struct yt_node *root; /* NULL for an empty document */
    struct yt_node **all; /* every node, for freeing */
    size_t n_all, cap_all;
};

struct yt_error {
    int line, col; /* 0 when unknown */
    char msg[320];
};

/* Parses one YAML document from data. Returns 0, or -EINVAL with err set
 * (-ENOMEM when libyaml cannot set up its parser). */
int yt_parse(const char *data, size_t len, struct yt_doc *doc, struct yt_error *err);
void yt_free(struct yt_doc *doc);

/* Map lookup by key text (first match); NULL when absent. */
struct yt_node *yt_map_get(const struct yt_node *map, const char *key);
/* The key node itself; NULL when absent. */
struct yt_node *yt_map_key(const struct yt_node *map, const char *key);
const char *yt_kind_name(const struct yt_node *n);

#endif
