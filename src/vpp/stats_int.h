/* vpp/stats internals: the I/O of getting VPP's stats segment (stats_io.c),
 * kept apart from the reading logic (stats.c) and the pure walk
 * (stats_seg.c). Each function returns 0 or a negative errno. */
#ifndef MAGLEV_VPP_STATS_INT_H
#define MAGLEV_VPP_STATS_INT_H

#include <stddef.h>
#include <stdint.h>

/* The socket file's identity: a VPP restart re-creates it. Inode numbers
 * are reused at once on tmpfs (/run), so the change time (ns) is part of
 * it; a chmod/chown of the socket then costs one needless remap. */
struct vpp_stats_file_id {
    uint64_t dev, ino;
    int64_t ctime_s, ctime_ns;
};
int vpp_stats_io_path_id(const char *path, struct vpp_stats_file_id *id);
/* A non-blocking, close-on-exec AF_UNIX SOCK_SEQPACKET socket connected
 * to path. Local connects complete at once (or fail: -ENOENT,
 * -ECONNREFUSED, -EAGAIN when VPP's backlog is full). */
int vpp_stats_io_dial(const char *path, int *sock);
/* VPP's one message: an empty payload with the segment's fd in
 * SCM_RIGHTS. Waits at most wait_ms for it (< 0: not at all). -EAGAIN
 * when nothing came yet, -ECONNRESET when the peer closed without an fd,
 * -EPROTO for a message that is not what VPP sends. Extra fds are closed. */
int vpp_stats_io_recv_fd(int sock, int wait_ms, int *fd);
/* The memfd's size (fstat). */
int vpp_stats_io_size(int fd, size_t *size);
/* fstat + mmap(PROT_READ, MAP_SHARED) of the whole file. */
int vpp_stats_io_map(int fd, const void **map, size_t *size);
void vpp_stats_io_unmap(const void *map, size_t size);

#endif
