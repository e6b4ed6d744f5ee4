/* addr.c: is a --metrics-addr list loopback only? Pure. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "dashboard/dashboard.h"

static bool host_loopback(const char *h)
{
    struct in_addr a4;
    struct in6_addr a6;
    if (!strcmp(h, "localhost"))
        return true;
    if (inet_pton(AF_INET, h, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, h, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6) || (IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127);
    return false;
}

bool dashboard_addrs_loopback(const char *addrs)
{
    if (!addrs || !*addrs)
        return true; /* no listener: nothing exposed */
    const char *p = addrs;
    while (*p) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        char one[96], host[64];
        if (n == 0 || n >= sizeof(one))
            return false;
        snprintf(one, sizeof(one), "%.*s", (int)n, p);
        const char *colon;
        if (one[0] == '[') {
            const char *close_ = strchr(one, ']');
            if (!close_ || (size_t)(close_ - one - 1) >= sizeof(host))
                return false;
            snprintf(host, sizeof(host), "%.*s", (int)(close_ - one - 1), one + 1);
        } else {
            colon = strrchr(one, ':');
            if (!colon || (size_t)(colon - one) >= sizeof(host))
                return false;
            snprintf(host, sizeof(host), "%.*s", (int)(colon - one), one);
        }
        if (!host_loopback(host))
            return false;
        p += n;
        if (*p == ',')
            p++;
    }
    return true;
}
