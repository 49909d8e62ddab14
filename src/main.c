/* paved: dispatch the command line. Nothing else lives here. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int
main(int argc, char **argv)
{
    return paved_cli_main(argc, argv);
}
