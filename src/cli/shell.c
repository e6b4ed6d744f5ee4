/* shell: libedit front end (see shell.h). The line editor binds TAB to
 * cmd_complete and `?` to cmd_help, both fed with live names (names.c). */
#include "cli/shell.h"

#include <errno.h>
#include <histedit.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/table.h"
#include "common/mem.h"
#include "common/strbuf.h"
#include "common/version.h"

#define HISTORY_FILE ".maglevc_history"
#define HISTORY_SIZE 1000
#define PROMPT       "maglev> "

int shell_line(struct session *s, const char *line, int *quit)
{
    struct strlist words = STRLIST_INIT;
    struct cmd_parsed p;
    char err[512];
    int rc = cmd_parse_line(&cli_commands, line, &words, &p, err, sizeof(err));
    if (rc < 0) {
        action_error(s, err);
        rc = EXIT_USAGE;
    } else if (rc == 0) {
        rc = EXIT_OK; /* an empty line */
    } else if (p.action == CMD_QUIT) {
        *quit = 1;
        rc = EXIT_OK;
    } else {
        *s->interrupted = 0;
        rc = action_run(s, &p);
        if (*s->interrupted && s->interactive)
            fputc('\n', s->out); /* after the terminal's ^C */
        *s->interrupted = 0;
    }
    cmd_strlist_free(&words);
    return rc;
}

int shell_batch(struct session *s, FILE *in)
{
    char *line = NULL;
    size_t cap = 0;
    int rc = EXIT_OK, quit = 0;
    while (!quit && getline(&line, &cap, in) >= 0) {
        const char *p = line + strspn(line, " \t");
        if (*p == '#')
            continue;
        int r = shell_line(s, line, &quit);
        if (r != EXIT_OK)
            rc = r;
    }
    free(line);
    return rc;
}

/* ---- line editor callbacks ---- */

static struct session *session_of(EditLine *el)
{
    void *p = NULL;
    el_get(el, EL_CLIENTDATA, &p);
    return p;
}

/* The line up to the cursor, as a C string (free it). */
static char *line_to_cursor(EditLine *el)
{
    const LineInfo *li = el_line(el);
    return mem_strndup(li->buffer, (size_t)(li->cursor - li->buffer));
}

static bool has_blank(const char *w)
{
    return strpbrk(w, " \t\r\n\v\f") != NULL;
}

static size_t term_width(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 80;
}

/* Candidates in columns, like a shell lists them. */
static void list_columns(FILE *out, char *const *v, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        size_t l = table_visible_width(v[i]) + (has_blank(v[i]) ? 2 : 0);
        if (l > w)
            w = l;
    }
    w += 2;
    size_t cols = term_width() / w;
    if (cols < 1)
        cols = 1;
    size_t rows = (n + cols - 1) / cols;
    for (size_t r = 0; r < rows; r++) {
        for (size_t c = 0; c < cols; c++) {
            size_t i = c * rows + r;
            if (i >= n)
                break;
            bool q = has_blank(v[i]);
            int len = fprintf(out, q ? "\"%s\"" : "%s", v[i]);
            if (c + 1 < cols && i + rows < n)
                fprintf(out, "%*s", (int)(w - (size_t)len), "");
        }
        fputc('\n', out);
    }
}

/* Replaces line[start..cursor] with text. */
static void replace_word(EditLine *el, size_t start, const char *text)
{
    const LineInfo *li = el_line(el);
    size_t cursor = (size_t)(li->cursor - li->buffer);
    if (cursor > start)
        el_deletestr(el, (int)(cursor - start));
    el_insertstr(el, text);
}

static unsigned char on_tab(EditLine *el, int ch)
{
    (void)ch;
    struct session *s = session_of(el);
    char *line = line_to_cursor(el);
    struct cmd_completion c;
    int n = cmd_complete(&cli_commands, line, strlen(line), cli_names_fn, s, &c);
    unsigned char ret = CC_REFRESH;
    if (n < 0 || (n == 0 && c.msg[0])) {
        fprintf(s->out, "\n  %s\n", c.msg);
        ret = CC_REDISPLAY;
    } else if (n == 0) {
        ret = CC_REFRESH_BEEP;
    } else if (n == 1) {
        struct strbuf t = STRBUF_INIT;
        strbuf_addf(&t, has_blank(c.words.v[0]) ? "\"%s\" " : "%s ", c.words.v[0]);
        replace_word(el, c.start, strbuf_str(&t));
        strbuf_free(&t);
    } else {
        /* the longest common prefix, if it says more than the typed word */
        size_t lcp = strlen(c.words.v[0]);
        for (size_t i = 1; i < c.words.n; i++) {
            size_t k = 0;
            while (k < lcp && c.words.v[i][k] == c.words.v[0][k])
                k++;
            lcp = k;
        }
        const char *typed = line + c.start;
        size_t typed_len = strlen(typed) - (typed[0] == '"');
        if (lcp > typed_len) {
            struct strbuf t = STRBUF_INIT;
            bool q = memchr(c.words.v[0], ' ', lcp) || memchr(c.words.v[0], '\t', lcp);
            if (q)
                strbuf_addc(&t, '"');
            strbuf_add(&t, c.words.v[0], lcp);
            replace_word(el, c.start, strbuf_str(&t));
            strbuf_free(&t);
        } else {
            fputc('\n', s->out);
            list_columns(s->out, c.words.v, c.words.n);
            ret = CC_REDISPLAY;
        }
    }
    fflush(s->out);
    cmd_strlist_free(&c.words);
    free(line);
    return ret;
}

