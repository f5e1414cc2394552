// The agent's serving loop: TCP (HTTP) and UDP on one port, IPv4 and IPv6, one epoll loop, so
// a connection held open never stops the others.
#define _GNU_SOURCE
#include "CLblabSys.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/// Seconds a client has to send its whole request (the agent closes the connection after).
#define REQUEST_SECONDS 2

static int close_keeping_errno(int fd) {
    int e = errno;
    if (fd >= 0) close(fd);
    errno = e;
    return -1;
}

/// A TCP socket listening on `port` on every address: IPv6 with IPv4-mapped addresses, or IPv4
/// alone where the kernel has no IPv6. SO_REUSEADDR; -1 with errno on error.
static int listen_tcp(uint16_t port) {
    int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    int one = 1, zero = 0;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
        struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_ANY_INIT};
        if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 4096) != 0) return close_keeping_errno(fd);
        return fd;
    }
    if (errno != EAFNOSUPPORT) return -1;
    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 4096) != 0) return close_keeping_errno(fd);
    return fd;
}

/// A UDP socket on `port` of `family` (IPv6 only v6) that learns each datagram's destination
/// address, so the answer leaves from it (a DR real server answers from the VIP). -1 with errno.
static int open_udp(int family, uint16_t port) {
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int rc;
    if (family == AF_INET6) {
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
        setsockopt(fd, IPPROTO_IPV6, IPV6_RECVPKTINFO, &one, sizeof one);
        struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(port), .sin6_addr = IN6ADDR_ANY_INIT};
        rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    } else {
        setsockopt(fd, IPPROTO_IP, IP_PKTINFO, &one, sizeof one);
        struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
        rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    }
    return rc == 0 ? fd : close_keeping_errno(fd);
}

int lblab_agent_open(struct lblab_agent *agent, const char *name, uint16_t port) {
    agent->name = name;
    agent->udp4 = agent->udp6 = -1;
    agent->delay_ms = 0;
    if ((agent->tcp = listen_tcp(port)) < 0) return errno;
    if ((agent->udp4 = open_udp(AF_INET, port)) < 0) {
        int e = errno;
        close(agent->tcp);
        return e;
    }
    // IPv6 UDP only where the kernel has IPv6.
    if ((agent->udp6 = open_udp(AF_INET6, port)) < 0 && errno != EAFNOSUPPORT) {
        int e = errno;
        close(agent->tcp);
        close(agent->udp4);
        return e;
    }
    return 0;
}

/// One accepted TCP connection.
struct conn {
    int fd;
    int wants_hold;     // asked for /hold
    int hold;           // answered, waiting for the client to close
    size_t got, sent, resp_len;
    time_t deadline;    // for the request
    const char *resp;
    struct conn *prev, *next;
    char buf[2048];
};

static struct conn *conns;   // every open connection (the loop's own list; one agent per process)
static long delay_ms;        // the agent's --delay-ms (one agent per process)

static void drop(int ep, struct conn *c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (c->prev) c->prev->next = c->next; else conns = c->next;
    if (c->next) c->next->prev = c->prev;
    free(c);
}

/// Sends what is left of the response; 1 when all of it went, 0 to wait, -1 on error.
static int send_rest(struct conn *c) {
    while (c->sent < c->resp_len) {
        ssize_t n = send(c->fd, c->resp + c->sent, c->resp_len - c->sent, MSG_NOSIGNAL);
        if (n < 0) return errno == EAGAIN ? 0 : -1;
        c->sent += (size_t)n;
    }
    return 1;
}

/// Reads a connection's request, answers it once whole: closes, or (request `/hold`) keeps the
/// connection until the client closes it. A held connection may carry one more request (a
/// phase with `reuse`): it is answered as a plain one, and the server closes.
static void on_tcp(int ep, struct conn *c, uint32_t events, const char *resp, size_t resp_len, const char *hold_resp,
                   size_t hold_len) {
    if (c->hold) {
        for (;;) {
            if (c->got == sizeof c->buf) { drop(ep, c); return; }
            ssize_t n = recv(c->fd, c->buf + c->got, sizeof c->buf - c->got, 0);
            if (n > 0) {
                c->got += (size_t)n;
                if (c->got >= 4 && memmem(c->buf, c->got, "\r\n\r\n", 4)) break;   // a second request: answer it
                continue;
            }
            if (n < 0 && errno == EAGAIN && !(events & (EPOLLHUP | EPOLLERR))) return;
            drop(ep, c);   // the client closed (or the connection failed)
            return;
        }
        c->hold = 0;
        c->wants_hold = 0;
        c->resp = resp;
        c->resp_len = resp_len;
        c->sent = 0;
    }
    if (!c->resp) {
        for (;;) {
            if (c->got == sizeof c->buf) { drop(ep, c); return; }
            ssize_t n = recv(c->fd, c->buf + c->got, sizeof c->buf - c->got, 0);
            if (n == 0 || (n < 0 && errno != EAGAIN)) { drop(ep, c); return; }
            if (n < 0) return;
            c->got += (size_t)n;
            if (c->got >= 4 && memmem(c->buf, c->got, "\r\n\r\n", 4)) break;
        }
        // A slow server: the whole loop waits, as a server busy with one request at a time would.
        if (delay_ms > 0) usleep((useconds_t)delay_ms * 1000);
        c->wants_hold = c->got >= 10 && memcmp(c->buf, "GET /hold ", 10) == 0;
        c->resp = c->wants_hold ? hold_resp : resp;
        c->resp_len = c->wants_hold ? hold_len : resp_len;
    }
    int r = send_rest(c);
    if (r < 0) { drop(ep, c); return; }
    if (r == 0) {
        struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = c};
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
        return;
    }
    if (!c->wants_hold) { drop(ep, c); return; }   // answered: the server closes first
    c->hold = 1;
    c->got = 0;
    c->deadline = 0;
    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
}

