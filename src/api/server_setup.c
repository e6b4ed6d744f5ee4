/* server_setup: method table and listener preparation for grpc_server.c. */
#include "api/server_setup.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/socket.h>
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
        static const char *const ro_prefixes[] = { "Get", "List", "Watch", "Plan" };
        for (size_t k = 0; k < 4; k++)
            r[i].read_only |= strncmp(r[i].desc->name, ro_prefixes[k], strlen(ro_prefixes[k])) == 0;
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

bool api_addr_is_loopback(const char *addr)
{
    if (strncmp(addr, "ipv4:", 5) == 0 || strncmp(addr, "ipv6:", 5) == 0)
        addr += 5;
    char host[256];
    const char *end;
    if (addr[0] == '[') {
        addr++;
        end = strchr(addr, ']');
    } else {
        end = strrchr(addr, ':');
    }
    if (!end || (size_t)(end - addr) >= sizeof(host) || end == addr)
        return false;
    memcpy(host, addr, (size_t)(end - addr));
    host[end - addr] = '\0';
    if (strcasecmp(host, "localhost") == 0)
        return true;
    struct in_addr a4;
    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    struct in6_addr a6;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return false;
}

/* api_socket_perms_set: (gid_t)-1 keeps maglevd's group, 0 means 0660 */
static gid_t sock_gid = (gid_t)-1;
static const char *sock_group;
static mode_t sock_mode;

void api_socket_perms_set(gid_t gid, const char *group_name, mode_t mode)
{
    sock_gid = gid;
    sock_group = gid == (gid_t)-1 ? NULL : group_name;
    sock_mode = mode;
}

/* An existing directory is left as it is: warn when the socket group was
 * given and its members cannot traverse the directory. */
static void check_dir_group(const char *dir)
{
    struct stat st;
    if (sock_gid == (gid_t)-1 || stat(dir, &st) < 0)
        return;
    if ((st.st_mode & S_IXOTH) || (st.st_gid == sock_gid && (st.st_mode & S_IXGRP)))
        return;
    char mode[8];
    snprintf(mode, sizeof(mode), "%04o", (unsigned)(st.st_mode & 07777));
    log_warn("api-socket-dir-not-traversable", LOG_STR("dir", dir), LOG_STR("mode", mode),
             LOG_STR("group", sock_group ? sock_group : "?"),
             LOG_STR("fix", "the directory exists and is left as it is: members of the socket "
                            "group cannot reach the socket; chgrp it to that group with g+x"));
}

/* mkdir the socket's directory (0750, the socket group) when missing. */
static int make_dir(const char *path, char *err, size_t errlen)
{
    const char *slash = strrchr(path, '/');
    if (!slash || slash == path)
        return 0;
    char *dir = mem_strndup(path, (size_t)(slash - path));
    int rc = 0;
    if (mkdir(dir, 0750) == 0) {
        if (sock_gid != (gid_t)-1 && chown(dir, (uid_t)-1, sock_gid) < 0)
            rc = -errno;
        else if (chmod(dir, 0750) < 0) /* whatever the umask */
            rc = -errno;
    } else if (errno == EEXIST) {
        check_dir_group(dir);
    } else {
        rc = -errno;
    }
    if (rc < 0)
        snprintf(err, errlen, "unix:%s: cannot create directory %s (mode 0750%s%s): %s", path, dir,
                 sock_group ? ", group " : "", sock_group ? sock_group : "", strerror(-rc));
    free(dir);
    return rc;
}

/* Opens and locks PATH.lock once: the descriptor, -EAGAIN when the file we
 * locked is no longer the one at that name (its holder removed it while
 * exiting: try again), or another -errno. */
static int lock_once(const char *path, const char *lock, char *err, size_t errlen)
{
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
    struct stat held, named;
    if (fstat(fd, &held) < 0 || lstat(lock, &named) < 0 || held.st_dev != named.st_dev ||
        held.st_ino != named.st_ino) {
        close(fd);
        snprintf(err, errlen, "unix:%s: %s keeps changing under us", path, lock);
        return -EAGAIN;
    }
    return fd;
}

