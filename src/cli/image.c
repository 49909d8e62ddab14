/* `paved image build|push` and `paved artifact dir`: the faces of
 * src/delivery/image.c and artifact.c, used by the built-in steps
 * build-image and push-image and by an operator. Argument parsing and
 * printing only: stdout gets the result (an image ID, a reference with
 * its digest, a directory and its digest), stderr the tool's output and
 * the errors. Never records anything in the store. */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli/cli.h"
#include "paved/artifact.h"
#include "paved/config.h"
#include "paved/error.h"

extern char **environ;

#define IMAGE_CLI_OUTPUT_MAX (1024 * 1024)

static void
image_usage(FILE *fp)
{
    fprintf(fp,
            "usage: paved image build --context DIR --tag NAME [--file "
            "DOCKERFILE] [options]\n"
            "       paved image push --tag NAME [--tls-verify=false] "
            "[options]\n"
            "  build prints the image ID; push prints "
            "NAME-without-tag@sha256:<digest>.\n"
            "options:\n"
            "  --tool podman|buildah     (PAVED_IMAGE_TOOL; default "
            "podman)\n"
            "  --storage-driver DRIVER   e.g. vfs where overlay cannot "
            "mount\n"
            "                            (PAVED_IMAGE_STORAGE_DRIVER)\n"
            "  --storage-root DIR        the tool's store, needed with "
            "another driver\n"
            "                            (PAVED_IMAGE_STORAGE_ROOT)\n"
            "  --containers-conf FILE    written and used when "
            "CONTAINERS_CONF is unset\n"
            "                            (PAVED_CONTAINERS_CONF; default\n"
            "                            <data_dir>/containers/"
            "containers.conf)\n"
            "  --config FILE             paved's configuration, for "
            "data_dir\n"
            "  --timeout SECONDS         stop the tool after this long (0: "
            "never)\n"
            "  --quiet                   show the tool's output only when it "
            "fails\n"
            "  --json                    print a JSON object\n"
            "Exit 0 on success, 1 when the tool fails or is missing, 2 on a "
            "usage error.\n");
}

static void
artifact_usage(FILE *fp)
{
    fprintf(fp,
            "usage: paved artifact dir SRC [--into ARTIFACTS_DIR] [--config "
            "FILE] [--json]\n"
            "  copies the built tree SRC (without .git) to "
            "ARTIFACTS_DIR/sha256-<hex>/\n"
            "  (default <data_dir>/artifacts) and prints \"PATH DIGEST\".\n"
            "  The same tree gives the same digest; an existing copy is "
            "reused.\n");
}

/* <data_dir>/<sub>, absolute: a step runs in its workspace, and the
 * tools are given the path */
static int
image_data_path(char *out, size_t len, const char *config, const char *sub)
{
    struct paved_config *cf = NULL;
    char cwd[PATH_MAX];
    int n;

    if (paved_config_load(&cf, config, environ) < 0)
        return -1;
    if (cf->cf_data_dir[0] == '/')
        n = snprintf(out, len, "%s/%s", cf->cf_data_dir, sub);
    else if (getcwd(cwd, sizeof(cwd)) != NULL)
        n = snprintf(out, len, "%s/%s/%s", cwd, cf->cf_data_dir, sub);
    else
        n = -1;
    paved_config_free(cf);
    if (n < 0 || (size_t)n >= len)
        return paved_error_set(PAVED_EINVAL, "data_dir path too long");
    return 0;
}

static const char *
image_env_or(const char *given, const char *env)
{
    const char *v;

    if (given != NULL)
        return given;
    v = getenv(env);
    return v != NULL && v[0] != '\0' ? v : NULL;
}

static int
image_print_json(json_t *doc)
{
    int rc = PAVED_EXIT_OK;

    if (doc == NULL || json_dumpf(doc, stdout, JSON_INDENT(2)) < 0) {
        fprintf(stderr, "paved: out of memory\n");
        rc = PAVED_EXIT_FAIL;
    } else {
        fputc('\n', stdout);
    }
    json_decref(doc);
    return rc;
}

static int
image_exit_code(int error)
{
    return error == PAVED_EINVAL || error == PAVED_EUSAGE ? PAVED_EXIT_USAGE
                                                          : PAVED_EXIT_FAIL;
}