/// Answers every waiting datagram with `X-Lblab-Node: NAME\n` and the datagram itself, from the
/// address it was sent to.
static void on_udp(int fd, const char *name) {
    char in[1024], out[1200];
    int head = snprintf(out, sizeof out, "X-Lblab-Node: %s\n", name);
    if (head < 0 || (size_t)head >= sizeof out) return;
    for (;;) {
        struct sockaddr_storage from;
        char control[256];
        struct iovec iov = {in, sizeof in};
        struct msghdr m = {.msg_name = &from, .msg_namelen = sizeof from, .msg_iov = &iov, .msg_iovlen = 1,
                           .msg_control = control, .msg_controllen = sizeof control};
        ssize_t n = recvmsg(fd, &m, 0);
        if (n < 0) return;
        size_t len = (size_t)n < sizeof out - (size_t)head ? (size_t)n : sizeof out - (size_t)head;
        memcpy(out + head, in, len);
        // The reply's source: the request's destination (IP_PKTINFO / IPV6_PKTINFO back as is,
        // with no interface forced).
        char reply_control[256];
        size_t clen = 0;
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
            if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO) {
                struct in_pktinfo pi;
                memcpy(&pi, CMSG_DATA(c), sizeof pi);
                pi.ipi_spec_dst = pi.ipi_addr;
                pi.ipi_ifindex = 0;
                struct cmsghdr *r = (struct cmsghdr *)reply_control;
                r->cmsg_level = IPPROTO_IP;
                r->cmsg_type = IP_PKTINFO;
                r->cmsg_len = CMSG_LEN(sizeof pi);
                memcpy(CMSG_DATA(r), &pi, sizeof pi);
                clen = CMSG_SPACE(sizeof pi);
            } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO) {
                struct in6_pktinfo pi;
                memcpy(&pi, CMSG_DATA(c), sizeof pi);
                pi.ipi6_ifindex = 0;
                struct cmsghdr *r = (struct cmsghdr *)reply_control;
                r->cmsg_level = IPPROTO_IPV6;
                r->cmsg_type = IPV6_PKTINFO;
                r->cmsg_len = CMSG_LEN(sizeof pi);
                memcpy(CMSG_DATA(r), &pi, sizeof pi);
                clen = CMSG_SPACE(sizeof pi);
            }
        }
        struct iovec oiov = {out, (size_t)head + len};
        struct msghdr o = {.msg_name = &from, .msg_namelen = m.msg_namelen, .msg_iov = &oiov, .msg_iovlen = 1,
                           .msg_control = clen ? reply_control : NULL, .msg_controllen = clen};
        ssize_t w = sendmsg(fd, &o, MSG_NOSIGNAL);
        (void)w;
    }
}

static int hold_response(char *buf, size_t size, const char *name) {
    int len = snprintf(buf, size,
                       "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nX-Lblab-Node: %s\r\n"
                       "Content-Length: %zu\r\nConnection: keep-alive\r\n\r\n%s\n",
                       name, strlen(name) + 1, name);
    return (len < 0 || (size_t)len >= size) ? -1 : len;
}

void lblab_agent_serve(const struct lblab_agent *agent) {
    delay_ms = agent->delay_ms;
    char resp[512], hold[512];
    int resp_len = lblab_agent_response(resp, sizeof resp, agent->name);
    int hold_len = hold_response(hold, sizeof hold, agent->name);
    if (resp_len < 0 || hold_len < 0) return;
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) return;
    // Listening and UDP sockets are told apart by their fd in data.u64 (tagged by the high bit).
    const uint64_t tag = 1ULL << 63;
    int own[3] = {agent->tcp, agent->udp4, agent->udp6};
    for (int i = 0; i < 3; i++) {
        if (own[i] < 0) continue;
        struct epoll_event ev = {.events = EPOLLIN, .data.u64 = tag | (uint64_t)own[i]};
        epoll_ctl(ep, EPOLL_CTL_ADD, own[i], &ev);
    }
    time_t last_sweep = time(NULL);
    struct epoll_event events[64];
    for (;;) {
        int n = epoll_wait(ep, events, 64, 1000);
        for (int i = 0; i < n; i++) {
            if (events[i].data.u64 & tag) {
                int fd = (int)(events[i].data.u64 & ~tag);
                if (fd != agent->tcp) { on_udp(fd, agent->name); continue; }
                for (;;) {
                    int c = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                    if (c < 0) break;
                    struct conn *s = calloc(1, sizeof *s);
                    if (!s) { close(c); continue; }
                    s->fd = c;
                    s->deadline = time(NULL) + REQUEST_SECONDS;
                    s->next = conns;
                    if (conns) conns->prev = s;
                    conns = s;
                    struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.ptr = s};
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
                    on_tcp(ep, s, 0, resp, (size_t)resp_len, hold, (size_t)hold_len);   // the request may be there already
                }
                continue;
            }
            on_tcp(ep, events[i].data.ptr, events[i].events, resp, (size_t)resp_len, hold, (size_t)hold_len);
        }
        // Connections whose request is late are closed (held ones have no deadline).
        time_t now = time(NULL);
        if (now != last_sweep) {
            last_sweep = now;
            for (struct conn *c = conns, *next; c; c = next) {
                next = c->next;
                if (c->deadline && now > c->deadline) drop(ep, c);
            }
        }
    }
}
