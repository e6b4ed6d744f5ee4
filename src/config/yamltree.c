#include "config/yamltree.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "common/mem.h"

#define ANCHOR_BUCKETS 1024

struct anchor {
    char *name;
    struct yt_node *node;
    struct anchor *next;
};

struct frame {
    struct yt_node *node;
    struct yt_node *key; /* MAP: key waiting for its value */
    size_t cap;
};

struct builder {
    struct yt_doc *doc;
    struct yt_error *err;
    struct frame stack[YT_MAX_DEPTH];
    int depth;
    struct anchor *anchors[ANCHOR_BUCKETS];
    int documents;
};

static int fail(struct builder *b, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct builder *b, int line, int col, const char *fmt, ...)
{
    va_list ap;
    b->err->line = line;
    b->err->col = col;
    va_start(ap, fmt);
    vsnprintf(b->err->msg, sizeof(b->err->msg), fmt, ap);
    va_end(ap);
    return -EINVAL;
}

static unsigned anchor_hash(const char *s)
{
    unsigned h = 2166136261u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h % ANCHOR_BUCKETS;
}

static void anchor_add(struct builder *b, const char *name, struct yt_node *node)
{
    struct anchor *a = mem_calloc(1, sizeof(*a));
    a->name = mem_strdup(name);
    unsigned h = anchor_hash(name);
    a->node = node;
    a->next = b->anchors[h]; /* newest first: a redefined anchor wins */
    b->anchors[h] = a;
}

static struct yt_node *anchor_find(struct builder *b, const char *name)
{
    for (struct anchor *a = b->anchors[anchor_hash(name)]; a; a = a->next)
        if (strcmp(a->name, name) == 0)
            return a->node;
    return NULL;
}

static void anchors_free(struct builder *b)
{
    for (int i = 0; i < ANCHOR_BUCKETS; i++) {
        struct anchor *a = b->anchors[i];
        while (a) {
            struct anchor *next = a->next;
            free(a->name);
            free(a);
            a = next;
        }
    }
}

static struct yt_node *node_new(struct builder *b, enum yt_kind kind, const yaml_mark_t *mark)
{
    struct yt_doc *d = b->doc;
    int line = (int)mark->line + 1, col = (int)mark->column + 1;
    if (d->n_all >= YT_MAX_NODES) {
        fail(b, line, col, "document has more than %d nodes; refusing to load it", YT_MAX_NODES);
        return NULL;
    }
    if (d->n_all == d->cap_all) {
        d->cap_all = d->cap_all ? d->cap_all * 2 : 256;
        d->all = mem_realloc(d->all, d->cap_all * sizeof(*d->all));
    }
    struct yt_node *n = mem_calloc(1, sizeof(*n));
    n->kind = kind;
    n->line = line;
    n->col = col;
    n->weight = 1;
    d->all[d->n_all++] = n;
    return n;
}

/* Only the standard tags that fit the node: !!str !!int !!bool !!null
 * !!float on scalars, !!seq on lists, !!map on mappings. */
static int check_tag(struct builder *b, const yaml_char_t *tag, const yaml_mark_t *mark,
                     enum yt_kind kind)
{
    static const char *const scalar_tags[] = { "str", "int", "bool", "null", "float", NULL };
    const char *t = (const char *)tag;
    if (!t || strcmp(t, "!") == 0)
        return 0;
    if (strncmp(t, "tag:yaml.org,2002:", 18) == 0) {
        const char *name = t + 18;
        bool ok = false;
        if (kind == YT_SCALAR)
            for (int i = 0; scalar_tags[i] && !ok; i++)
                ok = strcmp(name, scalar_tags[i]) == 0;
        else
            ok = strcmp(name, kind == YT_SEQ ? "seq" : "map") == 0;
        if (ok)
            return 0;
        return fail(b, (int)mark->line + 1, (int)mark->column + 1,
                    "YAML tag !!%s does not fit a %s here; remove it", name,
                    kind == YT_SCALAR ? "scalar"
                    : kind == YT_SEQ  ? "list"
                                      : "mapping");
    }
    return fail(b, (int)mark->line + 1, (int)mark->column + 1,
                "unsupported YAML tag \"%s\"; remove it", t);
}