int
paved_cli_image(int argc, char **argv)
{
    struct paved_buf out = PAVED_BUF_INIT(IMAGE_CLI_OUTPUT_MAX);
    struct paved_image_opts o;
    const char *sub, *context = NULL, *file = NULL, *tag = NULL;
    const char *tool = NULL, *driver = NULL, *root = NULL, *conf = NULL;
    const char *config = NULL, *tls = NULL, *timeout = NULL;
    char conf_buf[PATH_MAX], *result = NULL, *digest = NULL, *end;
    bool json = false, quiet = false, build;
    int rc = PAVED_EXIT_USAGE, a, got, error;
    long secs = 0;

    if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "--help") == 0) {
        image_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? PAVED_EXIT_USAGE : PAVED_EXIT_OK;
    }
    sub = argv[1];
    if (strcmp(sub, "build") != 0 && strcmp(sub, "push") != 0) {
        fprintf(stderr, "paved image: unknown subcommand \"%s\"\n", sub);
        image_usage(stderr);
        return PAVED_EXIT_USAGE;
    }
    build = strcmp(sub, "build") == 0;
    for (a = 2; a < argc; a++) {
        if (strcmp(argv[a], "--json") == 0) {
            json = true;
        } else if (strcmp(argv[a], "--quiet") == 0) {
            quiet = true;
        } else if (strcmp(argv[a], "-h") == 0 ||
                   strcmp(argv[a], "--help") == 0) {
            image_usage(stdout);
            return PAVED_EXIT_OK;
        } else if ((got = cli_opt(&tag, argc, argv, &a, "--tag")) != 0 ||
                   (got = cli_opt(&tool, argc, argv, &a, "--tool")) != 0 ||
                   (got = cli_opt(&driver, argc, argv, &a,
                                  "--storage-driver")) != 0 ||
                   (got = cli_opt(&root, argc, argv, &a, "--storage-root")) !=
                       0 ||
                   (got = cli_opt(&conf, argc, argv, &a,
                                  "--containers-conf")) != 0 ||
                   (got = cli_opt(&config, argc, argv, &a, "--config")) != 0 ||
                   (got = cli_opt(&timeout, argc, argv, &a, "--timeout")) !=
                       0 ||
                   (build &&
                    ((got = cli_opt(&context, argc, argv, &a, "--context")) !=
                         0 ||
                     (got = cli_opt(&file, argc, argv, &a, "--file")) != 0)) ||
                   (!build && (got = cli_opt(&tls, argc, argv, &a,
                                             "--tls-verify")) != 0)) {
            if (got < 0) {
                fprintf(stderr, "paved image %s: %s needs a value\n", sub,
                        argv[a]);
                goto usage;
            }
        } else {
            fprintf(stderr, "paved image %s: unexpected argument \"%s\"\n", sub,
                    argv[a]);
            goto usage;
        }
    }
    if (tag == NULL || (build && context == NULL)) {
        fprintf(stderr, "paved image %s: %s\n", sub,
                build ? "--context and --tag are required"
                      : "--tag is required");
        goto usage;
    }
    if (tls != NULL && strcmp(tls, "true") != 0 && strcmp(tls, "false") != 0) {
        fprintf(stderr, "paved image push: --tls-verify=true or false\n");
        goto usage;
    }
    if (timeout != NULL) {
        errno = 0;
        secs = strtol(timeout, &end, 10);
        if (errno != 0 || end == timeout || *end != '\0' || secs < 0 ||
            secs > 86400) {
            fprintf(stderr,
                    "paved image %s: --timeout wants whole seconds "
                    "(0 to 86400)\n",
                    sub);
            goto usage;
        }
    }

    memset(&o, 0, sizeof(o));
    o.io_tool = image_env_or(tool, "PAVED_IMAGE_TOOL");
    o.io_storage_driver = image_env_or(driver, "PAVED_IMAGE_STORAGE_DRIVER");
    o.io_storage_root = image_env_or(root, "PAVED_IMAGE_STORAGE_ROOT");
    o.io_containers_conf = image_env_or(conf, "PAVED_CONTAINERS_CONF");
    o.io_echo = quiet ? NULL : stderr;
    o.io_output = &out;
    o.io_timeout_ms = (unsigned)secs * 1000u;
    rc = PAVED_EXIT_FAIL;
    /* the machine's containers.conf is never touched: paved keeps its
     * own in the data directory, unless the caller has one already */
    if (o.io_containers_conf == NULL &&
        image_env_or(NULL, "CONTAINERS_CONF") == NULL) {
        if (image_data_path(conf_buf, sizeof(conf_buf), config,
                            "containers/containers.conf") < 0) {
            fprintf(stderr, "paved image %s: %s\n", sub, paved_error_last());
            goto out;
        }
        o.io_containers_conf = conf_buf;
    }
    if (build)
        error = paved_image_build(&result, &o, context, file, tag);
    else
        error = paved_image_push(&result, &digest, &o, tag,
                                 tls == NULL || strcmp(tls, "true") == 0);
    if (error < 0) {
        if (quiet && out.b_len > 0)
            fprintf(stderr, "%s%s", out.b_ptr,
                    out.b_ptr[out.b_len - 1] == '\n' ? "" : "\n");
        fprintf(stderr, "paved image %s: %s\n", sub, paved_error_last());
        rc = image_exit_code(error);
        goto out;
    }
    if (json)
        rc = image_print_json(
            build ? json_pack("{s:s, s:s}", "id", result, "tag", tag)
                  : json_pack("{s:s, s:s, s:s}", "ref", result, "digest",
                              digest, "tag", tag));
    else {
        printf("%s\n", result);
        rc = PAVED_EXIT_OK;
    }