/* Is the cursor inside a double-quoted word? Then `?` is just a character. */
static bool in_quotes(const char *line)
{
    bool q = false;
    for (; *line; line++)
        if (*line == '"')
            q = !q;
    return q;
}

static unsigned char on_help(EditLine *el, int ch)
{
    (void)ch;
    struct session *s = session_of(el);
    char *line = line_to_cursor(el);
    if (in_quotes(line)) {
        free(line);
        el_insertstr(el, "?");
        return CC_REFRESH;
    }
    struct strbuf sb = STRBUF_INIT;
    cmd_help(&cli_commands, line, cli_names_fn, s, &sb);
    fputc('\n', s->out);
    fputs(strbuf_str(&sb), s->out);
    fflush(s->out);
    strbuf_free(&sb);
    free(line);
    return CC_REDISPLAY;
}

static char *prompt(EditLine *el)
{
    (void)el;
    return (char *)PROMPT;
}

/* ---- the shell ---- */

/* quit and exit stay out of the history: Up should bring back work. */
static bool is_quit(const char *line)
{
    struct strlist words = STRLIST_INIT;
    struct cmd_parsed p;
    bool quit = cmd_parse_line(&cli_commands, line, &words, &p, NULL, 0) == CMD_QUIT;
    cmd_strlist_free(&words);
    return quit;
}

static char *history_path(void)
{
    const char *home = getenv("HOME");
    if (!home || !*home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : NULL;
    }
    if (!home)
        return NULL;
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "%s/%s", home, HISTORY_FILE);
    return strbuf_detach(&sb);
}

static void banner(struct session *s)
{
    struct client_status st;
    Maglev__VersionInfo *v = action_server_version(s, &st);
    fprintf(s->out, "maglevc %s (%s)", version_string(), version_commit());
    if (v) {
        fprintf(s->out, ", maglevd %s (%s) at %s\n", v->version, v->commit, s->addr);
        protobuf_c_message_free_unpacked(&v->base, NULL);
    } else {
        fputc('\n', s->out);
        char msg[640];
        action_status_message(s, &st, msg, sizeof(msg));
        action_error(s, msg);
    }
    fprintf(s->out, "Type \"help\" for help, \"?\" for what may come next, TAB to complete.\n");
    fflush(s->out);
}

int shell_run(struct session *s)
{
    s->interactive = true;
    banner(s);

    char *hpath = history_path();
    HistEvent ev;
    History *hist = history_init();
    history(hist, &ev, H_SETSIZE, HISTORY_SIZE);
    history(hist, &ev, H_SETUNIQUE, 1);
    if (hpath)
        history(hist, &ev, H_LOAD, hpath);

    EditLine *el = el_init("maglevc", stdin, s->out, s->err);
    el_set(el, EL_CLIENTDATA, s);
    el_set(el, EL_EDITOR, "emacs");
    el_set(el, EL_PROMPT, prompt);
    el_set(el, EL_HIST, history, hist);
    el_set(el, EL_SIGNAL, 1); /* the terminal mode survives Ctrl-Z and resizes */
    el_set(el, EL_ADDFN, "maglev-complete", "Complete a command or name", on_tab);
    el_set(el, EL_ADDFN, "maglev-help", "List what may come next", on_help);
    el_set(el, EL_BIND, "^I", "maglev-complete", NULL);
    el_set(el, EL_BIND, "?", "maglev-help", NULL);
    el_source(el, NULL); /* ~/.editrc */

    int quit = 0;
    while (!quit) {
        int count = 0;
        *s->interrupted = 0;
        const char *line = el_gets(el, &count);
        if (!line) {
            if (count == -1 && errno == EINTR && *s->interrupted) {
                /* Ctrl-C: drop the line, new prompt */
                fputc('\n', s->out);
                el_reset(el);
                continue;
            }
            fputc('\n', s->out); /* Ctrl-D */
            break;
        }
        char *copy = mem_strdup(line);
        copy[strcspn(copy, "\r\n")] = '\0';
        if (copy[strspn(copy, " \t")] && !is_quit(copy)) {
            history(hist, &ev, H_ENTER, copy);
            if (hpath && history(hist, &ev, H_SAVE, hpath) >= 0)
                chmod(hpath, 0600);
        }
        shell_line(s, copy, &quit);
        free(copy);
    }
    el_end(el);
    history_end(hist);
    free(hpath);
    return EXIT_OK;
}
