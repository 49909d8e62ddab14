#ifndef PAVED_DELIVERY_INT_H
#define PAVED_DELIVERY_INT_H
/* Private to src/delivery/: the struct body behind paved_environment and
 * the positions the set needs for its messages. Never included from
 * outside the folder. */
#include <stdbool.h>

#include "paved/environment.h"

struct paved_environment {
    char *en_name;
    unsigned en_name_line, en_name_col;
    char *en_file;
    enum paved_env_driver en_driver;
    bool en_approval;
    char *en_from; /* from: the environment a version must have passed */
    unsigned en_from_line, en_from_col;
    struct paved_env_local en_local;
    unsigned en_listen_line, en_listen_col;
    struct paved_env_kubernetes en_k8s;
    struct paved_env_exec en_exec;
    bool en_has_canary;
    struct paved_env_canary en_canary;
    bool en_has_analysis;
    struct paved_env_analysis en_analysis;
    struct paved_env_smoke *en_smoke;
    size_t en_nsmoke;
};

#endif
