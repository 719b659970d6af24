// glibc's posix_spawn extensions the test helpers need (glibc 2.29 and 2.34). Swift's Glibc
// module is built without _GNU_SOURCE, so it does not declare them; they are declared here.
#ifndef NURTURE_CSPAWN_SHIM_H
#define NURTURE_CSPAWN_SHIM_H

#include <spawn.h>

extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);
extern int posix_spawn_file_actions_addchdir_np(posix_spawn_file_actions_t *actions, const char *path);

/// In the child, closes every descriptor from `from` up (after the dup2s before it).
static inline int cspawn_addclosefrom(posix_spawn_file_actions_t *actions, int from) {
    return posix_spawn_file_actions_addclosefrom_np(actions, from);
}

/// In the child, changes to `path` before exec.
static inline int cspawn_addchdir(posix_spawn_file_actions_t *actions, const char *path) {
    return posix_spawn_file_actions_addchdir_np(actions, path);
}

#endif
