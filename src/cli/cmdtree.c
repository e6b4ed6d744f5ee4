/* cmdtree: one walker over the command tree for parsing, completion and
 * help, with one resolution of ambiguous prefixes (resolve()) for all
 * three; see cmdtree.h for the matching and tokenising rules. */
#include "cli/cmdtree.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"

#define MAX_NEXT   (2 * CMD_MAX_CHILDREN) /* a node's children plus the options */
#define SHOW_MAX   64                     /* bytes of a word quoted in a message */
#define HELP_WIDTH 8                      /* minimum token column in `?` output */

/* ---- strlist ---- */

void cmd_strlist_addn(struct strlist *sl, const char *s, size_t len)
{
    mem_grow((void **)&sl->v, &sl->cap, sl->n + 2, sizeof(*sl->v));
    sl->v[sl->n++] = mem_strndup(s, len);
    sl->v[sl->n] = NULL;
}

void cmd_strlist_add(struct strlist *sl, const char *s)
{
    cmd_strlist_addn(sl, s, strlen(s));
}

void cmd_strlist_free(struct strlist *sl)
{
    if (!sl)
        return;
    for (size_t i = 0; i < sl->n; i++)
        free(sl->v[i]);
    free(sl->v);
    memset(sl, 0, sizeof(*sl));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- small helpers ---- */

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Is p a prefix of s, ASCII case-insensitively ("" is a prefix of all)? */
static bool prefix_ci(const char *p, const char *s)
{
    for (; *p; p++, s++)
        if (lower((unsigned char)*p) != lower((unsigned char)*s))
            return false;
    return true;
}

static bool equal_ci(const char *a, const char *b)
{
    return prefix_ci(a, b) && strlen(a) == strlen(b);
}

static bool is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static size_t count_children(const struct cmd_node *n)
{
    size_t i = 0;
    while (n->children && i < CMD_MAX_CHILDREN && n->children[i].kind)
        i++;
    return i;
}

/* A word as it appears in a message: quoted, escaped, cut when long. */
static void add_word(struct strbuf *sb, const char *w)
{
    size_t i;
    strbuf_addc(sb, '"');
    for (i = 0; w[i] && i < SHOW_MAX; i++) {
        unsigned char c = (unsigned char)w[i];
        if (c == '"' || c == '\\')
            strbuf_addf(sb, "\\%c", c);
        else if (c < 0x20 || c == 0x7f)
            strbuf_addf(sb, "\\x%02x", c);
        else
            strbuf_addc(sb, (char)c);
    }
    strbuf_adds(sb, w[i] ? "...\"" : "\"");
}

/* A token as listed in help and errors: the keyword, "NAME", "<0-100>". */
static const char *token_name(const struct cmd_node *n, char *buf, size_t len)
{
    if (n->kind == CMD_SLOT && n->slot == CMD_SLOT_NUMBER) {
        snprintf(buf, len, "<%lld-%lld>", n->min, n->max);
        return buf;
    }
    return n->word ? n->word : "?";
}

static bool hidden(const struct cmd_node *n)
{
    return (n->flags & CMD_F_HIDDEN) != 0;
}

/* Does the word being typed stand for keyword n in completion and help: a
 * prefix of it, or for a hidden one the whole word? */
static bool offers(const struct cmd_node *n, const char *word)
{
    return hidden(n) ? *word && equal_ci(word, n->word) : prefix_ci(word, n->word);
}

static size_t count_visible(const struct cmd_node *const *v, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += !hidden(v[i]);
    return k;
}

/* The tokens of v as listed in messages: hidden ones left out. */
static void add_tokens(struct strbuf *sb, const struct cmd_node *const *v, size_t n)
{
    char buf[64];
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (!hidden(v[i]))
            strbuf_addf(sb, "%s%s", k++ ? ", " : "", token_name(v[i], buf, sizeof(buf)));
}

static void set_err(char *err, size_t errlen, const char *msg)
{
    if (err && errlen)
        snprintf(err, errlen, "%s", msg);
}

/* ---- tokeniser ---- */

struct split {
    size_t last_start; /* offset of the last word */
    size_t quote_at;   /* offset of the unterminated quote, if any */
    bool open_quote;   /* the last word has an unterminated quote */
    bool trailing;     /* no words, or a blank after the last: a new word begins */
};

static void split_line(const char *line, size_t len, struct strlist *words, struct split *sp)
{
    memset(sp, 0, sizeof(*sp));
    char *w = mem_alloc(len + 1);
    size_t i = 0;
    for (;;) {
        while (i < len && is_blank(line[i]))
            i++;
        if (i >= len)
            break;
        sp->last_start = i;
        size_t wl = 0;
        bool q = false;
        for (; i < len && (q || !is_blank(line[i])); i++) {
            if (line[i] == '"') {
                if (!q)
                    sp->quote_at = i;
                q = !q;
            } else {
                w[wl++] = line[i];
            }
        }
        sp->open_quote = q;
        cmd_strlist_addn(words, w, wl);
    }
    free(w);
    sp->trailing = words->n == 0 || (is_blank(line[len - 1]) && !sp->open_quote);
}

int cmd_tokenize(const char *line, struct strlist *words, char *err, size_t errlen)
{
    struct split sp;
    char msg[64];
    split_line(line, strlen(line), words, &sp);
    if (sp.open_quote) {
        snprintf(msg, sizeof(msg), "unbalanced quote at column %zu", sp.quote_at + 1);
        set_err(err, errlen, msg);
        return -1;
    }
    return 0;
}

/* ---- the walker ---- */

#define WALKS_MAX   16  /* readings of the words before the cursor kept */
#define WALK_BUDGET 256 /* ambiguous prefixes tried per line */

struct walk {
    const struct cmd_node *node;  /* the last token matched (the root at first) */
    const struct cmd_node *group; /* the option node we are in, or NULL */
    uint32_t used;                /* the group's options given so far */
    struct cmd_parsed parsed;
    size_t depth;                              /* words walked */
    const struct cmd_node *path[CMD_PATH_MAX]; /* the token of each of the first words */
};

/* Several walks: the readings of one line. */
struct walks {
    struct walk *v;
    size_t n, cap;
};

struct nexts {
    const struct cmd_node *v[MAX_NEXT];
    size_t n;
};

/* What the end of the words walked must allow for a candidate of an
 * ambiguous prefix to count (see resolve()). */
struct goal {
    bool cursor;      /* false: executing, the words make a complete command;
                         true: completing, they can be followed by `word` */
    const char *word; /* cursor: the word being typed ("" for a new one) */
    bool trailing;    /* cursor: a new word begins, so the line may also end */
};

static void walks_add(struct walks *ws, const struct walk *w)
{
    mem_grow((void **)&ws->v, &ws->cap, ws->n + 1, sizeof(*ws->v));
    ws->v[ws->n++] = *w;
}

static void walks_free(struct walks *ws)
{
    free(ws->v);
    memset(ws, 0, sizeof(*ws));
}

static void walk_init(struct walk *w, const struct cmd_node *root)
{
    memset(w, 0, sizeof(*w));
    w->node = root;
    if (root->flags & CMD_F_OPTIONS)
        w->group = root;
}

static void add_options(const struct walk *w, struct nexts *nx)
{
    size_t n = count_children(w->group);
    for (size_t i = 0; i < n && nx->n < MAX_NEXT; i++)
        if (!(w->used & (1u << i)))
            nx->v[nx->n++] = &w->group->children[i];
}

/* The tokens allowed after the walk so far, in tree order. */
static void next_tokens(const struct walk *w, struct nexts *nx)
{
    nx->n = 0;
    if (w->node == w->group) {
        add_options(w, nx);
        return;
    }
    size_t n = count_children(w->node);
    for (size_t i = 0; i < n; i++)
        nx->v[nx->n++] = &w->node->children[i];
    if (w->group && w->node->action)
        add_options(w, nx);
}

static int option_index(const struct walk *w, const struct cmd_node *m)
{
    size_t n = w->group ? count_children(w->group) : 0;
    for (size_t i = 0; i < n; i++)
        if (&w->group->children[i] == m)
            return (int)i;
    return -1;
}

/* Does slot s take word? Sets *num for numbers; says why not in err. */
static bool slot_accepts(const struct cmd_node *s, const char *word, long long *num,
                         struct strbuf *err)
{
    char buf[64];
    if (s->slot != CMD_SLOT_NUMBER) {
        if (*word)
            return true;
        if (err)
            strbuf_addf(err, "%s cannot be empty", token_name(s, buf, sizeof(buf)));
        return false;
    }
    const char *p = word;
    bool neg = *p == '-', big = false;
    unsigned long long v = 0;
    if (*p == '-' || *p == '+')
        p++;
    if (!*p)
        goto nan;
    for (; *p; p++) {
        if (*p < '0' || *p > '9')
            goto nan;
        if (v > 100000000000000000ULL) /* 1e17: whatever follows is out of range */
            big = true;
        else
            v = v * 10 + (unsigned)(*p - '0');
    }
    long long x = neg ? -(long long)v : (long long)v;
    if (big || x < s->min || x > s->max) {
        if (err) {
            add_word(err, word);
            strbuf_addf(err, " is out of range %lld..%lld", s->min, s->max);
        }
        return false;
    }
    *num = x;
    return true;
nan:
    if (err) {
        add_word(err, word);
        strbuf_adds(err, " is not a number");
    }
    return false;
}

/* Could a word that begins with p fill slot s (a number: a sign, digits)? */
static bool slot_could_take(const struct cmd_node *s, const char *p)
{
    if (s->slot != CMD_SLOT_NUMBER)
        return true;
    if (*p == '-' || *p == '+')
        p++;
    for (; *p; p++)
        if (*p < '0' || *p > '9')
            return false;
    return true;
}

/* The token word stands for after the walk so far, or NULL with the reason
 * in err; for a prefix of several keywords, these in pm[0..*npm). */
static const struct cmd_node *match_word(const struct walk *w, const char *word, struct strbuf *err,
                                         const struct cmd_node **pm, size_t *npm)
{
    struct nexts nx;
    const struct cmd_node *slot = NULL;
    size_t np = 0;
    *npm = 0;
    long long num;
    next_tokens(w, &nx);
    for (size_t i = 0; i < nx.n; i++) {
        if (nx.v[i]->kind == CMD_KEYWORD && equal_ci(word, nx.v[i]->word))
            return nx.v[i];
        if (nx.v[i]->kind == CMD_SLOT && !slot)
            slot = nx.v[i];
    }
    if (slot && slot_accepts(slot, word, &num, NULL))
        return slot;
    for (size_t i = 0; i < nx.n && *word; i++)
        if (nx.v[i]->kind == CMD_KEYWORD && !hidden(nx.v[i]) && prefix_ci(word, nx.v[i]->word))
            pm[np++] = nx.v[i];
    if (np == 1)
        return pm[0];
    if (np > 1) {
        *npm = np;
        strbuf_adds(err, "ambiguous ");
        add_word(err, word);
        strbuf_adds(err, ": ");
        add_tokens(err, pm, np);
        return NULL;
    }
    if (slot) {
        slot_accepts(slot, word, &num, err);
        return NULL;
    }
    size_t ng = w->group ? count_children(w->group) : 0;
    for (size_t i = 0; i < ng && *word; i++) {
        const struct cmd_node *o = &w->group->children[i];
        if ((w->used & (1u << i)) && o->kind == CMD_KEYWORD && offers(o, word)) {
            strbuf_addf(err, "option \"%s\" is given more than once", o->word);
            return NULL;
        }
    }
    size_t nv = count_visible(nx.v, nx.n);
    if (nv == 0) {
        strbuf_adds(err, "unexpected word ");
        add_word(err, word);
        strbuf_adds(err, "; expected end of command");
        return NULL;
    }
    strbuf_adds(err, "unknown word ");
    add_word(err, word);
    strbuf_adds(err, nv == 1 ? "; expected: " : "; expected one of: ");
    add_tokens(err, nx.v, nx.n);
    return NULL;
}

static const struct cmd_node *why_no_match(const struct walk *w, const char *word,
                                           struct strbuf *err)
{
    const struct cmd_node *pm[MAX_NEXT];
    size_t np;
    return match_word(w, word, err, pm, &np);
}

static void apply_word(struct walk *w, const struct cmd_node *m, const char *word)
{
    int oi = option_index(w, m);
    if (oi >= 0)
        w->used |= 1u << oi;
    if (m->arg > 0 && m->arg < CMD_ARG_MAX) {
        struct cmd_value *v = &w->parsed.arg[m->arg];
        v->str = m->kind == CMD_SLOT ? word : m->word;
        if (m->kind == CMD_SLOT && m->slot == CMD_SLOT_NUMBER)
            slot_accepts(m, word, &v->num, NULL);
    }
    if (w->depth < CMD_PATH_MAX)
        w->path[w->depth] = m;
    w->depth++;
    w->node = m;
    if (m->flags & CMD_F_OPTIONS) {
        w->group = m;
        w->used = 0;
    }
}

/* Does the walk end where the goal wants it: a complete command when
 * executing; when completing, one that the word being typed may continue
 * (a token it can begin, or, for a new word, the end of the line). */
static bool goal_met(const struct walk *w, const struct goal *g)
{
    struct nexts nx;
    if (!g->cursor)
        return w->node->action != 0;
    if (g->trailing && w->node->action)
        return true;
    next_tokens(w, &nx);
    for (size_t i = 0; i < nx.n; i++)
        if (nx.v[i]->kind == CMD_SLOT ? slot_could_take(nx.v[i], g->word)
                                      : offers(nx.v[i], g->word))
            return true;
    return false;
}

static int walk_from(const struct walk *from, size_t i, size_t n, char *const *words,
                     const struct goal *g, struct walks *out, struct strbuf *err, int *budget);

/* THE resolution of a prefix of several keywords, pm[0..np), for word i,
 * shared by execution, completion and help: each candidate is tried with
 * the rest of the words, and counts when they walk and end at the goal.
 * Executing, the one that counts is taken ("sh ba" is "show backends", "sh
 * ba web1" is "show backend web1"); completing, every one that counts is
 * kept, as the words still to come decide ("sh ba ?" offers NAME and <cr>;
 * "sh ba w" is "show backend w..."). Else the ambiguity (in err) stands. */
static int resolve(const struct walk *w, const struct cmd_node *const *pm, size_t np, size_t i,
                   size_t n, char *const *words, const struct goal *g, struct walks *out,
                   struct strbuf *err, int *budget)
{
    const char *word = words[i] ? words[i] : "";
    struct walks found = { 0 };
    if (--*budget <= 0)
        return -1;
    for (size_t k = 0; k < np; k++) {
        struct walk t = *w;
        struct walks sub = { 0 };
        struct strbuf e2 = STRBUF_INIT;
        apply_word(&t, pm[k], word);
        if (walk_from(&t, i + 1, n, words, g, &sub, &e2, budget) == 0)
            for (size_t j = 0; j < sub.n; j++)
                if (goal_met(&sub.v[j], g))
                    walks_add(&found, &sub.v[j]);
        walks_free(&sub);
        strbuf_free(&e2);
    }
    bool ok = g->cursor ? found.n >= 1 && found.n <= WALKS_MAX : found.n == 1;
    if (ok) {
        strbuf_reset(err);
        for (size_t j = 0; j < found.n; j++)
            walks_add(out, &found.v[j]);
    }
    walks_free(&found);
    return ok ? 0 : -1;
}

/* Walks words[i..n) from `from`, adding the walk (or, completing, the
 * walks: see resolve) to out. 0, or -1 with the reason in err. */
static int walk_from(const struct walk *from, size_t i, size_t n, char *const *words,
                     const struct goal *g, struct walks *out, struct strbuf *err, int *budget)
{
    struct walk w = *from;
    for (; i < n; i++) {
        const char *word = words[i] ? words[i] : "";
        const struct cmd_node *pm[MAX_NEXT];
        size_t np;
        const struct cmd_node *m = match_word(&w, word, err, pm, &np);
        if (!m && np > 1)
            return resolve(&w, pm, np, i, n, words, g, out, err, budget);
        if (!m)
            return -1;
        apply_word(&w, m, word);
    }
    walks_add(out, &w);
    return 0;
}

static int walk_words(const struct cmd_node *root, size_t n, char *const *words,
                      const struct goal *g, struct walks *out, struct strbuf *err)
{
    struct walk w;
    int budget = WALK_BUDGET;
    walk_init(&w, root);
    return walk_from(&w, 0, n, words, g, out, err, &budget);
}

int cmd_parse_path(const struct cmd_node *root, int argc, char *const *argv, struct cmd_parsed *out,
                   const struct cmd_node **path, size_t pathlen, char *err, size_t errlen)
{
    static const struct goal run = { .cursor = false };
    struct walks ws = { 0 };
    struct strbuf e = STRBUF_INIT;
    if (err && errlen)
        err[0] = '\0';
    if (out)
        memset(out, 0, sizeof(*out));
    for (size_t i = 0; path && i < pathlen; i++)
        path[i] = NULL;
    if (argc <= 0)
        return 0;
    if (walk_words(root, (size_t)argc, argv, &run, &ws, &e) < 0)
        goto fail;
    struct walk *w = &ws.v[0]; /* executing, there is one */
    if (!w->node->action) {
        struct nexts nx;
        next_tokens(w, &nx);
        strbuf_adds(&e, count_visible(nx.v, nx.n) == 1 ? "incomplete command; expected: "
                                                       : "incomplete command; expected one of: ");
        add_tokens(&e, nx.v, nx.n);
        goto fail;
    }
    w->parsed.action = w->node->action;
    if (out)
        *out = w->parsed;
    for (size_t i = 0; path && i < pathlen && i < w->depth && i < CMD_PATH_MAX; i++)
        path[i] = w->path[i];
    int action = w->parsed.action;
    walks_free(&ws);
    strbuf_free(&e); /* may hold a resolved ambiguity's text */
    return action;
fail:
    set_err(err, errlen, strbuf_str(&e));
    strbuf_free(&e);
    walks_free(&ws);
    return -1;
}

int cmd_parse(const struct cmd_node *root, int argc, char *const *argv, struct cmd_parsed *out,
              char *err, size_t errlen)
{
    return cmd_parse_path(root, argc, argv, out, NULL, 0, err, errlen);
}

int cmd_parse_line(const struct cmd_node *root, const char *line, struct strlist *words,
                   struct cmd_parsed *out, char *err, size_t errlen)
{
    size_t first = words->n;
    if (out)
        memset(out, 0, sizeof(*out));
    if (cmd_tokenize(line, words, err, errlen) < 0)
        return -1;
    if (words->n - first > INT_MAX) {
        set_err(err, errlen, "too many words");
        return -1;
    }
    return cmd_parse(root, (int)(words->n - first), words->v ? words->v + first : NULL, out, err,
                     errlen);
}

/* ---- completion and help: the walk up to the word being typed ---- */

struct partial {
    struct strlist words;
    struct split sp;
    const char *word; /* the word being typed ("" for a new one) */
    struct walks ws;  /* the readings of the words before it: one, or several
                         when a prefix in them is decided only by words still
                         to come (resolve) */
};

static int walk_partial(const struct cmd_node *root, const char *line, size_t len,
                        struct partial *p, struct strbuf *err)
{
    memset(p, 0, sizeof(*p));
    p->word = "";
    split_line(line, len, &p->words, &p->sp);
    size_t nfull = p->words.n;
    if (!p->sp.trailing)
        p->word = p->words.v[--nfull];
    struct goal g = { .cursor = true, .word = p->word, .trailing = p->sp.trailing };
    return walk_words(root, nfull, p->words.v, &g, &p->ws, err);
}

static void partial_free(struct partial *p)
{
    cmd_strlist_free(&p->words);
    walks_free(&p->ws);
}

static const struct cmd_node *first_slot(const struct nexts *nx)
{
    for (size_t i = 0; i < nx->n; i++)
        if (nx->v[i]->kind == CMD_SLOT)
            return nx->v[i];
    return NULL;
}

static bool strlist_has(const struct strlist *sl, const char *s)
{
    for (size_t i = 0; i < sl->n; i++)
        if (strcmp(sl->v[i], s) == 0)
            return true;
    return false;
}

/* Sorts sl and drops duplicates and empty strings. */
static void sort_unique(struct strlist *sl)
{
    size_t k = 0;
    if (sl->n > 1)
        qsort(sl->v, sl->n, sizeof(*sl->v), cmp_str);
    for (size_t i = 0; i < sl->n; i++) {
        if (!sl->v[i][0] || (k > 0 && strcmp(sl->v[k - 1], sl->v[i]) == 0))
            free(sl->v[i]);
        else
            sl->v[k++] = sl->v[i];
    }
    sl->n = k;
    if (sl->v)
        sl->v[k] = NULL;
}

/* The provider's names for slot s that start with prefix, appended to out
 * (sort_unique then orders them). */
static void live_names(const struct cmd_node *s, const struct walk *w, const char *prefix,
                       cmd_names_fn names, void *ctx, struct strlist *out)
{
    struct strlist all = STRLIST_INIT;
    size_t pl = strlen(prefix);
    if (s && s->slot != CMD_SLOT_NUMBER && names && names(ctx, s->slot, &w->parsed, &all) >= 0)
        for (size_t i = 0; i < all.n; i++)
            if (strncmp(all.v[i], prefix, pl) == 0)
                cmd_strlist_add(out, all.v[i]);
    cmd_strlist_free(&all);
}

int cmd_complete(const struct cmd_node *root, const char *line, size_t cursor, cmd_names_fn names,
                 void *ctx, struct cmd_completion *out)
{
    struct partial p;
    struct strbuf e = STRBUF_INIT;
    struct strlist live = STRLIST_INIT;
    const struct cmd_node *hint = NULL;
    bool visible = false, action = false;
    char buf[64];
    int rc = -1;
    memset(out, 0, sizeof(*out));
    line = line ? line : "";
    size_t len = strnlen(line, cursor);
    if (walk_partial(root, line, len, &p, &e) < 0)
        goto done;
    out->start = p.sp.trailing ? len : p.sp.last_start;
    for (size_t r = 0; r < p.ws.n; r++) {
        struct nexts nx;
        next_tokens(&p.ws.v[r], &nx);
        for (size_t i = 0; i < nx.n; i++)
            if (nx.v[i]->kind == CMD_KEYWORD && offers(nx.v[i], p.word) &&
                !strlist_has(&out->words, nx.v[i]->word))
                cmd_strlist_add(&out->words, nx.v[i]->word);
        const struct cmd_node *s = first_slot(&nx);
        live_names(s, &p.ws.v[r], p.word, names, ctx, &live);
        hint = hint ? hint : s;
        visible = visible || count_visible(nx.v, nx.n);
        action = action || p.ws.v[r].node->action;
    }
    sort_unique(&live);
    for (size_t i = 0; i < live.n; i++)
        cmd_strlist_add(&out->words, live.v[i]);
    if (hint)
        strbuf_addf(&e, "%s  %s", token_name(hint, buf, sizeof(buf)), hint->help ? hint->help : "");
    else if (!out->words.n && *p.word)
        why_no_match(&p.ws.v[0], p.word, &e); /* unknown word, repeated option */
    else if (!visible && action)
        strbuf_adds(&e, "<cr>  Run the command");
    rc = (int)(out->words.n < 0x7fffffff ? out->words.n : 0x7fffffff);
done:
    set_err(out->msg, sizeof(out->msg), strbuf_str(&e));
    strbuf_free(&e);
    cmd_strlist_free(&live);
    partial_free(&p);
    return rc;
}

/* Is token t, or one help lists the same way, in v[0..n)? */
static bool listed(const struct cmd_node *const *v, size_t n, const struct cmd_node *t)
{
    char a[64], b[64];
    for (size_t i = 0; i < n; i++)
        if (v[i] == t ||
            (strcmp(token_name(v[i], a, sizeof(a)), token_name(t, b, sizeof(b))) == 0 &&
             strcmp(v[i]->help ? v[i]->help : "", t->help ? t->help : "") == 0))
            return true;
    return false;
}

int cmd_help(const struct cmd_node *root, const char *line, cmd_names_fn names, void *ctx,
             struct strbuf *out)
{
    struct partial p;
    struct strbuf e = STRBUF_INIT;
    struct strlist live = STRLIST_INIT;
    const struct cmd_node *show[MAX_NEXT * WALKS_MAX];
    size_t n = 0, width = HELP_WIDTH;
    bool action = false;
    char buf[64];
    int rc = -1;
    line = line ? line : "";
    if (walk_partial(root, line, strlen(line), &p, &e) < 0)
        goto done;
    for (size_t r = 0; r < p.ws.n; r++) {
        struct nexts nx;
        next_tokens(&p.ws.v[r], &nx);
        for (size_t i = 0; i < nx.n; i++)
            if ((nx.v[i]->kind == CMD_SLOT || offers(nx.v[i], p.word)) &&
                !listed(show, n, nx.v[i]) && n < sizeof(show) / sizeof(show[0]))
                show[n++] = nx.v[i];
        live_names(first_slot(&nx), &p.ws.v[r], p.word, names, ctx, &live);
        action = action || p.ws.v[r].node->action;
    }
    bool cr = p.sp.trailing && action;
    if (!n && !cr) {
        if (why_no_match(&p.ws.v[0], p.word, &e))
            strbuf_adds(&e, "no match"); /* not reached: a match would have been listed */
        goto done;
    }
    sort_unique(&live);
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(token_name(show[i], buf, sizeof(buf)));
        width = l > width ? l : width;
    }
    for (size_t i = 0; i < n; i++)
        strbuf_addf(out, "  %-*s  %s\n", (int)width, token_name(show[i], buf, sizeof(buf)),
                    show[i]->help ? show[i]->help : "");
    for (size_t i = 0; i < live.n; i++)
        strbuf_addf(out, "  %s\n", live.v[i]);
    if (cr)
        strbuf_addf(out, "  %-*s  %s\n", (int)width, "<cr>", "Run the command");
    rc = 0;
done:
    if (rc < 0) {
        strbuf_adds(out, strbuf_str(&e));
        strbuf_addc(out, '\n');
    }
    strbuf_free(&e);
    cmd_strlist_free(&live);
    partial_free(&p);
    return rc;
}