static bool is_open(struct builder *b, const struct yt_node *n)
{
    for (int i = 0; i < b->depth; i++)
        if (b->stack[i].node == n)
            return true;
    return false;
}

/* Attaches a finished node (or an alias target) to the open parent. */
static int attach(struct builder *b, struct yt_node *n)
{
    if (b->depth == 0) {
        b->doc->root = n;
        return 0;
    }
    struct frame *f = &b->stack[b->depth - 1];
    struct yt_node *p = f->node;
    p->weight += n->weight;
    if (p->weight > YT_MAX_EXPANSION)
        return fail(b, n->line, n->col,
                    "document expands to more than %d nodes through aliases "
                    "(a YAML alias bomb?); refusing to load it",
                    YT_MAX_EXPANSION);
    if (p->kind == YT_MAP && !f->key) {
        if (n->kind != YT_SCALAR)
            return fail(b, n->line, n->col, "mapping keys must be plain strings, not a %s",
                        yt_kind_name(n));
        f->key = n;
        return 0;
    }
    if (p->n == f->cap) {
        f->cap = f->cap ? f->cap * 2 : 8;
        if (p->kind == YT_MAP)
            p->map = mem_realloc(p->map, f->cap * sizeof(*p->map));
        else
            p->seq = mem_realloc(p->seq, f->cap * sizeof(*p->seq));
    }
    if (p->kind == YT_MAP) {
        p->map[p->n].key = f->key;
        p->map[p->n].value = n;
        f->key = NULL;
    } else {
        p->seq[p->n] = n;
    }
    p->n++;
    return 0;
}

static int on_scalar(struct builder *b, const yaml_event_t *ev)
{
    if (check_tag(b, ev->data.scalar.tag, &ev->start_mark, YT_SCALAR) < 0)
        return -EINVAL;
    struct yt_node *n = node_new(b, YT_SCALAR, &ev->start_mark);
    if (!n)
        return -EINVAL;
    n->len = ev->data.scalar.length;
    n->value = mem_alloc(n->len + 1);
    memcpy(n->value, ev->data.scalar.value, n->len);
    n->value[n->len] = '\0';
    const char *tag = (const char *)ev->data.scalar.tag;
    n->quoted = ev->data.scalar.style != YAML_PLAIN_SCALAR_STYLE ||
                (tag && strcmp(tag, "tag:yaml.org,2002:str") == 0);
    if (!n->quoted) {
        static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };
        for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
            if (strcmp(n->value, nulls[i]) == 0 && n->len == strlen(nulls[i]))
                n->is_null = true;
    }
    if (ev->data.scalar.anchor)
        anchor_add(b, (const char *)ev->data.scalar.anchor, n);
    return attach(b, n);
}

static int on_start(struct builder *b, const yaml_event_t *ev, enum yt_kind kind)
{
    const yaml_char_t *anchor, *tag;
    if (kind == YT_MAP) {
        anchor = ev->data.mapping_start.anchor;
        tag = ev->data.mapping_start.tag;
    } else {
        anchor = ev->data.sequence_start.anchor;
        tag = ev->data.sequence_start.tag;
    }
    if (check_tag(b, tag, &ev->start_mark, kind) < 0)
        return -EINVAL;
    if (b->depth >= YT_MAX_DEPTH)
        return fail(b, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                    "nesting deeper than %d levels; refusing to load it", YT_MAX_DEPTH);
    struct yt_node *n = node_new(b, kind, &ev->start_mark);
    if (!n)
        return -EINVAL;
    if (anchor)
        anchor_add(b, (const char *)anchor, n);
    b->stack[b->depth++] = (struct frame){ .node = n };
    return 0;
}

static int on_end(struct builder *b)
{
    struct yt_node *n = b->stack[--b->depth].node;
    return attach(b, n);
}

static int on_alias(struct builder *b, const yaml_event_t *ev)
{
    const char *name = (const char *)ev->data.alias.anchor;
    int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1;
    struct yt_node *target = anchor_find(b, name);
    if (!target)
        return fail(b, line, col, "alias *%s refers to no anchor defined before it", name);
    if (is_open(b, target))
        return fail(b, line, col, "alias *%s refers to a node that contains it (a cycle)", name);
    return attach(b, target);
}

