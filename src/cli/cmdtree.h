/* cmdtree: the maglevc command tree as data, and one walker that serves
 * execution (cmd_parse), TAB completion (cmd_complete) and `?` help
 * (cmd_help). Pure: no I/O, no globals written, deterministic.
 *
 * Matching rules, applied to each word against the tokens allowed next:
 *   1. a keyword equal to the word (ASCII case-insensitive) wins, even when
 *      it is a prefix of a longer keyword ("frontend" vs "frontends"); a
 *      hidden keyword (CMD_F_HIDDEN, an alias) matches only this way;
 *   2. otherwise a slot takes the word if it accepts it (a name slot accepts
 *      any non-empty word, a number slot an integer in its range);
 *   3. otherwise a keyword the word is a prefix of wins if it is the only
 *      one; for two or more, the rest of the line decides: each is tried
 *      with the words after it, and the one with which they make a
 *      complete command wins ("sh ba" is "show backends", "sh ba web1" is
 *      "show backend web1"); none or several is an "ambiguous" error
 *      listing them;
 *   4. otherwise the slot's own error ("is not a number", "is out of
 *      range"), "given more than once" for a used option, or "unknown word"
 *      listing every token allowed there.
 * Completion and `?` help resolve the words before the cursor with the same
 * code, rule 3 asking instead that the words after the prefix can be
 * followed by the word being typed (a token it can begin; for a new word,
 * also the end of the line). As the words still to come decide, every
 * candidate that qualifies is kept and their tokens are offered together:
 * "sh ba ng<TAB>" completes backend names (only "show backend" takes a
 * word), "sh ba ?" lists NAME (show backend NAME) and <cr> (show backends).
 * So whatever a word of a command resolves to when it runs, completion and
 * help at every point before it offer that token.
 * Names are taken literally when executing (the server validates them);
 * only completion and help consult the caller's name provider.
 *
 * Tokenising: words are split on blanks (space, tab, CR, LF, VT, FF);
 * double quotes group blanks into a word and may appear anywhere in it
 * (`a"b c"` is the word `ab c`); there are no escapes, so a word cannot
 * hold a double quote; `""` is an empty word. An unterminated quote is an
 * error, except in the word under the cursor for completion and help. */
#ifndef MAGLEV_CLI_CMDTREE_H
#define MAGLEV_CLI_CMDTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/strbuf.h"

/* ---- strlist: a growable array of owned strings ---- */

struct strlist {
    char **v;   /* v[0..n-1], then NULL (usable as argv); NULL when empty */
    size_t n;   /* strings held */
    size_t cap; /* slots allocated in v */
};

#define STRLIST_INIT                                                                               \
    {                                                                                              \
        0                                                                                          \
    }

/* Appends a copy of s (cmd_strlist_addn: of its len bytes). */
void cmd_strlist_add(struct strlist *sl, const char *s);
void cmd_strlist_addn(struct strlist *sl, const char *s, size_t len);
void cmd_strlist_free(struct strlist *sl);

/* ---- the tree ---- */

enum cmd_node_kind {
    CMD_KEYWORD = 1, /* a literal word, matched by unique prefix */
    CMD_SLOT,        /* a typed value */
};

enum cmd_slot_kind {
    CMD_SLOT_NONE = 0,
    CMD_SLOT_BACKEND,     /* backend name */
    CMD_SLOT_FRONTEND,    /* frontend name */
    CMD_SLOT_POOL,        /* pool name of the frontend given earlier */
    CMD_SLOT_HEALTHCHECK, /* healthcheck name */
    CMD_SLOT_NUMBER,      /* integer in [min, max] */
};

/* Node flags. */
#define CMD_F_OPTIONS 0x1u /* children are options: any order, each at most once */
/* A keyword kept for compatibility (an alias): matched only when typed in
 * full (never by a prefix, so it cannot make a prefix ambiguous), left out
 * of error lists, and offered by completion and `?` only once typed in
 * full. Its children are ordinary. */
#define CMD_F_HIDDEN 0x2u

/* Limits the walker relies on; cmd_tree_check() enforces them. */
#define CMD_MAX_CHILDREN 32 /* per node, and options per option node */
#define CMD_ARG_MAX      16 /* value slots in struct cmd_parsed */

