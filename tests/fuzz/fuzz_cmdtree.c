/* libFuzzer target: the maglevc command walker must never crash, leak or
 * hang on any line, and its three entry points must agree with each other:
 * every failure says why, and for a line that parses, at every point of it
 * (each word cut at each of its lengths) completion and `?` help offer the
 * token the parser resolved the next word to, and <cr> after the last. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cmdtree.h"
#include "common/mem.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int names(void *ctx, enum cmd_slot_kind kind, const struct cmd_parsed *so_far,
                 struct strlist *out)
{
    (void)ctx;
    const char *fe = so_far->arg[ARG_FRONTEND].str;
    if (kind == CMD_SLOT_NUMBER)
        abort(); /* never asked for numbers */
    cmd_strlist_add(out, "web");
    cmd_strlist_add(out, "be1");
    cmd_strlist_add(out, "a b");
    if (fe)
        cmd_strlist_add(out, fe); /* echo a value seen earlier in the line */
    return kind == CMD_SLOT_HEALTHCHECK ? -1 : 0;
}

static const char *tok_name(const struct cmd_node *t, char *buf, size_t len)
{
    if (t->kind == CMD_SLOT && t->slot == CMD_SLOT_NUMBER) {
        snprintf(buf, len, "<%lld-%lld>", t->min, t->max);
        return buf;
    }
    return t->word;
}

/* Does `?` output text list token t (its name, blanks, its help)? */
static int help_lists(const char *text, const struct cmd_node *t)
{
    char buf[64];
    const char *name = tok_name(t, buf, sizeof(buf));
    size_t nl = strlen(name), hl = strlen(t->help);
    for (const char *l = text, *e; (e = strchr(l, '\n')) != NULL; l = e + 1) {
        if (strncmp(l, "  ", 2) != 0 || strncmp(l + 2, name, nl) != 0 || l[2 + nl] != ' ')
            continue;
        const char *h = l + 2 + nl;
        while (*h == ' ')
            h++;
        if ((size_t)(e - h) == hl && strncmp(h, t->help, hl) == 0)
            return 1;
    }
    return 0;
}

/* A word as typed: in double quotes when it holds a blank (it cannot hold a
 * quote); cut to its first `len` bytes, the quote then left open. */
static void add_word(struct strbuf *sb, const char *w, size_t len, int full)
{
    int q = w[strcspn(w, " \t\r\n\v\f")] != '\0';
    strbuf_adds(sb, q ? "\"" : "");
    strbuf_add(sb, w, len);
    strbuf_adds(sb, q && full ? "\"" : "");
}

/* The invariant for the parsed words w[0..n), path[i] being the token the
 * parser resolved w[i] to. */
static void check_points(char *const *w, size_t n, const struct cmd_node *const *path)
{
    const struct cmd_node *root = &cli_commands;
    for (size_t k = 0; k <= n; k++) {
        size_t wl = k < n ? strlen(w[k]) : 0;
        const struct cmd_node *t = k < n ? path[k] : NULL;
        if (k < n && !t)
            abort();
        for (size_t len = 0; len <= wl; len++) {
            struct strbuf line = STRBUF_INIT, sb = STRBUF_INIT;
            for (size_t i = 0; i < k; i++) {
                add_word(&line, w[i], strlen(w[i]), 1);
                strbuf_addc(&line, ' ');
            }
            if (len)
                add_word(&line, w[k], len, 0);
            if (!t || !(t->flags & CMD_F_HIDDEN) || len == wl) { /* an alias: in full only */
                struct cmd_completion c;
                int rc = cmd_complete(root, strbuf_str(&line), line.len, names, NULL, &c);
                int ok = rc >= 0;
                for (size_t i = 0; ok && t && t->kind == CMD_KEYWORD; i++) {
                    if (i == c.words.n)
                        ok = 0;
                    else if (strcmp(c.words.v[i], t->word) == 0)
                        break;
                }
                if (!ok || (t && t->kind == CMD_SLOT && !c.msg[0]))
                    abort(); /* completion does not offer the token the parser took */
                cmd_strlist_free(&c.words);
                rc = cmd_help(root, strbuf_str(&line), names, NULL, &sb);
                if (rc != 0 ||
                    (t ? !help_lists(strbuf_str(&sb), t) : !strstr(strbuf_str(&sb), "  <cr>  ")))
                    abort(); /* help does not list it */
            }
            strbuf_free(&sb);
            strbuf_free(&line);
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct cmd_node *root = &cli_commands;
    char *line = mem_alloc(size + 1);
    memcpy(line, data, size);
    line[size] = '\0';
    size_t len = strlen(line);

    char err[256];
    struct strlist words = STRLIST_INIT;
    struct cmd_parsed p;
    int rc = cmd_parse_line(root, line, &words, &p, err, sizeof(err));
    if (rc < -1 || rc >= CMD_ACTION_COUNT || (rc == -1 && !err[0]) || (rc >= 0 && err[0]) ||
        (rc > 0 && p.action != rc))
        abort();
    if (rc > 0 && len <= 512 && words.n <= CMD_PATH_MAX) {
        const struct cmd_node *path[CMD_PATH_MAX];
        if (cmd_parse_path(root, (int)words.n, words.v, NULL, path, CMD_PATH_MAX, NULL, 0) != rc)
            abort();
        check_points(words.v, words.n, path);
    }
    cmd_strlist_free(&words);

    /* complete at the end and at a cursor picked from the input */
    size_t cursors[2] = { len, len ? (size_t)data[0] % (len + 1) : 0 };
    for (int i = 0; i < 2; i++) {
        struct cmd_completion c;
        int n = cmd_complete(root, line, cursors[i], names, NULL, &c);
        if (n < -1 || c.start > cursors[i] || (n >= 0 && (size_t)n != c.words.n) ||
            (n == -1 && (!c.msg[0] || c.words.n)))
            abort();
        cmd_strlist_free(&c.words);
    }

    struct strbuf sb = STRBUF_INIT;
    int h = cmd_help(root, line, names, NULL, &sb);
    if ((h != 0 && h != -1) || !sb.len || sb.buf[sb.len - 1] != '\n')
        abort();
    strbuf_free(&sb);

    free(line);
    return 0;
}