out:
    free(result);
    free(digest);
    paved_buf_dispose(&out);
    return rc;
usage:
    image_usage(stderr);
    return PAVED_EXIT_USAGE;
}

int
paved_cli_artifact(int argc, char **argv)
{
    const char *src = NULL, *into = NULL, *config = NULL;
    char dir[PATH_MAX], *path = NULL, *digest = NULL;
    bool json = false;
    int a, got, rc = PAVED_EXIT_FAIL;

    if (argc < 2 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "--help") == 0) {
        artifact_usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? PAVED_EXIT_USAGE : PAVED_EXIT_OK;
    }
    if (strcmp(argv[1], "dir") != 0) {
        fprintf(stderr, "paved artifact: unknown subcommand \"%s\"\n", argv[1]);
        artifact_usage(stderr);
        return PAVED_EXIT_USAGE;
    }
    for (a = 2; a < argc; a++) {
        if (strcmp(argv[a], "--json") == 0) {
            json = true;
        } else if ((got = cli_opt(&into, argc, argv, &a, "--into")) != 0 ||
                   (got = cli_opt(&config, argc, argv, &a, "--config")) != 0) {
            if (got < 0) {
                fprintf(stderr, "paved artifact dir: %s needs a value\n",
                        argv[a]);
                artifact_usage(stderr);
                return PAVED_EXIT_USAGE;
            }
        } else if (argv[a][0] == '-' || src != NULL) {
            fprintf(stderr, "paved artifact dir: unexpected argument \"%s\"\n",
                    argv[a]);
            artifact_usage(stderr);
            return PAVED_EXIT_USAGE;
        } else {
            src = argv[a];
        }
    }
    if (src == NULL) {
        fprintf(stderr, "paved artifact dir: which directory?\n");
        artifact_usage(stderr);
        return PAVED_EXIT_USAGE;
    }
    if (into == NULL) {
        if (image_data_path(dir, sizeof(dir), config, "artifacts") < 0) {
            fprintf(stderr, "paved artifact dir: %s\n", paved_error_last());
            return PAVED_EXIT_FAIL;
        }
        into = dir;
    }
    if (paved_artifact_dir_build(&path, &digest, src, into) < 0) {
        fprintf(stderr, "paved artifact dir: %s\n", paved_error_last());
        goto out;
    }
    if (json)
        rc = image_print_json(
            json_pack("{s:s, s:s}", "path", path, "digest", digest));
    else {
        printf("%s %s\n", path, digest);
        rc = PAVED_EXIT_OK;
    }
out:
    free(path);
    free(digest);
    return rc;
}
