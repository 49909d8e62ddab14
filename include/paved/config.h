#ifndef PAVED_CONFIG_H
#define PAVED_CONFIG_H
/* The daemon's configuration: a YAML file, then PAVED_<KEY> environment
 * overrides for every key. Plain data once loaded; nothing here opens
 * sockets or files other than the config file itself. */
#include <stdbool.h>
#include <stddef.h>

/* A list of strings (secrets, tokens): from a YAML sequence, or a
 * comma-separated string in the file or the environment. */
struct paved_strlist {
    char **sl_items;
    size_t sl_n;
};

struct paved_config {
    char *cf_listen;             /* listen: "127.0.0.1:8080" */
    char *cf_data_dir;           /* data_dir: "var" */
    char *cf_store;              /* store: "sqlite" or "postgres://..." */
    size_t cf_store_max_size;    /* store_max_size: bytes, 0 = no cap */
    unsigned cf_store_batch;     /* store_batch: most deliveries a commit */
    size_t cf_max_body;          /* max_body: "25MiB" */
    unsigned cf_read_timeout;    /* read_timeout: idle seconds, "10s" */
    unsigned cf_request_timeout; /* request_timeout: whole request, "30s" */
    struct paved_strlist cf_github_secret; /* github_secret (secret) */
    bool cf_github_allow_sha1;             /* github_allow_sha1: false */
    struct paved_strlist cf_gitea_secret;  /* gitea_secret (secret) */
    struct paved_strlist cf_gitlab_token;  /* gitlab_token (secret) */
    struct paved_strlist cf_gitlab_signing_secret; /* (secret) whsec_... */
    unsigned cf_gitlab_signature_tolerance;        /* seconds, "5m" */
    char *cf_log_format;          /* log_format: "text" or "json" */
    char *cf_log_level;           /* log_level: debug info warn error */
    char *cf_api_token;           /* api_token (secret); empty = open API */
    char *cf_public_url;          /* public_url: for links back to paved */
    char *cf_pipelines_dir;       /* pipelines_dir: "pipelines" */
    char *cf_environments_dir;    /* environments_dir: "config/environments" */
    char *cf_clone_url_template;  /* clone_url_template */
    char *cf_github_api_url;      /* github_api_url */
    char *cf_github_token;        /* github_token (secret) */
    char *cf_github_app_id;       /* github_app_id: "" = no App */
    char *cf_github_app_key;      /* github_app_key (secret): PEM text */
    char *cf_github_app_key_file; /* github_app_key_file: PEM path */
    char *cf_github_app_installation_id; /* "" = looked up per repo */
    unsigned cf_max_runs;                /* max_runs: runs at once, all repos */
    unsigned cf_max_runs_per_repo;       /* max_runs_per_repo */
    unsigned cf_step_parallelism;        /* steps at once in a run; 0 = cores */
    unsigned cf_step_kill_grace;         /* SIGTERM, then SIGKILL after this */
    unsigned cf_retry_backoff;  /* first retry delay; doubles, max 5m */
    char *cf_keep_workspaces;   /* never | failed | always */
    char *cf_secrets_dir;       /* "" = <data_dir>/secrets */
    char *cf_git_token;         /* git_token (secret): HTTPS fetches */
    char *cf_git_ssh_key;       /* git_ssh_key: private key path */
    char *cf_gitea_api_url;     /* gitea_api_url: statuses; "" = none */
    char *cf_gitea_token;       /* gitea_token (secret) */
    char *cf_gitlab_api_url;    /* gitlab_api_url: statuses; "" = none */
    char *cf_gitlab_api_token;  /* gitlab_api_token (secret) */
    unsigned cf_report_timeout; /* report_timeout: one forge request */
    bool cf_report_steps;       /* report_steps: a context per step too */
    char *cf_templates_dir;     /* templates_dir: golden-path templates */
    char *cf_registry;          /* registry: images of created services */
    char *cf_git_author_name;   /* git_author_name: commits paved makes */
    char *cf_git_author_email;  /* git_author_email */
};

/* Load path (NULL: defaults only), then apply overrides from envp (NULL:
 * none; pass `environ` in the daemon): PAVED_<KEY> with the key in upper
 * case. Unknown keys and bad values in the file are errors with
 * file:line:column; a bad value in a variable names the variable. Other
 * PAVED_* variables are not config (steps get PAVED_SHA and friends) and
 * are left alone. *out is owned by the caller: paved_config_free(). */
int paved_config_load(struct paved_config **out, const char *path,
                      char *const *envp);
/* The same from memory: data need not be NUL-terminated; name stands for
 * the file in messages ("config/paved.yaml:3:1: ..."). data NULL or len 0
 * is an empty file: defaults, then envp. paved_config_load reads the file
 * (at most 1 MiB) and calls this. */
int paved_config_parse(struct paved_config **out, const char *name,
                       const void *data, size_t len, char *const *envp);
void paved_config_free(struct paved_config *cf); /* NULL is a no-op */
/* The effective configuration as YAML, secrets shown as "<set>" or "". */
int paved_config_dump(char **out, const struct paved_config *cf);
/* url with its password replaced by "<set>", for logs and messages:
 * "postgres://u:pw@db/x" -> "postgres://u:<set>@db/x". *out: free(). */
int paved_config_redact_url(char **out, const char *url);

/* Parsers shared with other modules; PAVED_EINVAL with a message. */
int paved_parse_duration(unsigned *out_secs, const char *s); /* 10s 5m 1h */
int paved_parse_size(size_t *out, const char *s); /* 25MiB 512k 1024 */
/* true/false yes/no on/off 1/0, any case. */
int paved_parse_bool(int *out, const char *s);

#endif
