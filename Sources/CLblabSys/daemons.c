// Server processes of a lab other than lblab's own agent (dnsmasq, unbound) and the DNS lab's
// clients: a program started in a network namespace, its output going to a file.
#define _GNU_SOURCE
#include "CLblabSys.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

pid_t lblab_spawn_in_netns(int nsfd, const char *path, char *const argv[], int out_fd) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) return -1;
    int pipefd[2];
    if (pipe2(pipefd, O_CLOEXEC) != 0) { close(null); return -1; }
    pid_t pid = fork();
    if (pid < 0) { int e = errno; close(null); close(pipefd[0]); close(pipefd[1]); errno = e; return -1; }
    if (pid == 0) {
        // Only async-signal-safe calls from here to exec.
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int s = 1; s < 32; s++) if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_DFL);
        setsid();
        int err = 0;
        if (nsfd >= 0 && setns(nsfd, CLONE_NEWNET) != 0) err = errno;
        int status_fd = pipefd[1];
        if (!err) {
            dup2(null, 0);
            dup2(out_fd >= 0 ? out_fd : null, 1);
            dup2(out_fd >= 0 ? out_fd : null, 2);
            // Nothing else of the caller's stays open in a server that outlives it: a pipe inherited
            // from whoever ran lblab would stay open too, and whoever waits for its end would hang.
            if (status_fd != 3) { dup2(status_fd, 3); status_fd = 3; }
            fcntl(3, F_SETFD, FD_CLOEXEC);
            if (syscall(SYS_close_range, 4U, ~0U, 0U) != 0) {
                long max = sysconf(_SC_OPEN_MAX);
                for (long fd = 4; fd < (max > 0 ? max : 1024); fd++) close((int)fd);
            }
            execv(path, argv);
            err = errno;
        }
        ssize_t w = write(status_fd, &err, sizeof err);
        (void)w;
        _exit(127);
    }
    close(null);
    close(pipefd[1]);
    // The pipe closes on exec (success) or carries the errno of what failed before it.
    int err = 0;
    ssize_t n;
    do { n = read(pipefd[0], &err, sizeof err); } while (n < 0 && errno == EINTR);
    close(pipefd[0]);
    if (n == (ssize_t)sizeof err && err != 0) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        errno = err;
        return -1;
    }
    return pid;
}
