#define _GNU_SOURCE
#include "CLblabSys.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

int lblab_agent_response(char *buf, size_t size, const char *node_name) {
    int len = snprintf(buf, size,
                       "HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nX-Lblab-Node: %s\r\n"
                       "Content-Length: %zu\r\nConnection: close\r\n\r\n%s\n",
                       node_name, strlen(node_name) + 1, node_name);
    return (len < 0 || (size_t)len >= size) ? -1 : len;
}

static int usage(void) {
    fprintf(stderr,
            "usage: lblab-agent --name NODE [--port|--tcp|--udp PORT] [--netns PATH | --netns-fd FD] [--ready-fd FD] [--delay-ms MS]\n"
            "       lblab-agent --launch < LINES\n"
            "lblab's built-in server: answers every HTTP request on TCP PORT (default 80), on every address,\n"
            "with the node's name (header X-Lblab-Node and body), and closes (a request for /hold stays open\n"
            "until the client closes it); answers every datagram to UDP PORT with 'X-Lblab-Node: NODE' and a\n"
            "newline, then the datagram itself, from the address it was sent to. --netns enters a network namespace first\n"
            "(as ip netns exec does); --ready-fd gets 4 zero bytes once it listens (errno bytes on failure).\n"
            "--launch starts many: for each line 'NODE PORT NETNS_PATH' on standard input it forks one agent\n"
            "into that namespace and prints its pid (or -ERRNO); at the end of input it waits until every\n"
            "agent listens (10 s at most), prints 'fail PID NODE ERRNO' for each that did not, and exits 0 when\n"
            "all listen, 1 otherwise. The agents outlive it.\n");
    return 2;
}

static void report(int fd, int err) {
    if (fd < 0) return;
    ssize_t n = write(fd, &err, sizeof err);
    (void)n;
    close(fd);
}

/// The argument area of this process (argv[0] to the end of the last argument), which a forked
/// agent overwrites with its own command line so `ps` and /proc/PID/cmdline name its node.
static char *args_start, *args_end;

static void set_command_line(const char *name, long port) {
    if (!args_start) return;
    char text[256];
    int len = snprintf(text, sizeof text, "lblab-agent%c--name%c%s%c--tcp%c%ld", 0, 0, name, 0, 0, port);
    size_t room = (size_t)(args_end - args_start);
    if (len < 0 || (size_t)len + 1 > room) return;
    memcpy(args_start, text, (size_t)len + 1);
    memset(args_start + len + 1, 0, room - (size_t)len - 1);
}

struct launched {
    pid_t pid;
    int reported, err;
    char name[64];
};