static int on_event(struct builder *b, const yaml_event_t *ev)
{
    switch (ev->type) {
    case YAML_DOCUMENT_START_EVENT:
        if (++b->documents > 1)
            return fail(b, (int)ev->start_mark.line + 1, (int)ev->start_mark.column + 1,
                        "a second YAML document starts here; the config must be one document");
        return 0;
    case YAML_SCALAR_EVENT:
        return on_scalar(b, ev);
    case YAML_SEQUENCE_START_EVENT:
        return on_start(b, ev, YT_SEQ);
    case YAML_MAPPING_START_EVENT:
        return on_start(b, ev, YT_MAP);
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT:
        return on_end(b);
    case YAML_ALIAS_EVENT:
        return on_alias(b, ev);
    default:
        return 0;
    }
}

static int syntax_error(struct builder *b, const yaml_parser_t *p)
{
    const char *problem = p->problem ? p->problem : "unknown problem";
    if (p->error == YAML_MEMORY_ERROR)
        return fail(b, 0, 0, "out of memory while parsing YAML");
    if (p->context)
        return fail(b, (int)p->problem_mark.line + 1, (int)p->problem_mark.column + 1,
                    "YAML syntax error: %s %s (started at line %zu, column %zu)", problem,
                    p->context, p->context_mark.line + 1, p->context_mark.column + 1);
    if (p->error == YAML_READER_ERROR)
        return fail(b, 0, 0, "YAML syntax error: %s at byte offset %zu (is this a text file?)",
                    problem, p->problem_offset);
    return fail(b, (int)p->problem_mark.line + 1, (int)p->problem_mark.column + 1,
                "YAML syntax error: %s", problem);
}

int yt_parse(const char *data, size_t len, struct yt_doc *doc, struct yt_error *err)
{
    memset(doc, 0, sizeof(*doc));
    memset(err, 0, sizeof(*err));
    struct builder *b = mem_calloc(1, sizeof(*b));
    b->doc = doc;
    b->err = err;
    if (len > YT_MAX_INPUT) {
        fail(b, 0, 0, "file is %zu bytes, larger than the %u MiB limit", len,
             YT_MAX_INPUT / (1024 * 1024));
        free(b);
        return -EINVAL;
    }
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) { /* libyaml's own allocation failed */
        free(b);
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return -ENOMEM;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
    int rc = 0;
    for (;;) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&p, &ev)) {
            rc = syntax_error(b, &p);
            break;
        }
        bool end = ev.type == YAML_STREAM_END_EVENT;
        rc = on_event(b, &ev);
        yaml_event_delete(&ev);
        if (rc < 0 || end)
            break;
    }
    yaml_parser_delete(&p);
    anchors_free(b);
    free(b);
    if (rc < 0) {
        yt_free(doc);
        return -EINVAL;
    }
    return 0;
}

void yt_free(struct yt_doc *doc)
{
    if (!doc)
        return;
    for (size_t i = 0; i < doc->n_all; i++) {
        struct yt_node *n = doc->all[i];
        free(n->value);
        free(n->map);
        free(n->seq);
        free(n);
    }
    free(doc->all);
    memset(doc, 0, sizeof(*doc));
}

struct yt_node *yt_map_get(const struct yt_node *map, const char *key)
{
    if (!map || map->kind != YT_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->map[i].key->value, key) == 0)
            return map->map[i].value;
    return NULL;
}

struct yt_node *yt_map_key(const struct yt_node *map, const char *key)
{
    if (!map || map->kind != YT_MAP)
        return NULL;
    for (size_t i = 0; i < map->n; i++)
        if (strcmp(map->map[i].key->value, key) == 0)
            return map->map[i].key;
    return NULL;
}

const char *yt_kind_name(const struct yt_node *n)
{
    if (!n)
        return "nothing";
    switch (n->kind) {
    case YT_MAP:
        return "mapping";
    case YT_SEQ:
        return "list";
    case YT_SCALAR:
        return n->is_null ? "null" : "scalar";
    }
    return "?";
}
