/*
 * live_demo_table: `bpfmm demo --quick` prints the table - a header, a row for the stock
 * kernel and one for the agent, and one line under it per column saying what it means - and
 * the agent's row shows at least 90 % THP and 0 B of sparse bloat.
 */
#include "demo_test.h"

static struct cmd_result r;

int main(void)
{
    require_demo("runs the demo");
    bpfmm_run((const char *[]){"demo", "--quick", NULL}, false, &r);
    CHECK_MSG(r.status == 0, "bpfmm demo --quick exited %d: %s", r.status, r.err);
    CHECK_STR_CONTAINS(r.out, "time to 90 % THP");
    CHECK_STR_CONTAINS(r.out, "final THP");
    CHECK_STR_CONTAINS(r.out, "accesses/s before -> after");
    CHECK_STR_CONTAINS(r.out, "sparse bloat");
    CHECK_STR_CONTAINS(r.out, "\nstock kernel (khugepaged)");
    for (const char *c = "time to 90 % THP:\0final THP:\0accesses/s:\0sparse bloat:\0"; *c;
         c += strlen(c) + 1) {
        char want[64];
        snprintf(want, sizeof(want), "\n%s ", c);
        CHECK_STR_CONTAINS(r.out, want);
    }

    char *row = strstr(r.out, "\nbpfmm agent (default)");
    CHECK_MSG(row, "no agent row in: %s", r.out);
    row++;
    char line[512];
    snprintf(line, sizeof(line), "%.*s", (int)strcspn(row, "\n"), row);
    /* ... TIME s   SHARE %   BEFORE M -> AFTER M (+G %)   BLOAT UNIT */
    char *tok[32], *save = NULL;
    int n = 0;
    for (char *t = strtok_r(line, " ", &save); t && n < 32; t = strtok_r(NULL, " ", &save))
        tok[n++] = t;
    int pct = -1;
    for (int i = 1; i < n; i++)
        if (!strcmp(tok[i], "%")) {
            pct = i;
            break;
        }
    CHECK_MSG(pct > 0, "no THP share in the agent's row: %s", row);
    CHECK_MSG(strtod(tok[pct - 1], NULL) >= 90.0, "the agent's row shows %s %% THP", tok[pct - 1]);
    CHECK_MSG(n >= 2 && !strcmp(tok[n - 2], "0") && !strcmp(tok[n - 1], "B"),
              "the agent's row shows sparse bloat: %s %s", tok[n - 2], tok[n - 1]);
    return 0;
}