/// `--launch`: one fork per request line, the agents' readiness gathered on one pipe. Forking this
/// small program costs a fraction of starting it anew (no exec, no loading), paid per real server.
static int launch_main(void) {
    int rp[2];
    if (pipe2(rp, O_CLOEXEC) != 0) { perror("lblab-agent: pipe"); return 2; }
    struct launched *list = NULL;
    size_t n = 0, cap = 0;
    char line[4200];
    while (fgets(line, sizeof line, stdin)) {
        char name[64], path[4096];
        long port = 0;
        if (sscanf(line, "%63s %ld %4095s", name, &port, path) != 3 || port < 1 || port > 65535) {
            printf("-%d\n", EINVAL);
            fflush(stdout);
            continue;
        }
        char resp[512];
        int len = lblab_agent_response(resp, sizeof resp, name);
        if (len < 0) { printf("-%d\n", ENAMETOOLONG); fflush(stdout); continue; }
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            struct launched *bigger = realloc(list, cap * sizeof *list);
            if (!bigger) { printf("-%d\n", ENOMEM); fflush(stdout); continue; }
            list = bigger;
        }
        pid_t pid = fork();
        if (pid < 0) { printf("-%d\n", errno); fflush(stdout); continue; }
        if (pid == 0) {
            int null = open("/dev/null", O_RDWR);
            if (null >= 0) { dup2(null, 0); dup2(null, 1); dup2(null, 2); }
            if (dup2(rp[1], 3) < 0) _exit(1);
            if (syscall(SYS_close_range, 4U, ~0U, 0U) != 0) {
                long max = sysconf(_SC_OPEN_MAX);
                for (long fd = 4; fd < (max > 0 ? max : 1024); fd++) close((int)fd);
            }
            setsid();
            set_command_line(name, port);
            int err = 0;
            struct lblab_agent agent;
            int nsfd = open(path, O_RDONLY | O_CLOEXEC);
            if (nsfd < 0 || setns(nsfd, CLONE_NEWNET) != 0) err = errno;
            if (nsfd >= 0) close(nsfd);
            if (!err) err = lblab_agent_open(&agent, name, (uint16_t)port);
            int rec[2] = {(int)getpid(), err};
            ssize_t w = write(3, rec, sizeof rec);
            (void)w;
            close(3);
            if (err) _exit(1);
            lblab_agent_serve(&agent);
            _exit(0);
        }
        list[n].pid = pid;
        list[n].reported = 0;
        list[n].err = 0;
        snprintf(list[n].name, sizeof list[n].name, "%s", name);
        n++;
        printf("%d\n", (int)pid);
        fflush(stdout);
    }
    close(rp[1]);
    // Every agent reports once (8 bytes, one atomic write); EOF once all have reported or died.
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    size_t pending = n;
    int timed_out = 0;
    while (pending > 0) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        long elapsed = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
        if (elapsed >= 10000) { timed_out = 1; break; }
        struct pollfd p = {rp[0], POLLIN, 0};
        int pr = poll(&p, 1, (int)(10000 - elapsed));
        if (pr < 0 && errno == EINTR) continue;
        if (pr <= 0) { timed_out = 1; break; }
        int rec[2];
        ssize_t r = read(rp[0], rec, sizeof rec);
        if (r < 0 && errno == EINTR) continue;
        if (r != (ssize_t)sizeof rec) break;   // EOF: the rest died before they listened
        for (size_t i = 0; i < n; i++) {
            if (list[i].pid == rec[0] && !list[i].reported) {
                list[i].reported = 1;
                list[i].err = rec[1];
                pending--;
                break;
            }
        }
    }
    int failed = 0;
    for (size_t i = 0; i < n; i++) {
        if (list[i].reported && list[i].err == 0) continue;
        int err = list[i].reported ? list[i].err : (timed_out ? ETIMEDOUT : ECHILD);
        if (!list[i].reported) kill(list[i].pid, SIGKILL);
        printf("fail %d %s %d\n", (int)list[i].pid, list[i].name, err);
        failed = 1;
    }
    fflush(stdout);
    free(list);
    return failed;
}

int lblab_agent_main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "--launch") == 0) {
        args_start = argv[0];
        args_end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
        return launch_main();
    }
    const char *name = NULL, *netns = NULL;
    long port = 80, delay_ms = 0;
    int nsfd = -1, ready = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v) return usage();
        if (strcmp(a, "--name") == 0) name = v;
        else if (strcmp(a, "--port") == 0 || strcmp(a, "--tcp") == 0 || strcmp(a, "--udp") == 0) port = strtol(v, NULL, 10);
        else if (strcmp(a, "--netns") == 0) netns = v;
        else if (strcmp(a, "--netns-fd") == 0) nsfd = (int)strtol(v, NULL, 10);
        else if (strcmp(a, "--ready-fd") == 0) ready = (int)strtol(v, NULL, 10);
        else if (strcmp(a, "--delay-ms") == 0) delay_ms = strtol(v, NULL, 10);
        else return usage();
        i++;
    }
    if (!name || port < 1 || port > 65535) return usage();
    if (netns) {
        nsfd = open(netns, O_RDONLY | O_CLOEXEC);
        if (nsfd < 0) { int e = errno; fprintf(stderr, "lblab-agent: open %s: %s\n", netns, strerror(e)); report(ready, e); return 1; }
    }
    if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) != 0) {
        int e = errno;
        fprintf(stderr, "lblab-agent: enter the network namespace: %s\n", strerror(e));
        report(ready, e);
        return 1;
    }
    if (nsfd >= 0) close(nsfd);
    char resp[512];
    int len = lblab_agent_response(resp, sizeof resp, name);
    if (len < 0) { report(ready, ENAMETOOLONG); return 1; }
    struct lblab_agent agent;
    int e = lblab_agent_open(&agent, name, (uint16_t)port);
    if (e) {
        fprintf(stderr, "lblab-agent: listen on port %ld: %s\n", port, strerror(e));
        report(ready, e);
        return 1;
    }
    agent.delay_ms = delay_ms;
    report(ready, 0);
    lblab_agent_serve(&agent);
    return 0;
}