/* Takes PATH.lock; returns the descriptor or -errno. */
static int take_lock(const char *path, char *err, size_t errlen)
{
    char lock[SUN_PATH_MAX + 8];
    snprintf(lock, sizeof(lock), "%s.lock", path);
    int fd = -EAGAIN;
    for (int tries = 0; fd == -EAGAIN && tries < 5; tries++)
        fd = lock_once(path, lock, err, errlen);
    if (fd < 0)
        return fd;
    char pid[24];
    int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
    if (ftruncate(fd, 0) < 0 || write(fd, pid, (size_t)n) != n)
        log_debug("api-lock-pid-write-failed", LOG_STR("path", lock));
    return fd;
}

static const char *file_kind(mode_t m)
{
    return S_ISLNK(m)    ? "a symlink"
           : S_ISREG(m)  ? "a regular file"
           : S_ISDIR(m)  ? "a directory"
           : S_ISFIFO(m) ? "a FIFO"
           : S_ISCHR(m)  ? "a character device"
           : S_ISBLK(m)  ? "a block device"
                         : "not a socket";
}

/* What sits at PATH before we bind there (we hold PATH.lock, so no other
 * maglevd is starting on it). Nothing: fine. A socket nobody listens on (a
 * maglevd that did not exit cleanly): removed. Anything else is left alone
 * and refuses the start. */
static int check_path(const char *path, char *err, size_t errlen)
{
    struct stat st;
    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        int e = errno;
        snprintf(err, errlen, "unix:%s: cannot check the socket path: %s", path, strerror(e));
        return -e;
    }
    if (!S_ISSOCK(st.st_mode)) {
        snprintf(err, errlen,
                 "unix:%s: the path exists and is %s, not a socket; maglevd does not replace it: "
                 "give --grpc-addr another path (or remove it if it is a leftover)",
                 path, file_kind(st.st_mode));
        return -EEXIST;
    }
    /* Non-blocking: a live listener with a full backlog answers EAGAIN
     * instead of blocking us. */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "unix:%s: socket: %s", path, strerror(e));
        return -e;
    }
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int e = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : errno;
    close(fd);
    if (e == ENOENT)
        return 0; /* gone meanwhile */
    if (e == ECONNREFUSED) {
        if (unlink(path) < 0 && errno != ENOENT) {
            e = errno;
            snprintf(err, errlen, "unix:%s: cannot remove the stale socket: %s", path, strerror(e));
            return -e;
        }
        log_info("api-stale-socket-removed", LOG_STR("path", path),
                 LOG_STR("reason", "a socket nobody listens on (left by a process that did not "
                                   "exit cleanly)"));
        return 0;
    }
    if (e == 0 || e == EAGAIN || e == EPROTOTYPE)
        snprintf(err, errlen,
                 "unix:%s: a live listener answers at this socket (another program, or a "
                 "maglevd whose lock file was removed); maglevd does not replace it: stop "
                 "that program or give --grpc-addr another path",
                 path);
    else
        snprintf(err, errlen,
                 "unix:%s: a socket exists there and connecting to it fails (%s); maglevd does "
                 "not replace it: give --grpc-addr another path (or remove it if it is stale)",
                 path, strerror(e));
    return -EADDRINUSE;
}

