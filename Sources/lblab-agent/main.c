// lblab-agent: the built-in HTTP server lblab starts on every real server (see
// lblab_agent_main in CLblabSys/agent.c). A tiny program of its own, so starting 64 of them
// is cheap (posix_spawn, no fork of lblab), and so `lblab up --explain`'s command
// `ip netns exec NS lblab-agent --name rs1 --port 80 &` works when typed by hand.
#include "CLblabSys.h"

#include <string.h>

int main(int argc, char **argv) {
    // A DNS lab's client (see CLblabSys/resolveclient.c).
    if (argc >= 2 && strcmp(argv[1], "--resolve-client") == 0) return lblab_resolve_client_main(argc, argv);
    return lblab_agent_main(argc, argv);
}