// Spawns `exe` with the file actions `fa` (destroyed here), every signal back to its default
// disposition and none blocked (whatever the caller's threads had), plus `flags`.
static int spawn_clean(pid_t *pid, const char *exe, posix_spawn_file_actions_t *fa, char *const argv[], short flags) {
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t all, none;
    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, (short)(POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK | flags));
    extern char **environ;
    int rc = posix_spawn(pid, exe, fa, &attr, argv, environ);
    posix_spawn_file_actions_destroy(fa);
    posix_spawnattr_destroy(&attr);
    return rc;
}

pid_t lblab_spawn_agent(const char *exe, int nsfd, uint16_t port, const char *node_name, int *ready_fd) {
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) return -1;
    char portbuf[8];
    snprintf(portbuf, sizeof portbuf, "%u", (unsigned)port);
    char *const argv[] = {(char *)"lblab-agent", (char *)"--name", (char *)node_name, (char *)"--tcp", portbuf,
                          (char *)"--netns-fd", (char *)"3", (char *)"--ready-fd", (char *)"4", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    // dup2 clears FD_CLOEXEC on the copies: the agent keeps 0-2 (/dev/null), 3 (namespace), 4 (ready).
    if (null >= 0) {
        posix_spawn_file_actions_adddup2(&fa, null, 0);
        posix_spawn_file_actions_adddup2(&fa, null, 1);
        posix_spawn_file_actions_adddup2(&fa, null, 2);
    }
    posix_spawn_file_actions_adddup2(&fa, nsfd, 3);
    posix_spawn_file_actions_adddup2(&fa, pipefd[1], 4);
    // Nothing else of ours (locks, netlink sockets, capture handles) leaks into the agent.
    posix_spawn_file_actions_addclosefrom_np(&fa, 5);
    pid_t pid = -1;
    int rc = spawn_clean(&pid, exe, &fa, argv, POSIX_SPAWN_SETSID);
    if (null >= 0) close(null);
    close(pipefd[1]);
    if (rc != 0) { close(pipefd[0]); errno = rc; return -1; }
    *ready_fd = pipefd[0];
    return pid;
}

int lblab_agent_wait_ready(pid_t pid, int fd, int timeout_ms) {
    struct pollfd p = {fd, POLLIN, 0};
    int pr;
    do pr = poll(&p, 1, timeout_ms); while (pr < 0 && errno == EINTR);
    int status = -1;
    ssize_t n = -1;
    if (pr > 0) {
        do n = read(fd, &status, sizeof status); while (n < 0 && errno == EINTR);
    }
    close(fd);
    if (n == (ssize_t)sizeof status && status == 0) return 0;
    // The agent's errno, else: EOF means it died before it listened, no answer is a timeout.
    int err = (n == (ssize_t)sizeof status && status > 0) ? status : (n == 0 ? ECHILD : ETIMEDOUT);
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    return err;
}

pid_t lblab_spawn_launcher(const char *exe, int *to_fd, int *from_fd) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0) return -1;
    if (pipe2(out, O_CLOEXEC) != 0) { int e = errno; close(in[0]); close(in[1]); errno = e; return -1; }
    // Room for each agent's own command line (`lblab-agent --name NODE --tcp PORT`), written
    // over this argument area by the forked agent: spaces, so the launcher's own looks plain.
    char room[97];
    memset(room, ' ', sizeof room - 1);
    room[sizeof room - 1] = 0;
    char *const argv[] = {(char *)"lblab-agent", (char *)"--launch", room, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    if (null >= 0) posix_spawn_file_actions_adddup2(&fa, null, 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    pid_t pid = -1;
    int rc = spawn_clean(&pid, exe, &fa, argv, 0);
    if (null >= 0) close(null);
    close(in[0]);
    close(out[1]);
    if (rc != 0) { close(in[1]); close(out[0]); errno = rc; return -1; }
    *to_fd = in[1];
    *from_fd = out[0];
    return pid;
}

int lblab_read_line(int fd, char *buf, int size) {
    int n = 0;
    while (n < size - 1) {
        char c;
        ssize_t r = read(fd, &c, 1);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) break;
        if (c == '\n') { buf[n] = 0; return n + 1; }
        buf[n++] = c;
    }
    buf[n] = 0;
    return n;
}

int lblab_write_all(int fd, const char *buf, int len) {
    int off = 0;
    while (off < len) {
        ssize_t w = write(fd, buf + off, (size_t)(len - off));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        off += (int)w;
    }
    return 0;
}