struct cmd_node {
    enum cmd_node_kind kind;
    const char *word; /* keyword; for a name slot its placeholder ("NAME") */
    const char *help; /* one line for `?` */
    enum cmd_slot_kind slot;
    long long min, max; /* CMD_SLOT_NUMBER range, inclusive */
    int arg;            /* index in cmd_parsed.arg[] this token records; 0 = none */
    int action;         /* the command's action when the line may end here; 0 = none */
    unsigned flags;     /* CMD_F_* */
    /* Array ended by an entry with kind 0; NULL = none. Inside an option
     * node's subtree, a node with an action completes its option: the
     * unused options are allowed after it, next to its own children. */
    const struct cmd_node *children;
};

/* What a line parsed to: the action and the values its tokens recorded. */
struct cmd_value {
    const char *str; /* NULL = not given; a slot's word (points into the caller's
                        words), or a keyword's canonical spelling (static) */
    long long num;   /* CMD_SLOT_NUMBER value */
};

struct cmd_parsed {
    int action; /* 0 until complete */
    struct cmd_value arg[CMD_ARG_MAX];
};

/* Live names for completion and help, e.g. fetched from the server. Appends
 * the candidates for a slot of `kind` to `out` (unfiltered: the walker keeps
 * those the word typed so far is a prefix of, sorted, without duplicates).
 * so_far holds the values before the slot (a pool's frontend, a pool
 * backend's frontend and pool; valid during the call only, action 0).
 * Returns 0, or -1 (no candidates). */
typedef int (*cmd_names_fn)(void *ctx, enum cmd_slot_kind kind, const struct cmd_parsed *so_far,
                            struct strlist *out);

/* Splits a line into words (appended to `words`). 0, or -1 with a message
 * in err for an unbalanced quote. */
int cmd_tokenize(const char *line, struct strlist *words, char *err, size_t errlen);

/* Walks argv[0..argc-1]. Returns the action (> 0) with `out` filled, 0 for
 * no words at all, or -1 with one line in err (without a newline), e.g.
 *   unknown word "shw"; expected one of: show, set, config, watch, help, quit, exit
 *   ambiguous "s": show, set
 *   incomplete command; expected: NAME
 *   "101" is out of range 0..100
 * `out` points into argv for slot values. err may be NULL. */
int cmd_parse(const struct cmd_node *root, int argc, char *const *argv, struct cmd_parsed *out,
              char *err, size_t errlen);

/* Words of a command whose tokens cmd_parse_path reports. */
#define CMD_PATH_MAX 32

/* cmd_parse, also telling which token each word resolved to: path[i] for
 * argv[i], for i < pathlen; NULL past the words (or CMD_PATH_MAX), and
 * all NULL unless the line parses. path may be NULL. */
int cmd_parse_path(const struct cmd_node *root, int argc, char *const *argv, struct cmd_parsed *out,
                   const struct cmd_node **path, size_t pathlen, char *err, size_t errlen);

/* cmd_tokenize + cmd_parse of the words it appends to `words`; `out`
 * points into them, so free `words` only after using `out`. */
int cmd_parse_line(const struct cmd_node *root, const char *line, struct strlist *words,
                   struct cmd_parsed *out, char *err, size_t errlen);

struct cmd_completion {
    struct strlist words; /* candidates for the word under the cursor: keywords in
                             tree order, then names sorted (strcmp); one holding a
                             blank must be inserted in double quotes */
    size_t start;         /* offset in line of that word (its opening quote if
                             any): the shell replaces line[start..cursor] */
    char msg[256];        /* a hint when a slot is next ("<0-100>  Weight",
                             "NAME  Backend name"), or the error when the
                             words before the cursor do not parse; else "" */
};

/* Candidates for the word that ends at `cursor` (text after the cursor is
 * ignored; a blank before the cursor starts a new, empty word). Returns
 * the number of candidates, or -1 with the error in out->msg. `names` may
 * be NULL. Free out->words with cmd_strlist_free (also after -1). */
