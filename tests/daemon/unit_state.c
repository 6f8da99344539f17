/*
 * The agent's state file: a round trip of policies (source, rodata, map edits with later
 * edits replacing earlier ones and deletions kept), the global policy and processes (pid +
 * start time); the write leaves no temporary file; damaged files are refused with a message
 * saying what is wrong where; a missing file is -ENOENT. No root needed.
 */
#include "test.h"
#include "live/state.h"

#include <dirent.h>
#include <unistd.h>

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CHECK(f);
    fputs(text, f);
    fclose(f);
}

static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

int main(void)
{
    char dir[] = "/tmp/bpfmm-state-XXXXXX", path[128], err[1024];
    CHECK(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/state.json", dir);

    struct live_state st = {0}, back;
    const char *ro[] = {"max_ptes_none=100", "limit_forced_collapse=0"};
    CHECK_EQ(live_state_add_policy(&st, "web", "default", ro, 2), 0);
    CHECK_EQ(live_state_add_policy(&st, "names", "/opt/p/by-name.bpf.o", NULL, 0), 0);
    CHECK_EQ(live_state_add_edit(&st.policies[1], "orders_by_comm", "\"postgres\"", "512"), 0);
    CHECK_EQ(live_state_add_edit(&st.policies[1], "orders_by_comm", "\"redis\"", "0"), 0);
    CHECK_EQ(live_state_add_edit(&st.policies[1], "orders_by_comm", "\"postgres\"", "1024"), 0);
    CHECK_EQ(live_state_add_edit(&st.policies[1], "orders_by_comm", "\"redis\"", NULL), 0);
    CHECK_EQ(st.policies[1].nr_edits, 2);
    snprintf(st.global, sizeof(st.global), "names");
    CHECK_EQ(live_state_add_proc(&st, 1234, 99887766, "web", "postgres"), 0);
    CHECK_EQ(live_state_add_proc(&st, 77, 5, "names", "x"), 0);
    CHECK_EQ(live_state_save(path, &st, err, sizeof(err)), 0);
    CHECK_EQ(count_files(dir), 1); /* no temporary file left */

    CHECK_EQ(live_state_load(path, &back, err, sizeof(err)), 0);
    CHECK_EQ(back.nr_policies, 2);
    CHECK(!strcmp(back.policies[0].name, "web") && !strcmp(back.policies[0].source, "default"));
    CHECK_EQ(back.policies[0].nr_rodata, 2);
    CHECK(!strcmp(back.policies[0].rodata[1], "limit_forced_collapse=0"));
    CHECK_EQ(back.policies[1].nr_edits, 2);
    CHECK(!strcmp(back.policies[1].edits[0].value, "1024"));
    CHECK(back.policies[1].edits[1].value == NULL);
    CHECK(!strcmp(back.global, "names"));
    CHECK_EQ(back.nr_procs, 2);
    CHECK_EQ(back.procs[0].pid, 1234);
    CHECK_U64_EQ(back.procs[0].start_time, 99887766);
    CHECK(!strcmp(back.procs[0].policy, "web") && !strcmp(back.procs[0].comm, "postgres"));
    live_state_free(&back);

    /* policy removal and source replacement (update) */
    CHECK_EQ(live_state_set_source(&st.policies[0], "/new.bpf.o", NULL, 0), 0);
    CHECK_EQ(st.policies[0].nr_rodata, 0);
    live_state_del_policy(&st, 0);
    CHECK_EQ(st.nr_policies, 1);
    CHECK(!strcmp(st.policies[0].name, "names"));
    live_state_free(&st);

    /* damaged files */
    static const struct {
        const char *text, *want;
    } bad[] = {
        {"not json at all", "not valid JSON"},
        {"[1,2]", "not a JSON object"},
        {"{\"version\": 2}", "version"},
        {"{\"version\": 1, \"policies\": 5}", "\"policies\" must be an array"},
        {"{\"version\": 1, \"policies\": [{\"name\": \"x\"}]}", "policies[0] needs"},
        {"{\"version\": 1, \"procs\": [{\"pid\": 0, \"start_time\": 1, \"policy\": \"x\"}]}",
         "must be positive"},
        {"{\"version\": 1, \"procs\": [{\"pid\": \"12\", \"start_time\": 1, \"policy\": \"x\"}]}",
         "procs[0] needs"},
        {"{\"version\": 1, \"global\": 7}", "\"global\""},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_file(path, bad[i].text);
        CHECK_EQ(live_state_load(path, &back, err, sizeof(err)), -EINVAL);
        CHECK_STR_CONTAINS(err, bad[i].want);
        CHECK_STR_CONTAINS(err, path);
        CHECK_EQ(back.nr_policies + back.nr_procs, 0);
    }
    unlink(path);
    CHECK_EQ(live_state_load(path, &back, err, sizeof(err)), -ENOENT);
    /* a directory that does not exist: a clear error, not a crash */
    CHECK_LT(live_state_save("/nonexistent-dir/state.json", &back, err, sizeof(err)), 0);
    CHECK_STR_CONTAINS(err, "/nonexistent-dir/state.json");
    rmdir(dir);
    printf("ok\n");
    return 0;
}
