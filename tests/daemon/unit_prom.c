/*
 * Prometheus formatting of a status document: HELP and TYPE before each family, per-process
 * series labelled pid/comm/policy (with label escaping), failures by errno, scaled units
 * (mmap_lock_us -> seconds), families omitted when nothing has them. No root needed.
 */
#include "test.h"
#include "live/prom.h"

int main(void)
{
    const char *doc =
        "{\"agent\":{\"version\":\"0.1.0\",\"uptime_s\":12.5,\"cpu_s\":0.25},"
        "\"lifecycle\":{\"mode\":\"bpf\",\"managed\":2,\"forks\":3,\"execs\":1,\"exits\":0,"
        "\"lost\":0},"
        "\"engine\":{\"scanned_bytes\":1073741824,\"cpu_ms_per_gib_scanned\":4.5},"
        "\"policies\":[{\"name\":\"default\",\"processes\":2,\"calls\":100,\"faults\":1}],"
        "\"processes\":[{\"pid\":42,\"comm\":\"we\\\"ird\\\\\",\"policy\":\"default\","
        "\"anon_rss\":1048576,\"anon_huge\":524288,\"thp_share\":0.5,\"collapses\":3,"
        "\"collapsed_bytes\":6291456,\"mmap_lock_us\":1500,\"scans\":2,"
        "\"last_scan_age_s\":1.25,\"collapse_failures\":{\"EAGAIN\":4}},"
        "{\"pid\":43,\"comm\":\"b\\u00e9\\u0001\",\"policy\":\"default\",\"anon_rss\":0,"
        "\"last_scan_age_s\":null,\"collapse_failures\":{}}]}";
    struct json_object *st = json_tokener_parse(doc);
    CHECK(st);
    char *t = live_prom_format(st);
    CHECK(t);
    printf("%s", t);
    CHECK_STR_CONTAINS(t, "# HELP bpfmm_agent_info ");
    CHECK_STR_CONTAINS(t, "bpfmm_agent_info{version=\"0.1.0\",lifecycle=\"bpf\"} 1\n");
    CHECK_STR_CONTAINS(t, "# TYPE bpfmm_agent_cpu_seconds_total counter\n");
    CHECK_STR_CONTAINS(t, "bpfmm_agent_uptime_seconds 12.5\n");
    CHECK_STR_CONTAINS(t, "bpfmm_lifecycle_events_total{event=\"fork\"} 3\n");
    CHECK_STR_CONTAINS(t, "bpfmm_policy_faults_total{policy=\"default\"} 1\n");
    const char *lbl = "{pid=\"42\",comm=\"we\\\"ird\\\\\",policy=\"default\"}";
    char want[256];
    snprintf(want, sizeof(want), "bpfmm_process_thp_ratio%s 0.5\n", lbl);
    CHECK_STR_CONTAINS(t, want);
    snprintf(want, sizeof(want), "bpfmm_process_mmap_lock_seconds_total%s 0.0015\n", lbl);
    CHECK_STR_CONTAINS(t, want);
    CHECK_STR_CONTAINS(t, "bpfmm_process_collapse_failures_total{pid=\"42\",comm=\"we\\\"ird\\\\\","
                          "policy=\"default\",errno=\"EAGAIN\"} 4\n");
    /* non-ASCII and control bytes of a comm become ? (label values must be UTF-8): é is 2 */
    CHECK_STR_CONTAINS(
        t, "bpfmm_process_anon_rss_bytes{pid=\"43\",comm=\"b???\",policy=\"default\"} 0");
    /* pid 43 was never scanned: no age sample for it */
    CHECK(!strstr(t, "bpfmm_process_last_scan_age_seconds{pid=\"43\""));
    /* each family header appears once */
    const char *first = strstr(t, "# TYPE bpfmm_process_anon_rss_bytes");
    CHECK(first && !strstr(first + 1, "# TYPE bpfmm_process_anon_rss_bytes"));
    free(t);
    json_object_put(st);

    /* an empty document still gives a valid (small) exposition */
    st = json_object_new_object();
    t = live_prom_format(st);
    CHECK(t);
    CHECK_STR_CONTAINS(t, "bpfmm_agent_info{");
    CHECK(!strstr(t, "bpfmm_process_"));
    free(t);
    json_object_put(st);
    printf("ok\n");
    return 0;
}
