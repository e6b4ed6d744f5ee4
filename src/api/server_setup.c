/* server_setup: method table and listener preparation for grpc_server.c. */
#include "api/server_setup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/log.h"
#include "common/mem.h"

#define SUN_PATH_MAX sizeof(((struct sockaddr_un *)0)->sun_path)

int api_routes_build(const struct api_server_opts *o, struct api_route **out, size_t *n, char *err,
                     size_t errlen)
{
    const ProtobufCServiceDescriptor *sd = o->service;
    struct api_route *r = mem_calloc(sd->n_methods, sizeof(*r));
    for (size_t i = 0; i < sd->n_methods; i++) {
        r[i].desc = &sd->methods[i];
        size_t plen = strlen(sd->name) + strlen(r[i].desc->name) + 3;
        r[i].path = mem_alloc(plen);
        snprintf(r[i].path, plen, "/%s/%s", sd->name, r[i].desc->name);
    }
    for (size_t j = 0; j < o->n_methods; j++) {
        const struct api_method *am = &o->methods[j];
        struct api_route *m = NULL;
        for (size_t i = 0; i < sd->n_methods && !m; i++) {
            if (strcmp(r[i].desc->name, am->name) == 0)
                m = &r[i];
        }
        if (!m || m->fn || !am->fn) {
            snprintf(err, errlen, "api: method %s: %s", am->name,
                     !m      ? "not in the service"
                     : m->fn ? "given twice"
                             : "no handler");
            api_routes_free(r, sd->n_methods);
            return -EINVAL;
        }
        m->fn = am->fn;
        m->stream = am->stream;
    }
    *out = r;
    *n = sd->n_methods;
    return 0;
}

void api_routes_free(struct api_route *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++)
        free(r[i].path);
    free(r);
}

/* mkdir the socket's directory (0750) when missing. */
static int make_dir(const char *path, char *err, size_t errlen)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return 0;
    char *dir = mem_strndup(path, (size_t)(slash - path));
    int rc = 0;
    if (mkdir(dir, 0750) == 0)
        rc = chmod(dir, 0750) < 0 ? -errno : 0; /* whatever the umask */
    else if (errno != EEXIST)
        rc = -errno;
    if (rc < 0)
        snprintf(err, errlen, "unix:%s: cannot create directory %s: %s", path, dir, strerror(-rc));
    free(dir);
    return rc;
}

/* Takes PATH.lock; returns the descriptor or -errno. */
static int take_lock(const char *path, char *err, size_t errlen)
{
    char lock[SUN_PATH_MAX + 8];
    snprintf(lock, sizeof(lock), "%s.lock", path);
    int fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "unix:%s: cannot open %s: %s", path, lock, strerror(e));
        return -e;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        close(fd);
        if (e == EWOULDBLOCK) {
            snprintf(err, errlen, "unix:%s: another maglevd holds %s", path, lock);
            return -EADDRINUSE;
        }
        snprintf(err, errlen, "unix:%s: cannot lock %s: %s", path, lock, strerror(e));
        return -e;
    }
    char pid[24];
    int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || write(fd, pid, (size_t)n) != n)
        log_debug("api-lock-pid-write-failed", LOG_STR("path", lock));
    return fd;
}

static int prepare_one(struct api_listener *l, char *err, size_t errlen)
{
    if (strncmp(l->addr, "unix:", 5) != 0)
        return 0;
    const char *path = l->unix_path = l->addr + 5;
    if (!*path || strlen(path) >= SUN_PATH_MAX) {
        snprintf(err, errlen, "%s: %s", l->addr,
                 *path ? "path too long (max 107 bytes)" : "empty path");
        return -EINVAL;
    }
    int rc = make_dir(path, err, errlen);
    if (rc == 0 && (rc = take_lock(path, err, errlen)) >= 0) {
        l->lock_fd = rc;
        rc = 0;
    }
    return rc;
}

int api_listeners_prepare(const char *addrs, struct api_listener **out, size_t *n, char *err,
                          size_t errlen)
{
    size_t cap = 1, count = 0;
    for (const char *p = addrs; *p; p++)
        cap += *p == ',';
    struct api_listener *ls = mem_calloc(cap, sizeof(*ls));
    char *list = mem_strdup(addrs);
    int rc = 0;
    char *save = NULL;
    for (char *a = strtok_r(list, ",", &save); a && rc == 0; a = strtok_r(NULL, ",", &save)) {
        a += strspn(a, " \t");
        for (char *e = a + strlen(a); e > a && (e[-1] == ' ' || e[-1] == '\t');)
            *--e = '\0';
        if (!*a)
            continue;
        struct api_listener *l = &ls[count];
        *l = (struct api_listener){ .addr = mem_strdup(a), .lock_fd = -1 };
        count++;
        rc = prepare_one(l, err, errlen);
    }
    free(list);
    if (rc == 0 && count == 0) {
        snprintf(err, errlen, "api: no listener address given");
        rc = -EINVAL;
    }
    if (rc < 0) {
        api_listeners_release(ls, count, false);
        return rc;
    }
    *out = ls;
    *n = count;
    return 0;
}

void api_listeners_release(struct api_listener *l, size_t n, bool unlink_sockets)
{
    for (size_t i = 0; l && i < n; i++) {
        if (l[i].unix_path && unlink_sockets)
            unlink(l[i].unix_path);
        if (l[i].lock_fd >= 0)
            close(l[i].lock_fd);
        free(l[i].addr);
    }
    free(l);
}