/* "?ro&max-conns=N" cut off l->addr into l->ro and l->max_conns. */
static int parse_options(struct api_listener *l, char *err, size_t errlen)
{
    char *q = strchr(l->addr, '?');
    if (!q)
        return 0;
    *q++ = '\0';
    char *save = NULL;
    for (char *o = strtok_r(q, "&", &save); o; o = strtok_r(NULL, "&", &save)) {
        char *end = NULL;
        if (strcmp(o, "ro") == 0) {
            l->ro = true;
        } else if (strncmp(o, "max-conns=", 10) == 0) {
            errno = 0;
            unsigned long v = strtoul(o + 10, &end, 10);
            if (errno || end == o + 10 || *end || v == 0 || v > 1000000 || o[10] == '-') {
                snprintf(err, errlen,
                         "%s: option \"%s\": give a number of connections from 1 to 1000000",
                         l->addr, o);
                return -EINVAL;
            }
            l->max_conns = (unsigned)v;
        } else {
            snprintf(err, errlen,
                     "%s: unknown listener option \"%s\" (known: ro, max-conns=N; join "
                     "several with '&', e.g. unix:/run/vpp-maglev/ro.sock?ro&max-conns=16)",
                     l->addr, o);
            return -EINVAL;
        }
    }
    return 0;
}

static int prepare_one(struct api_listener *l, char *err, size_t errlen)
{
    int rc = parse_options(l, err, errlen);
    if (rc < 0)
        return rc;
    if (strncmp(l->addr, "unix:", 5) != 0)
        return 0;
    const char *path = l->unix_path = l->addr + 5;
    if (!*path || strlen(path) >= SUN_PATH_MAX) {
        snprintf(err, errlen, "%s: %s", l->addr,
                 *path ? "path too long (max 107 bytes)" : "empty path");
        return -EINVAL;
    }
    rc = make_dir(path, err, errlen);
    if (rc == 0 && (rc = take_lock(path, err, errlen)) >= 0) {
        l->lock_fd = rc;
        rc = check_path(path, err, errlen);
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
        api_listeners_release(ls, count);
        return rc;
    }
    *out = ls;
    *n = count;
    return 0;
}

void api_listener_bound(struct api_listener *l)
{
    struct stat st;
    if (!l->unix_path || l->bound || lstat(l->unix_path, &st) < 0 || !S_ISSOCK(st.st_mode))
        return;
    l->bound = true;
    l->dev = st.st_dev;
    l->ino = st.st_ino;
}

int api_listener_set_perms(const struct api_listener *l, char *err, size_t errlen)
{
    if (!l->unix_path)
        return 0;
    mode_t mode = sock_mode ? sock_mode : 0660;
    if (sock_gid != (gid_t)-1 && lchown(l->unix_path, (uid_t)-1, sock_gid) < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: cannot give the socket group %s: %s", l->addr, sock_group,
                 strerror(e));
        return -e;
    }
    if (chmod(l->unix_path, mode) < 0) {
        int e = errno;
        snprintf(err, errlen, "%s: chmod %04o: %s", l->addr, (unsigned)mode, strerror(e));
        return -e;
    }
    return 0;
}

/* Unlinks path when it is still the file (dev, ino) of the given type. */
static void unlink_ours(const char *path, mode_t type, dev_t dev, ino_t ino)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return;
    if ((st.st_mode & S_IFMT) != type || st.st_dev != dev || st.st_ino != ino) {
        log_warn("api-socket-path-replaced", LOG_STR("path", path),
                 LOG_STR("action", "left alone: not the file maglevd created"));
        return;
    }
    if (unlink(path) < 0)
        log_debug("api-unlink-failed", LOG_STR("path", path), LOG_STR("error", strerror(errno)));
}

void api_listeners_release(struct api_listener *l, size_t n)
{
    for (size_t i = 0; l && i < n; i++) {
        if (l[i].bound)
            unlink_ours(l[i].unix_path, S_IFSOCK, l[i].dev, l[i].ino);
        struct stat held;
        if (l[i].lock_fd >= 0 && fstat(l[i].lock_fd, &held) == 0) {
            char lock[SUN_PATH_MAX + 8];
            snprintf(lock, sizeof(lock), "%s.lock", l[i].unix_path);
            unlink_ours(lock, S_IFREG, held.st_dev, held.st_ino);
        }
        if (l[i].lock_fd >= 0)
            close(l[i].lock_fd);
        free(l[i].addr);
    }
    free(l);
}
