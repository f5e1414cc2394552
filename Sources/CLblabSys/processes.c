#define _GNU_SOURCE
#include "CLblabSys.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/// The child's half: only async-signal-safe calls from here on.
static void reset_signals(void) {
    sigset_t all;
    sigemptyset(&all);
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    for (int s = 1; s < NSIG; s++) sigaction(s, &dfl, NULL);
    sigprocmask(SIG_SETMASK, &all, NULL);
}

static void report_and_exit(int fd, int err) {
    ssize_t w = write(fd, &err, sizeof err);
    (void)w;
    _exit(1);
}

pid_t lblab_spawn_http_agent(int nsfd, uint16_t port, const char *node_name) {
    char resp[512];
    int len = lblab_agent_response(resp, sizeof resp, node_name);
    if (len < 0) { errno = ENAMETOOLONG; return -1; }
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) return -1;
    pid_t pid = fork();
    if (pid < 0) { int e = errno; close(pipefd[0]); close(pipefd[1]); errno = e; return -1; }
    if (pid == 0) {
        reset_signals();
        int w = pipefd[1];
        if (setns(nsfd, CLONE_NEWNET) != 0) report_and_exit(w, errno);
        setsid();
        prctl(PR_SET_NAME, "lblab-agent", 0, 0, 0);
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) { dup2(null, 0); dup2(null, 1); dup2(null, 2); }
        if (dup2(w, 3) < 0) _exit(1);
        w = 3;
        if (syscall(SYS_close_range, 4U, ~0U, 0U) != 0) {
            // Kernels before 5.9 (or a seccomp filter) lack close_range: close one by one, so
            // the agent keeps no lock, socket or namespace of its parent.
            long max = sysconf(_SC_OPEN_MAX);
            for (long fd = 4; fd < (max > 0 ? max : 1024); fd++) close((int)fd);
        }
        struct lblab_agent agent;
        int err = lblab_agent_open(&agent, node_name, port);
        if (err) report_and_exit(w, err);
        int ok = 0;
        ssize_t n = write(w, &ok, sizeof ok);
        (void)n;
        close(w);
        lblab_agent_serve(&agent);
        _exit(0);
    }
    close(pipefd[1]);
    int status = -1;
    struct pollfd p = {pipefd[0], POLLIN, 0};
    int pr;
    do pr = poll(&p, 1, 10000); while (pr < 0 && errno == EINTR);
    ssize_t n = -1;
    if (pr > 0) {
        do n = read(pipefd[0], &status, sizeof status); while (n < 0 && errno == EINTR);
    }
    close(pipefd[0]);
    if (n != (ssize_t)sizeof status || status != 0) {
        // A status from the child, else: EOF means it died before it listened (ECHILD),
        // no answer within 10 s is a timeout.
        int err = (n == (ssize_t)sizeof status && status > 0) ? status : (n == 0 ? ECHILD : ETIMEDOUT);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        errno = err;
        return -1;
    }
    return pid;
}

int lblab_run_quiet(char *const argv[]) {
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        reset_signals();
        int null = open("/dev/null", O_RDWR);
        if (null >= 0) { dup2(null, 0); dup2(null, 1); dup2(null, 2); }
        execvp(argv[0], argv);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
