/* netns.c: sockets created inside a network namespace. A socket keeps the
 * namespace it was created in, so the thread enters the namespace only
 * around socket(2) and returns at once. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "health/probe_int.h"

static int self_ns_fd = -1;
static unsigned holders;

void netns_hold(void)
{
    holders++;
}

void netns_release(void)
{
    if (holders > 0 && --holders == 0 && self_ns_fd >= 0) {
        close(self_ns_fd);
        self_ns_fd = -1;
    }
}

static int open_self(void)
{
    if (self_ns_fd < 0)
        self_ns_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    return self_ns_fd;
}

static int open_netns(const char *netns)
{
    char path[512];
    if (netns[0] == '/') {
        snprintf(path, sizeof(path), "%s", netns);
    } else {
        snprintf(path, sizeof(path), "/run/netns/%s", netns);
        if (access(path, F_OK) != 0) /* older systems */
            snprintf(path, sizeof(path), "/var/run/netns/%s", netns);
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

static int bind_source(int fd, const struct ip_addr *src)
{
    struct sockaddr_storage ss;
    socklen_t len = probe_sockaddr(src, 0, &ss);
    return bind(fd, (struct sockaddr *)&ss, len) < 0 ? -errno : 0;
}

int netns_socket(const char *netns, int domain, int type, int protocol, const struct ip_addr *src,
                 char *err, size_t errlen)
{
    int nsfd = -1, fd;
    if (netns) {
        if (open_self() < 0) {
            snprintf(err, errlen, "cannot open own netns: %s", strerror(errno));
            return -errno;
        }
        nsfd = open_netns(netns);
        if (nsfd < 0) {
            snprintf(err, errlen, "netns %s: %s", netns, strerror(-nsfd));
            return nsfd;
        }
        if (setns(nsfd, CLONE_NEWNET) < 0) {
            int e = errno;
            close(nsfd);
            snprintf(err, errlen, "netns %s: setns: %s", netns, strerror(e));
            return -e;
        }
    }
    fd = socket(domain, type | SOCK_NONBLOCK | SOCK_CLOEXEC, protocol);
    int e = errno;
    if (netns) {
        close(nsfd);
        if (setns(self_ns_fd, CLONE_NEWNET) < 0) {
            /* the loop thread must never stay in a probe's namespace */
            log_error("netns-return-failed", LOG_STR("netns", netns),
                      LOG_STR("error", strerror(errno)));
            abort();
        }
    }
    if (fd < 0) {
        snprintf(err, errlen, "socket: %s%s%s", strerror(e), netns ? " in netns " : "",
                 netns ? netns : "");
        return -e;
    }
    if (src && ip_addr_is_set(src)) {
        int rc = bind_source(fd, src);
        if (rc < 0) {
            char a[IP_ADDR_STRLEN];
            snprintf(err, errlen, "bind to source %s: %s", ip_addr_format(src, a, sizeof(a)),
                     strerror(-rc));
            close(fd);
            return rc;
        }
    }
    return fd;
}

socklen_t probe_sockaddr(const struct ip_addr *addr, uint16_t port, struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof(*ss));
    if (addr->family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_port = htons(port);
        sin->sin_addr = addr->u.v4;
        return sizeof(*sin);
    }
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons(port);
    sin6->sin6_addr = addr->u.v6;
    return sizeof(*sin6);
}
