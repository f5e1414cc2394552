// `lblab-agent --resolve-client`: a DNS round-robin client, the way real programs connect to a
// name. It runs as a process of its own because it needs a mount namespace (to see a resolv.conf
// of its own), and a multithreaded Swift process cannot unshare one per thread.
#define _GNU_SOURCE
#include "CLblabSys.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int resolve_usage(void) {
    fprintf(stderr,
            "usage: lblab-agent --resolve-client --name HOST [--port PORT] [--netns PATH] [--resolv-conf FILE]\n"
            "                   [--count N] [--interval-ms MS] [--timeout-ms MS] [--start-at EPOCH_SECONDS]\n"
            "Enters the network namespace PATH, then a mount namespace of its own where FILE is bind-mounted\n"
            "on /etc/resolv.conf (as `ip netns exec` does with /etc/netns/<ns>/resolv.conf). Then N times:\n"
            "getaddrinfo(HOST), connect to the first address, one HTTP/1.0 request, and one line on standard\n"
            "output:  t=START ms=LATENCY addrs=A,B,... chosen=A server=NODE err=ERROR  ('-' when none).\n");
    return 2;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_until(double t) {
    double d = t - now_seconds();
    if (d <= 0) return;
    struct timespec ts = {(time_t)d, (long)((d - (double)(time_t)d) * 1e9)};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

/// Enters the namespace and mounts `resolv` on /etc/resolv.conf in a private mount namespace.
static int enter(const char *netns, const char *resolv) {
    if (netns) {
        int fd = open(netns, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
            fprintf(stderr, "lblab-agent: enter the network namespace %s: %s\n", netns, strerror(errno));
            return -1;
        }
        close(fd);
    }
    if (resolv) {
        if (unshare(CLONE_NEWNS) != 0) { fprintf(stderr, "lblab-agent: unshare(CLONE_NEWNS): %s\n", strerror(errno)); return -1; }
        // Our mounts must not propagate back to the host (ip netns exec does the same).
        if (mount("", "/", "none", MS_SLAVE | MS_REC, NULL) != 0) {
            fprintf(stderr, "lblab-agent: make / a slave mount: %s\n", strerror(errno));
            return -1;
        }
        if (mount(resolv, "/etc/resolv.conf", "none", MS_BIND, NULL) != 0) {
            fprintf(stderr, "lblab-agent: bind-mount %s on /etc/resolv.conf: %s\n", resolv, strerror(errno));
            return -1;
        }
    }
    return 0;
}

/// Connects to `sa` within `timeout_ms`, sends one request, reads the answer's X-Lblab-Node into
/// `server`. Returns NULL, or what went wrong.
static const char *fetch(const struct sockaddr *sa, socklen_t len, const char *host, int timeout_ms, char *server, size_t size) {
    static char err[64];
    int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) { snprintf(err, sizeof err, "socket:%d", errno); return err; }
    const char *result = NULL;
    if (connect(fd, sa, len) != 0 && errno != EINPROGRESS) {
        snprintf(err, sizeof err, "connect:%s", strerrorname_np(errno) ? strerrorname_np(errno) : "?");
        close(fd);
        return err;
    }
    struct pollfd p = {fd, POLLOUT, 0};
    if (poll(&p, 1, timeout_ms) <= 0) { close(fd); return "timeout"; }
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    if (soerr != 0) {
        snprintf(err, sizeof err, "connect:%s", strerrorname_np(soerr) ? strerrorname_np(soerr) : "?");
        close(fd);
        return err;
    }
    char req[512];
    int rl = snprintf(req, sizeof req, "GET / HTTP/1.0\r\nHost: %s\r\n\r\n", host);
    if (rl < 0 || send(fd, req, (size_t)rl, MSG_NOSIGNAL) != rl) { close(fd); return "send"; }
    char buf[2048];
    size_t got = 0;
    for (;;) {
        p.events = POLLIN;
        if (poll(&p, 1, timeout_ms) <= 0) { result = "timeout"; break; }
        ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);
        if (n < 0) { snprintf(err, sizeof err, "read:%s", strerrorname_np(errno) ? strerrorname_np(errno) : "?"); result = err; break; }
        if (n == 0) break;
        got += (size_t)n;
        if (got == sizeof buf - 1) break;
    }
    close(fd);
    buf[got] = 0;
    if (result) return result;
    const char *h = strstr(buf, "X-Lblab-Node: ");
    if (!h) return got == 0 ? "empty" : "no-node-header";
    h += strlen("X-Lblab-Node: ");
    size_t k = 0;
    while (h[k] && h[k] != '\r' && h[k] != '\n' && k + 1 < size) { server[k] = h[k]; k++; }
    server[k] = 0;
    return NULL;
}

int lblab_resolve_client_main(int argc, char **argv) {
    const char *host = NULL, *netns = NULL, *resolv = NULL, *port = "80";
    long count = 1, interval_ms = 0, timeout_ms = 2000;
    double start_at = 0;
    for (int i = 2; i < argc; i += 2) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return resolve_usage();
        if (strcmp(a, "--name") == 0) host = v;
        else if (strcmp(a, "--port") == 0) port = v;
        else if (strcmp(a, "--netns") == 0) netns = v;
        else if (strcmp(a, "--resolv-conf") == 0) resolv = v;
        else if (strcmp(a, "--count") == 0) count = strtol(v, NULL, 10);
        else if (strcmp(a, "--interval-ms") == 0) interval_ms = strtol(v, NULL, 10);
        else if (strcmp(a, "--timeout-ms") == 0) timeout_ms = strtol(v, NULL, 10);
        else if (strcmp(a, "--start-at") == 0) start_at = strtod(v, NULL);
        else return resolve_usage();
    }
    if (!host || count < 1 || interval_ms < 0 || timeout_ms < 1) return resolve_usage();
    if (enter(netns, resolv) != 0) return 1;
    if (start_at > 0) sleep_until(start_at);
    double next = now_seconds();
    for (long c = 0; c < count; c++) {
        sleep_until(next);
        next += (double)interval_ms / 1000.0;
        double t0 = now_seconds();
        struct addrinfo hints, *res = NULL;
        memset(&hints, 0, sizeof hints);
        hints.ai_family = AF_INET;
        hints.ai_socktype = SOCK_STREAM;
        int rc = getaddrinfo(host, port, &hints, &res);
        char addrs[1024] = "", chosen[64] = "-", server[128] = "-";
        const char *err = NULL;
        char gai[64];
        if (rc != 0) {
            snprintf(gai, sizeof gai, "resolve:%d", rc);
            err = gai;
        } else {
            size_t off = 0;
            for (struct addrinfo *r = res; r; r = r->ai_next) {
                char a[64];
                inet_ntop(AF_INET, &((struct sockaddr_in *)r->ai_addr)->sin_addr, a, sizeof a);
                int w = snprintf(addrs + off, sizeof addrs - off, "%s%s", off ? "," : "", a);
                if (w < 0 || (size_t)w >= sizeof addrs - off) break;
                off += (size_t)w;
            }
            inet_ntop(AF_INET, &((struct sockaddr_in *)res->ai_addr)->sin_addr, chosen, sizeof chosen);
            err = fetch(res->ai_addr, res->ai_addrlen, host, (int)timeout_ms, server, sizeof server);
            freeaddrinfo(res);
        }
        double ms = (now_seconds() - t0) * 1000.0;
        printf("t=%.6f ms=%.3f addrs=%s chosen=%s server=%s err=%s\n", t0, ms, addrs[0] ? addrs : "-", chosen,
               err ? "-" : server, err ? err : "-");
        fflush(stdout);
    }
    return 0;
}
