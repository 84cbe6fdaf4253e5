/* ivshmem-client: a thin main() over the client library. */
#include "client.h"
#include "interactive.h"
#include "options.h"
#include "script.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    struct client_options o;
    struct ivshmem_client c;
    int rc, status;

    rc = client_parse_options(&o, argc, argv);
    if (rc != CLIENT_OPTIONS_RUN)
        return rc == CLIENT_OPTIONS_EXIT_OK ? EXIT_SUCCESS : EXIT_FAILURE;
    signal(SIGPIPE, SIG_IGN);
    if (!o.scripted) {
        status = client_run_interactive(&o);
        client_options_free(&o);
        return status;
    }
    ivshmem_client_init(&c, o.vectors, o.verbose);
    rc = ivshmem_client_connect(&c, o.socket_path);
    if (rc < 0) {
        fprintf(stderr, "ivshmem-client: cannot connect to %s: %s\n", o.socket_path,
                strerror(-rc));
        status = EXIT_FAILURE;
    } else {
        status = client_run_script(&c, &o) == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
    ivshmem_client_reset(&c);
    ivshmem_session_destroy(&c.session);
    client_options_free(&o);
    return status;
}
