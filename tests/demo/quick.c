/*
 * live_demo_quick: `bpfmm demo --quick --json` runs both runs to completion, and under the
 * default policy the agent brings the dense region to at least 90 % THP (as measured by the
 * demo's own scanner, agreeing with the agent's collapse count) without collapsing any range
 * of the sparse region (zero bloat, nothing huge there). The stock-kernel run reports the same
 * fields. No timing is asserted.
 */
#include "demo_test.h"

static struct cmd_result r;

int main(void)
{
    require_demo("runs the demo");
    bpfmm_run((const char *[]){"demo", "--quick", "--json", NULL}, false, &r);
    CHECK_MSG(r.status == 0, "bpfmm demo --quick --json exited %d: %s", r.status, r.err);
    struct json_object *d = json_tokener_parse(r.out);
    CHECK_MSG(d, "not JSON: %.300s", r.out);

    const double mib = 1 << 20, size = jnum_at(d, "size"), sparse = jnum_at(d, "sparse_size");
    CHECK_EQ(size, 128 * mib);
    CHECK_EQ(sparse, 32 * mib);
    CHECK_EQ(jnum_at(d, "sparse_touched_pages"), sparse / (2 * mib));

    /* The agent, default policy. */
    struct json_object *a = jpath(d, "runs.agent");
    CHECK(a);
    CHECK_MSG(json_object_get_boolean(jpath(a, "reached_90")), "the agent did not reach 90 %%: %s",
              json_object_to_json_string(a));
    CHECK_STR_CONTAINS(json_object_get_string(jpath(a, "policy")), "default");
    CHECK_STR_CONTAINS(json_object_get_string(jpath(a, "state")), "active");
    double share = jnum_at(a, "thp_share_final");
    CHECK_MSG(share >= 0.9 && share <= 1.0, "agent thp_share_final %.3f", share);
    CHECK_GE(jnum_at(a, "huge_bytes_final"), 0.9 * size);
    CHECK_GE(jnum_at(a, "time_to_90_s"), 0);
    CHECK_GE(jnum_at(a, "collapse_bytes"), 0.9 * size);
    /* Zero bloat: every sparse range was refused (one page of 512 is far below half). */
    CHECK_EQ(jnum_at(a, "sparse_bloat_bytes"), 0);
    CHECK_EQ(jnum_at(a, "sparse_huge_bytes"), 0);
    CHECK_EQ(jnum_at(a, "sparse_present_pages"), sparse / (2 * mib));
    CHECK_GE(jnum_at(a, "refused"), sparse / (2 * mib));
    CHECK_GT(jnum_at(a, "accesses_per_s_before"), 0);
    CHECK_GT(jnum_at(a, "accesses_per_s_after"), 0);
    CHECK_GT(json_object_array_length(jpath(a, "samples")), 1);

    /* The stock kernel's run reports the same measurements. */
    struct json_object *k = jpath(d, "runs.khugepaged");
    CHECK(k);
    double ks = jnum_at(k, "thp_share_final");
    CHECK(ks >= 0 && ks <= 1);
    CHECK_GE(jnum_at(k, "seconds"), 5);
    CHECK_EQ(jnum_at(k, "thp_share_start"), 0);
    CHECK_GE(jnum_at(k, "sparse_bloat_bytes"), 0);
    CHECK_GT(jnum_at(k, "accesses_per_s_before"), 0);
    /* null when khugepaged did not move at all in the window (it may be busy elsewhere) */
    CHECK(json_object_object_get_ex(k, "time_to_90_estimate_s", NULL));
    json_object_put(d);
    return 0;
}
