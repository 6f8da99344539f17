/*
 * live_bench_agent_quick: `bpfmm bench agent --quick --json` prints exactly one JSON object,
 * {"name": "agent", "metrics": {...}}, with every key issue 4 asks for (a smoke test: values
 * are not judged, only present - numbers, or null where a rate could not be extrapolated).
 */
#include "demo_test.h"

static struct cmd_result r;

int main(void)
{
    require_demo("runs the agent benchmark");
    bpfmm_run((const char *[]){"bench", "agent", "--quick", "--json", NULL}, false, &r);
    if (r.status == 77)
        test_skip("bench agent: %s", r.out);
    CHECK_MSG(r.status == 0, "bpfmm bench agent --quick --json exited %d: %s", r.status, r.err);

    struct json_tokener *tok = json_tokener_new();
    struct json_object *d = json_tokener_parse_ex(tok, r.out, (int)strlen(r.out));
    CHECK_MSG(d, "not JSON: %.300s", r.out);
    const char *rest = r.out + json_tokener_get_parse_end(tok);
    CHECK_MSG(strspn(rest, " \n") == strlen(rest), "more than one object: %s", rest);
    json_tokener_free(tok);

    CHECK_STR_CONTAINS(json_object_get_string(jpath(d, "name")), "agent");
    struct json_object *m = jpath(d, "metrics");
    CHECK(m && json_object_is_type(m, json_type_object));
    static const char *const numbers[] = {
        "converge_s_1g",
        "agent_cpu_ms_per_gib_scanned",
        "target_max_fault_stall_ms",
        "target_max_fault_stall_ms_unbudgeted",
        "gups_speedup",
        "gups_speedup_thp_at_fault",
        "gups_agent_vs_thp_at_fault",
    };
    for (size_t i = 0; i < sizeof(numbers) / sizeof(*numbers); i++)
        jnum_at(m, numbers[i]);
    /* khugepaged may not move at all in a 5 s window: then nothing can be extrapolated. */
    static const char *const maybe_null[] = {"khugepaged_converge_s_1g",
                                             "converge_speedup_vs_khugepaged"};
    for (size_t i = 0; i < 2; i++)
        CHECK_MSG(json_object_object_get_ex(m, maybe_null[i], NULL), "no key %s", maybe_null[i]);
    json_object_put(d);
    return 0;
}
