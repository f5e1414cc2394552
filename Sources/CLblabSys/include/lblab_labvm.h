// C helpers for the lab VM (a kernel VM lblab starts and drives over its own control
// channel): processes started with their own stdio in a new session, and signals as a
// file descriptor for a poll loop. Both return -1 and set errno on error.
#ifndef LBLAB_LABVM_H
#define LBLAB_LABVM_H

#include <sys/types.h>

/// Forks and runs `path` (an absolute path: no PATH search) with `argv` and `envp`, its
/// standard input, output and error on `in_fd`, `out_fd`, `err_fd` (-1: /dev/null), in
/// directory `cwd` (NULL: unchanged; a directory that does not exist falls back to "/"),
/// every signal at its default and unblocked, and, when `new_session` is set, in a session
/// (and process group) of its own. Returns the pid once the exec succeeded, or -1 with errno
/// set to why it failed (the child reports an exec failure over a close-on-exec pipe).
pid_t lblab_spawn(const char *path, char *const argv[], char *const envp[], const char *cwd,
                  int in_fd, int out_fd, int err_fd, int new_session);

/// Blocks `count` signals on the calling thread and returns a close-on-exec, non-blocking
/// signalfd that reads them (each read gives one struct signalfd_siginfo, 128 bytes, whose
/// first 4 bytes are the signal number).
int lblab_signalfd(const int *signals, int count);

/// Unblocks `count` signals on the calling thread (after `lblab_signalfd`).
int lblab_unblock_signals(const int *signals, int count);

/// pipe2(fds, O_CLOEXEC): a pipe no concurrently started child inherits.
int lblab_pipe_cloexec(int fds[2]);

/// accept4(fd, NULL, NULL, SOCK_CLOEXEC).
int lblab_accept_cloexec(int fd);

#endif
