/* config.c: loading entry points, lifetime, lookups. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/strbuf.h"
#include "config/config_int.h"

int config_cmp_name(const void *a, const void *b)
{
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    return strcmp(x ? x : "", y ? y : "");
}

static const char *const maglev_keys[] = {
    "healthchecker", "healthchecks", "backends", "frontends", "vpp", NULL,
};
static const char *const top_keys[] = { "maglev", NULL };

static void parse_root(struct pctx *c, const struct yt_node *root)
{
    if (!root || (root->kind == YT_SCALAR && root->is_null)) {
        config_diag_add(c->d, CONFIG_STAGE_STRUCTURE, (struct config_mark){ 0, 0 }, "",
                        "the file is empty; expected a top-level \"maglev:\" mapping");
        return;
    }
    if (root->kind != YT_MAP || !config_walk_map(c, root, "", "the top level", top_keys)) {
        config_err(c, CONFIG_STAGE_STRUCTURE, root, "",
                   "expected a top-level mapping with the key \"maglev:\"");
        return;
    }
    const struct yt_node *m = yt_map_get(root, "maglev");
    if (!m) {
        config_err(c, CONFIG_STAGE_STRUCTURE, root, "",
                   "no top-level \"maglev:\" key; put all settings under maglev:");
        return;
    }
    c->maglev = m;
    if (!config_walk_map(c, m, "maglev", "the maglev settings", maglev_keys))
        return;
    config_parse_healthchecker(c, yt_map_get(m, "healthchecker"));
    config_parse_healthchecks(c, yt_map_get(m, "healthchecks"));
    config_parse_backends(c, yt_map_get(m, "backends"));
    config_parse_frontends(c, yt_map_get(m, "frontends"));
    config_parse_vpp(c, yt_map_get(m, "vpp"));
}

int config_load_buffer(const char *name, const char *data, size_t len, struct maglev_config **out,
                       struct config_diags *diags)
{
    diags->file = name;
    diags->stage = CONFIG_STAGE_OK;
    struct yt_doc doc;
    struct yt_error yerr;
    if (yt_parse(data, len, &doc, &yerr) < 0) {
        config_diag_add(diags, CONFIG_STAGE_SYNTAX, (struct config_mark){ yerr.line, yerr.col }, "",
                        "%s", yerr.msg);
        config_diag_settle(diags);
        return -EINVAL;
    }
    struct pctx c = { .d = diags, .cfg = mem_calloc(1, sizeof(struct maglev_config)) };
    parse_root(&c, doc.root);
    yt_free(&doc);
    if (diags->n) {
        config_diag_settle(diags);
        config_free(c.cfg);
        return -EINVAL;
    }
    *out = c.cfg;
    return 0;
}

static int read_file(const char *path, char **data, size_t *len, struct config_diags *d)
{
    const struct config_mark none = { 0, 0 };
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        int e = errno;
        config_diag_add(d, CONFIG_STAGE_SYNTAX, none, "", "cannot open: %s%s", strerror(e),
                        e == ENOENT ? " (give the path with --config or MAGLEV_CONFIG)" : "");
        return -e;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        config_diag_add(d, CONFIG_STAGE_SYNTAX, none, "", "cannot stat: %s", strerror(e));
        close(fd);
        return -e;
    }
    if (!S_ISREG(st.st_mode)) {
        config_diag_add(d, CONFIG_STAGE_SYNTAX, none, "", "%s; give the path of the YAML file",
                        S_ISDIR(st.st_mode) ? "is a directory" : "is not a regular file");
        close(fd);
        return -EINVAL;
    }
    if ((unsigned long long)st.st_size > YT_MAX_INPUT) {
        config_diag_add(d, CONFIG_STAGE_SYNTAX, none, "",
                        "file is %lld bytes, larger than the %u MiB limit for a config file",
                        (long long)st.st_size, YT_MAX_INPUT / (1024 * 1024));
        close(fd);
        return -EFBIG;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *buf = mem_calloc(cap + 1, 1);
    for (;;) {
        ssize_t r = read(fd, buf + n, cap - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            config_diag_add(d, CONFIG_STAGE_SYNTAX, none, "", "cannot read: %s", strerror(e));
            free(buf);
            close(fd);
            return -e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
        if (n == cap) { /* grew while reading */
            config_diag_add(d, CONFIG_STAGE_SYNTAX, none, "", "file changed while being read");
            free(buf);
            close(fd);
            return -EAGAIN;
        }
    }
    close(fd);
    *data = buf;
    *len = n;
    return 0;
}

int config_load_file(const char *path, struct maglev_config **out, struct config_diags *diags)
{
    char *data = NULL;
    size_t len = 0;
    diags->file = path;
    if (read_file(path, &data, &len, diags) < 0) {
        config_diag_settle(diags);
        return -EINVAL;
    }
    int rc = config_load_buffer(path, data, len, out, diags);
    free(data);
    return rc;
}

static void frontend_conf_free(struct frontend_conf *f)
{
    free(f->name);
    free(f->description);
    for (size_t i = 0; i < f->n_pools; i++) {
        struct pool_conf *p = &f->pools[i];
        for (size_t j = 0; j < p->n_backends; j++)
            free(p->backends[j].backend);
        free(p->backends);
        free(p->name);
    }
    free(f->pools);
}

void config_free(struct maglev_config *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_healthchecks; i++)
        config_healthcheck_clear(&cfg->healthchecks[i]);
    free(cfg->healthchecks);
    for (size_t i = 0; i < cfg->n_backends; i++) {
        free(cfg->backends[i].name);
        free(cfg->backends[i].healthcheck);
    }
    free(cfg->backends);
    for (size_t i = 0; i < cfg->n_frontends; i++)
        frontend_conf_free(&cfg->frontends[i]);
    free(cfg->frontends);
    free(cfg->netns);
    free(cfg);
}

static const void *find(const void *base, size_t n, size_t size, const char *name)
{
    if (!name || !base)
        return NULL;
    return bsearch(&name, base, n, size, config_cmp_name);
}

const struct healthcheck_conf *config_find_healthcheck(const struct maglev_config *cfg,
                                                       const char *name)
{
    return find(cfg->healthchecks, cfg->n_healthchecks, sizeof(*cfg->healthchecks), name);
}

const struct backend_conf *config_find_backend(const struct maglev_config *cfg, const char *name)
{
    return find(cfg->backends, cfg->n_backends, sizeof(*cfg->backends), name);
}

const struct frontend_conf *config_find_frontend(const struct maglev_config *cfg, const char *name)
{
    return find(cfg->frontends, cfg->n_frontends, sizeof(*cfg->frontends), name);
}

const char *config_hc_type_name(enum hc_type t)
{
    static const char *const names[] = { "icmp", "tcp", "http", "https" };
    return (unsigned)t < 4 ? names[t] : "?";
}

const char *config_fe_protocol_name(enum fe_protocol p)
{
    static const char *const names[] = { "any", "tcp", "udp" };
    return (unsigned)p < 3 ? names[p] : "?";
}
