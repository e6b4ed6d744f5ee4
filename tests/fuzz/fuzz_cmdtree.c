/* libFuzzer target: the maglevc command walker must never crash, leak or
 * hang on any line, and its three entry points must agree with each other:
 * a line that parses has a `?` listing, and every failure says why. */
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

    /* a line that runs, followed by a blank, offers <cr> */
    if (rc > 0 && !memchr(line, '"', len)) {
        char *l2 = mem_alloc(len + 2);
        memcpy(l2, line, len);
        memcpy(l2 + len, " ", 2);
        if (cmd_help(root, l2, NULL, NULL, &sb) != 0 || !strstr(strbuf_str(&sb), "<cr>"))
            abort();
        strbuf_free(&sb);
        free(l2);
    }
    free(line);
    return 0;
}
