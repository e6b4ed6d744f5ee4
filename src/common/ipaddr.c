/* ipaddr: IPv4/IPv6 addresses as plain values. */
#include "common/ipaddr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

int ip_addr_parse(const char *s, struct ip_addr *out)
{
    if (!s || !out)
        return -EINVAL;

    /* inet_pton is strict: it takes neither spaces, brackets, prefix
     * lengths, zone ids nor ports, and glibc's rejects IPv4 octets with
     * leading zeros. The family is decided by the presence of a colon. */
    struct ip_addr a;
    memset(&a, 0, sizeof(a));
    a.family = strchr(s, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(a.family, s, &a.u) != 1)
        return -EINVAL;
    *out = a;
    return 0;
}

char *ip_addr_format(const struct ip_addr *a, char *buf, size_t len)
{
    char tmp[IP_ADDR_STRLEN];
    const char *text = "unset";

    if (a && (a->family == AF_INET || a->family == AF_INET6)) {
        if (inet_ntop(a->family, &a->u, tmp, sizeof(tmp)))
            text = tmp;
    }
    if (buf && len > 0) {
        size_t n = strlen(text);
        if (n > len - 1)
            n = len - 1;
        memcpy(buf, text, n);
        buf[n] = '\0';
    }
    return buf;
}

static int ip_addr_family_rank(int family)
{
    switch (family) {
    case AF_INET:
        return 1;
    case AF_INET6:
        return 2;
    default:
        return 0;
    }
}

int ip_addr_cmp(const struct ip_addr *a, const struct ip_addr *b)
{
    int ra = ip_addr_family_rank(a->family);
    int rb = ip_addr_family_rank(b->family);
    if (ra != rb)
        return ra < rb ? -1 : 1;
    size_t n = ra == 1 ? 4 : ra == 2 ? 16 : 0;
    if (n == 0)
        return 0;
    int c = memcmp(a->u.bytes, b->u.bytes, n);
    return c < 0 ? -1 : c > 0 ? 1 : 0;
}

bool ip_addr_equal(const struct ip_addr *a, const struct ip_addr *b)
{
    return ip_addr_cmp(a, b) == 0;
}

bool ip_addr_is_set(const struct ip_addr *a)
{
    return a && (a->family == AF_INET || a->family == AF_INET6);
}

const char *ip_addr_family_name(int family)
{
    switch (family) {
    case AF_INET:
        return "ipv4";
    case AF_INET6:
        return "ipv6";
    default:
        return "unset";
    }
}
