// Small C helpers for what Swift cannot do safely: namespace entry, named network
// namespaces, and processes started inside a namespace after fork (only
// async-signal-safe calls between fork and exec/exit). All return -1 and set errno on error.
#ifndef CLBLABSYS_H
#define CLBLABSYS_H

#include <stdint.h>
#include <stddef.h>
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
/// `lblab-agent`, serves `port` as `lblab_agent_serve` says. Returns the pid once the socket listens (the child reports readiness over a pipe),
/// or -1 with errno set to the child's failure (e.g. EADDRINUSE).
pid_t lblab_spawn_http_agent(int nsfd, uint16_t port, const char *node_name);

/// The agent's whole HTTP response for `node_name` into `buf`; its length, or -1 if it does not fit.
int lblab_agent_response(char *buf, size_t size, const char *node_name);

/// What one agent serves on one port, on every address (IPv4 and IPv6): HTTP over TCP (each
/// request answered with the node's name, then closed; a request for `/hold` kept open until the
/// client closes it) and UDP (each datagram answered with `X-Lblab-Node: NAME\n` and the datagram).
struct lblab_agent {
    const char *name;
    /// The listening TCP socket (IPv6 taking IPv4 too, or IPv4 where the kernel has no IPv6).
    int tcp;
    /// The UDP sockets (-1: none; IPv6 only where the kernel has it).
    int udp4, udp6;
    /// `--delay-ms`: milliseconds to wait before each HTTP answer (a DNS lab's slow server; 0: none).
    long delay_ms;
};

/// Opens the agent's sockets on `port`: 0, or the errno of the first that failed (none left open).
int lblab_agent_open(struct lblab_agent *agent, const char *name, uint16_t port);

/// Serves forever, one epoll loop: a held connection never stops the others.
void lblab_agent_serve(const struct lblab_agent *agent);

/// `lblab-agent --name NODE [--port P] [--netns PATH | --netns-fd FD] [--ready-fd FD] [--delay-ms MS]`.
int lblab_agent_main(int argc, char **argv);

/// Forks a process that starts a new session, enters the network namespace `nsfd` (none when -1)
/// and executes `path` with `argv`, standard output and error to `out_fd` (/dev/null when -1).
/// Returns its pid once exec succeeded, or -1 with errno (the child's failure, e.g. ENOENT).
pid_t lblab_spawn_in_netns(int nsfd, const char *path, char *const argv[], int out_fd);

/// `lblab-agent --resolve-client --name HOST ...`: resolves HOST through getaddrinfo with a resolv.conf of
/// its own (a private mount namespace), connects to the first address, one line per connection.
int lblab_resolve_client_main(int argc, char **argv);

/// Starts the `lblab-agent` executable `exe` with posix_spawn (no fork of the caller): it enters
/// namespace `nsfd`, starts a new session and listens on `port`. Returns its pid and, in
/// `ready_fd`, the pipe to wait on with `lblab_agent_wait_ready`; -1 with errno on error.
pid_t lblab_spawn_agent(const char *exe, int nsfd, uint16_t port, const char *node_name, int *ready_fd);

/// Starts `exe --launch` (see lblab-agent's usage) with posix_spawn: requests go to `*to_fd`
/// ("NODE PORT NETNS_PATH\n"), each answered on `*from_fd` by a line with the agent's pid (or
/// -ERRNO); after `*to_fd` is closed, "fail PID NODE ERRNO" lines for agents that did not listen,
/// then EOF. Returns the launcher's pid; -1 with errno on error.
pid_t lblab_spawn_launcher(const char *exe, int *to_fd, int *from_fd);

/// Reads one line (without its newline) into `buf`: its length + 1, 0 at EOF with nothing read,
/// -1 on error. Reads a byte at a time: for short replies on a pipe.
int lblab_read_line(int fd, char *buf, int size);

/// Writes all of `buf`: 0, or -1 with errno.
int lblab_write_all(int fd, const char *buf, int len);

/// Waits up to `timeout_ms` for an agent started by `lblab_spawn_agent` to listen: 0, or the errno
/// it failed with (ECHILD: it died first, ETIMEDOUT: no word), after killing and reaping it.
int lblab_agent_wait_ready(pid_t pid, int fd, int timeout_ms);

/// Writes `value` and a newline to the sysctl `key` (dots become slashes under /proc/sys/) of the
/// calling thread's namespaces: one open, one write, no allocation. -1 with errno on error
/// (ENOENT: no such key).
int lblab_sysctl_write(const char *key, const char *value);

/// Enters namespace `nsfd` on the calling thread and replaces the process with `file argv`
/// (execvp). Returns only on error.
int lblab_exec_in_netns(int nsfd, const char *file, char *const argv[]);

/// Runs `argv` (looked up in PATH) as a child, output to /dev/null, and waits: returns its
/// exit status, or -1 with errno when it could not be started.
int lblab_run_quiet(char *const argv[]);

#include "lblab_labvm.h"

#endif
