/* vpp/stats_io: the stats socket and the segment's mapping (stats_int.h). */
#include "vpp/stats_int.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int vpp_stats_io_path_id(const char *path, struct vpp_stats_file_id *id)
{
    struct stat st;
    if (stat(path, &st) < 0)
        return -errno;
    if (!S_ISSOCK(st.st_mode))
        return -ENOTSOCK;
    id->dev = (uint64_t)st.st_dev;
    id->ino = (uint64_t)st.st_ino;
    id->ctime_s = (int64_t)st.st_ctim.tv_sec;
    id->ctime_ns = (int64_t)st.st_ctim.tv_nsec;
    return 0;
}

int vpp_stats_io_dial(const char *path, int *sock)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    size_t len = strlen(path);
    if (len == 0 || len >= sizeof(sa.sun_path))
        return -ENAMETOOLONG;
    memcpy(sa.sun_path, path, len + 1);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        int err = errno == EINPROGRESS ? EAGAIN : errno;
        close(fd);
        return -err;
    }
    *sock = fd;
    return 0;
}

static void close_fds(struct msghdr *m)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
            close(fd);
        }
    }
}

/* Takes the first fd of the first SCM_RIGHTS message, closes the rest. */
static int take_fd(struct msghdr *m, int *out)
{
    int got = -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(fd));
            if (got < 0)
                got = fd;
            else
                close(fd);
        }
    }
    if (got < 0)
        return -EPROTO;
    *out = got;
    return 0;
}

int vpp_stats_io_recv_fd(int sock, int wait_ms, int *fd)
{
    char b[16];
    struct iovec io = { .iov_base = b, .iov_len = sizeof(b) };
    union {
        char buf[CMSG_SPACE(4 * sizeof(int))];
        struct cmsghdr align;
    } u;
    for (int round = 0;; round++) {
        struct msghdr m = { .msg_iov = &io, .msg_iovlen = 1 };
        m.msg_control = u.buf;
        m.msg_controllen = sizeof(u.buf);
        ssize_t n = recvmsg(sock, &m, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n >= 0) {
            if (m.msg_flags & MSG_CTRUNC) { /* a payload (VPP sends none) is ignored */
                close_fds(&m);
                return -EPROTO;
            }
            if (m.msg_controllen == 0)
                return n == 0 ? -ECONNRESET : -EPROTO;
            return take_fd(&m, fd);
        }
        if (errno == EINTR)
            continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK)
            return -errno;
        if (round > 0 || wait_ms < 0)
            return -EAGAIN;
        struct pollfd p = { .fd = sock, .events = POLLIN };
        if (poll(&p, 1, wait_ms) <= 0)
            return -EAGAIN;
    }
}

int vpp_stats_io_size(int fd, size_t *size)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || st.st_size < 0 || (uint64_t)st.st_size > SIZE_MAX)
        return -EBADF;
    *size = (size_t)st.st_size;
    return 0;
}

int vpp_stats_io_map(int fd, const void **map, size_t *size)
{
    size_t sz;
    int rc = vpp_stats_io_size(fd, &sz);
    if (rc < 0)
        return rc;
    if (sz == 0)
        return -EBADMSG;
    void *p = mmap(NULL, sz, PROT_READ, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        return -errno;
    *map = p;
    *size = sz;
    return 0;
}

void vpp_stats_io_unmap(const void *map, size_t size)
{
    if (map)
        munmap((void *)(uintptr_t)map, size);
}
