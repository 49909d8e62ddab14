#ifndef PAVED_CLI_H
#define PAVED_CLI_H
/* Command-line faces: argument parsing and printing only. Exit status 0
 * success, 1 failure of the thing asked, 2 usage error. */

int paved_cli_main(int argc, char **argv);
int paved_cli_serve(int argc, char **argv);
int paved_cli_deliveries(int argc, char **argv);
int paved_cli_lint(int argc, char **argv);

#define PAVED_EXIT_OK 0
#define PAVED_EXIT_FAIL 1
#define PAVED_EXIT_USAGE 2

#endif