/* ---- tree check ---- */

static bool valid_keyword(const char *w)
{
    if (!w || !*w)
        return false;
    for (; *w; w++)
        if (is_blank(*w) || *w == '"' || lower((unsigned char)*w) != *w)
            return false;
    return true;
}

/* Tokens allowed side by side must not clash: keywords unique, one slot. */
static int check_set(const struct cmd_node *const *v, size_t n, struct strbuf *err)
{
    size_t slots = 0;
    for (size_t i = 0; i < n; i++) {
        slots += v[i]->kind == CMD_SLOT;
        for (size_t j = 0; j < i; j++)
            if (v[i]->kind == CMD_KEYWORD && v[j]->kind == CMD_KEYWORD &&
                equal_ci(v[i]->word, v[j]->word)) {
                strbuf_addf(err, "keyword \"%s\" twice at one position", v[i]->word);
                return -1;
            }
    }
    if (slots > 1) {
        strbuf_adds(err, "two slots at one position");
        return -1;
    }
    return 0;
}

static int check_node(const struct cmd_node *n, struct walk *w, int depth, struct strbuf *err)
{
    const char *what = n->word ? n->word : "(root)";
    if (depth > 64) {
        strbuf_adds(err, "tree too deep");
        return -1;
    }
    if (n->children && n->children[count_children(n)].kind) {
        strbuf_addf(err, "\"%s\": more than %d children", what, CMD_MAX_CHILDREN);
        return -1;
    }
    if (depth > 0) {
        if (n->kind == CMD_KEYWORD
                ? !valid_keyword(n->word)
                : n->kind != CMD_SLOT || !n->word || !n->slot || n->slot > CMD_SLOT_NUMBER ||
                      (n->slot == CMD_SLOT_NUMBER && n->min > n->max)) {
            strbuf_addf(err, "\"%s\": bad token", what);
            return -1;
        }
        if (!n->help || n->arg < 0 || n->arg >= CMD_ARG_MAX || n->action < 0) {
            strbuf_addf(err, "\"%s\": no help, or bad arg or action", what);
            return -1;
        }
    }
    if (!count_children(n) && !n->action && !(n->flags & CMD_F_OPTIONS)) {
        strbuf_addf(err, "\"%s\": a leaf without an action", what);
        return -1;
    }
    if (hidden(n) && (n->kind != CMD_KEYWORD || depth == 0 || (n->flags & CMD_F_OPTIONS))) {
        strbuf_addf(err, "\"%s\": only a keyword can be hidden", what);
        return -1;
    }
    struct walk sub = *w;
    sub.node = n;
    if (n->flags & CMD_F_OPTIONS) {
        if (w->group && depth > 0) {
            strbuf_addf(err, "\"%s\": option node inside another", what);
            return -1;
        }
        sub.group = n;
    }
    struct nexts nx;
    next_tokens(&sub, &nx);
    if (check_set(nx.v, nx.n, err) < 0)
        return -1;
    if (nx.n && !count_visible(nx.v, nx.n) && !n->action) {
        strbuf_addf(err, "\"%s\": only hidden tokens follow it", what);
        return -1;
    }
    size_t k = count_children(n);
    for (size_t i = 0; i < k; i++)
        if (check_node(&n->children[i], &sub, depth + 1, err) < 0)
            return -1;
    return 0;
}

int cmd_tree_check(const struct cmd_node *root, char *err, size_t errlen)
{
    struct walk w;
    struct strbuf e = STRBUF_INIT;
    walk_init(&w, root);
    w.group = NULL;
    int rc = check_node(root, &w, 0, &e);
    set_err(err, errlen, strbuf_str(&e));
    strbuf_free(&e);
    return rc;
}
