// Small C helpers for what Swift cannot do safely: namespace entry, named network
// namespaces, and processes started inside a namespace after fork (only
// async-signal-safe calls between fork and exec/exit). All return -1 and set errno on error.
#ifndef CLBLABSYS_H
#define CLBLABSYS_H

#include <stdint.h>
#include <sys/types.h>

/// setns(fd, CLONE_NEWNET) for the calling thread.
int lblab_setns_net(int fd);

/// Creates the named network namespace `dir/name` as `ip netns add` does: makes `dir` a
/// shared mount point, creates the file, unshares a new network namespace on the calling
/// thread, bind-mounts it onto the file, and returns the thread to the namespace it was in.
/// Fails with EEXIST when the file exists already.
int lblab_netns_create(const char *dir, const char *name);

/// Unmounts (lazily) and removes the namespace file `path`. ENOENT is not an error.
int lblab_netns_delete(const char *path);

/// Forks a process that enters the namespace `nsfd`, starts a new session, names itself
/// `lblab-agent`, listens on TCP `port` on every address and answers each HTTP request with
/// `body`. Returns the pid once the socket listens (the child reports readiness over a pipe),
/// or -1 with errno set to the child's failure (e.g. EADDRINUSE).
pid_t lblab_spawn_http_agent(int nsfd, uint16_t port, const char *node_name);

/// Enters namespace `nsfd` on the calling thread and replaces the process with `file argv`
/// (execvp). Returns only on error.
int lblab_exec_in_netns(int nsfd, const char *file, char *const argv[]);

/// Runs `argv` (looked up in PATH) as a child, output to /dev/null, and waits: returns its
/// exit status, or -1 with errno when it could not be started.
int lblab_run_quiet(char *const argv[]);

#include "lblab_labvm.h"

#endif
