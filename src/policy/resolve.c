/*
 * Where shipped policies are found: a name ("default") resolves to <dir>/<name>.bpf.o in the
 * first directory of the search path that has it; anything that looks like a path is used as
 * given. Owns the search path only.
 */
#include <bpfmm/policy.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_DIRS 6

/* The directories searched for shipped policies, in order. */
static unsigned search_dirs(char dirs[MAX_DIRS][PATH_MAX])
{
    unsigned n = 0;
    const char *env = getenv("BPFMM_POLICY_DIR");
    if (env && *env && snprintf(dirs[n], PATH_MAX, "%s", env) < PATH_MAX)
        n++;

    char exe[PATH_MAX];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (len > 0) {
        exe[len] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            /* The build tree (build/bpfmm -> build/policies), then an installed layout. */
            if (snprintf(dirs[n], PATH_MAX, "%s/policies", exe) < PATH_MAX)
                n++;
            if (snprintf(dirs[n], PATH_MAX, "%s/../lib/bpfmm/policies", exe) < PATH_MAX)
                n++;
        }
    }
    strcpy(dirs[n++], "/usr/local/lib/bpfmm/policies");
    strcpy(dirs[n++], "/usr/lib/bpfmm/policies");
    return n;
}

static bool looks_like_path(const char *s)
{
    size_t n = strlen(s);
    return strchr(s, '/') || (n > 2 && !strcmp(s + n - 2, ".o"));
}

int bpfmm_policy_resolve(const char *name_or_path, char *path, size_t size)
{
    if (!name_or_path || !*name_or_path)
        return -EINVAL;
    if (looks_like_path(name_or_path)) {
        if (access(name_or_path, R_OK))
            return -errno;
        if ((size_t)snprintf(path, size, "%s", name_or_path) >= size)
            return -ENAMETOOLONG;
        return 0;
    }
    char dirs[MAX_DIRS][PATH_MAX];
    unsigned n = search_dirs(dirs);
    for (unsigned i = 0; i < n; i++) {
        char cand[PATH_MAX];
        if (snprintf(cand, sizeof(cand), "%s/%s.bpf.o", dirs[i], name_or_path) >= (int)sizeof(cand))
            continue;
        if (!access(cand, R_OK)) {
            if ((size_t)snprintf(path, size, "%s", cand) >= size)
                return -ENAMETOOLONG;
            return 0;
        }
    }
    return -ENOENT;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(a, b);
}

unsigned bpfmm_policy_list_shipped(char names[][64], unsigned max)
{
    char dirs[MAX_DIRS][PATH_MAX];
    unsigned nd = search_dirs(dirs), n = 0;
    for (unsigned i = 0; i < nd; i++) {
        DIR *d = opendir(dirs[i]);
        if (!d)
            continue;
        struct dirent *e;
        while ((e = readdir(d)) && n < max) {
            size_t len = strlen(e->d_name);
            if (len <= 6 || len - 6 >= 64 || strcmp(e->d_name + len - 6, ".bpf.o"))
                continue;
            char name[64];
            memcpy(name, e->d_name, len - 6);
            name[len - 6] = '\0';
            bool dup = false;
            for (unsigned j = 0; j < n; j++)
                dup |= !strcmp(names[j], name);
            if (!dup)
                strcpy(names[n++], name);
        }
        closedir(d);
    }
    qsort(names, n, sizeof(names[0]), cmp_names);
    return n;
}