int cmd_complete(const struct cmd_node *root, const char *line, size_t cursor, cmd_names_fn names,
                 void *ctx, struct cmd_completion *out);

/* The `?` text for the whole line: each token allowed for the word being
 * typed (the last word, or a new one after a trailing blank), in tree
 * order (for a prefix still undecided, each reading's in turn; see the
 * top of this file), aligned, one per line:
 *   "  backend   Show one backend\n"
 *   "  <0-100>   Weight\n"
 * followed, for a name slot, by the matching names from `names`, and by
 *   "  <cr>      Run the command\n"
 * when the line so far is a complete command. Returns 0, or -1 with the
 * error (plus a newline) appended instead. */
int cmd_help(const struct cmd_node *root, const char *line, cmd_names_fn names, void *ctx,
             struct strbuf *out);

/* Checks a tree against the walker's assumptions (kinds, unique keywords
 * per level, hidden ones included, one slot per level, ranges, limits,
 * leaves have actions, no option node inside another, only keywords
 * hidden, no incomplete command that only hidden tokens continue). 0, or
 * -1 with a message in err. */
int cmd_tree_check(const struct cmd_node *root, char *err, size_t errlen);

/* ---- the maglevc commands (commands.c) ---- */

enum maglevc_action {
    CMD_NONE = 0,
    CMD_SHOW_VERSION,
    CMD_SHOW_FRONTENDS,
    CMD_SHOW_FRONTEND,
    CMD_SHOW_BACKENDS,
    CMD_SHOW_BACKEND,
    CMD_SHOW_HEALTHCHECKS,
    CMD_SHOW_HEALTHCHECK,
    CMD_SET_BACKEND_PAUSE,
    CMD_SET_BACKEND_RESUME,
    CMD_SET_BACKEND_ENABLE,
    CMD_SET_BACKEND_DISABLE,
    CMD_SET_BACKEND_DAMPING_CLEAR,
    CMD_SET_FRONTEND_WEIGHT,
    CMD_CONFIG_CHECK,
    CMD_CONFIG_RELOAD,
    CMD_WATCH_EVENTS,
    CMD_SHOW_VPP_INFO,
    CMD_SHOW_VPP_LB_STATE, /* also `show vpp lbstate` (hidden alias) */
    CMD_SYNC_VPP_LB_STATE, /* also `sync vpp lbstate` (hidden alias) */
    CMD_PLAN_VPP_LB_STATE,
    CMD_SHOW_VPP_LB_COUNTERS,
    CMD_SHOW_MASS_FAILURE,
    CMD_SET_MASS_FAILURE_RELEASE,
    CMD_SHOW_FLEET,           /* the view across every --server */
    CMD_PLAN_BACKEND_CHANGE,  /* plan set backend NAME disable|pause|enable|resume */
    CMD_PLAN_FRONTEND_WEIGHT, /* plan set frontend NAME pool POOL backend NAME weight N */
    CMD_HELP,
    CMD_QUIT, /* `quit` and `exit` */
    CMD_ACTION_COUNT
};

enum maglevc_arg {
    ARG_NONE = 0,
    ARG_FRONTEND,       /* str: frontend name (also the VPP commands' optional NAME) */
    ARG_BACKEND,        /* str: backend name */
    ARG_POOL,           /* str: pool name */
    ARG_HEALTHCHECK,    /* str: healthcheck name */
    ARG_WEIGHT,         /* num: 0..100 */
    ARG_NUM,            /* watch events: num, 1..1000000 */
    ARG_LOG,            /* watch events: "log" given */
    ARG_LEVEL,          /* watch events: "debug", "info", "warn" or "error" */
    ARG_EVENT_BACKEND,  /* watch events: "backend" given */
    ARG_EVENT_FRONTEND, /* watch events: "frontend" given */
    ARG_EVENT_VPP,      /* watch events: "vpp" given */
    ARG_CHANGE,         /* plan set backend: "disable", "pause", "enable" or "resume" */
    ARG_MAX_DISRUPTION, /* num: --max-disruption PCT, 1..100 */
    ARG_FORCE,          /* --force given */
};

extern const struct cmd_node cli_commands; /* the root */

#endif
