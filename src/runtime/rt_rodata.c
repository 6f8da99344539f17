/*
 * `const volatile` knobs: globals in .rodata that the host sets by name before load (as libbpf
 * skeletons do), so the verifier and the program see the chosen value. Values are parsed per
 * the variable's BTF type (rt_btf_value.c). After load .rodata is frozen and knobs are refused.
 */
#include "rt_btf.h"
#include "rt_btf_value.h"
#include "rt_obj.h"

#include <bpf/btf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct knob {
    struct bpfmm_rt_map *map;
    uint32_t type_id, offset, size;
};

/* Named, non-static variables of the .rodata DATASECs are knobs; clang's string literals and
 * static locals (e.g. "prog.____fmt") are not. */
static bool knob_at(const struct bpfmm_rt_obj *obj, unsigned want, const char *name, struct knob *k,
                    const char **kname)
{
    unsigned n = 0;
    for (unsigned mi = 0; mi < obj->nr_maps; mi++) {
        struct bpfmm_rt_map *m = obj->maps[mi];
        if (!m->rodata || !m->rt.btf_value_type_id || !obj->btf)
            continue;
        const struct btf_type *ds = btf__type_by_id(obj->btf, m->rt.btf_value_type_id);
        if (!ds || !btf_is_datasec(ds))
            continue;
        const struct btf_var_secinfo *vs = btf_var_secinfos(ds);
        for (unsigned i = 0; i < btf_vlen(ds); i++, vs++) {
            const struct btf_type *v = btf__type_by_id(obj->btf, vs->type);
            if (!v || !btf_is_var(v) || btf_var(v)->linkage == BTF_VAR_STATIC)
                continue;
            const char *vn = btf__name_by_offset(obj->btf, v->name_off);
            if (!vn || (name ? strcmp(vn, name) != 0 : n++ != want))
                continue;
            *k =
                (struct knob){.map = m, .type_id = v->type, .offset = vs->offset, .size = vs->size};
            if (kname)
                *kname = vn;
            return true;
        }
    }
    return false;
}

const char *bpfmm_rt_obj_knob_name(const bpfmm_rt_obj_t *obj, unsigned i)
{
    struct knob k;
    const char *name = NULL;
    return obj && knob_at(obj, i, NULL, &k, &name) ? name : NULL;
}

int bpfmm_rt_obj_get_rodata(const bpfmm_rt_obj_t *obj, const char *name, char *buf, size_t size)
{
    struct knob k;
    if (!obj || !name || !buf || !size)
        return -EINVAL;
    if (!knob_at(obj, 0, name, &k, NULL))
        return -ENOENT;
    const unsigned char *base = k.map->rt.global_data;
    return rt_btf_format(obj->btf, k.type_id, base + k.offset, k.size, buf, size);
}

int bpfmm_rt_obj_set_rodata(bpfmm_rt_obj_t *obj, const char *name, const char *value, char *log_buf,
                            size_t log_size)
{
    if (log_buf && log_size)
        log_buf[0] = '\0';
    if (!obj || !name || !value) {
        rt_log(log_buf, log_size, "set_rodata: object, name and value are required");
        return -EINVAL;
    }
    if (obj->loaded) {
        rt_log(log_buf, log_size,
               "%s: cannot set knob '%s': the object is already loaded and .rodata is frozen; "
               "set knobs before load",
               obj->name, name);
        return -EBUSY;
    }
    struct knob k;
    if (!knob_at(obj, 0, name, &k, NULL)) {
        char list[512] = "";
        struct knob kk;
        const char *kn;
        for (unsigned i = 0; knob_at(obj, i, NULL, &kk, &kn); i++) {
            size_t l = strlen(list);
            if (l + strlen(kn) + 8 >= sizeof(list)) {
                snprintf(list + l, sizeof(list) - l, ", ...");
                break;
            }
            snprintf(list + l, sizeof(list) - l, "%s%s", i ? ", " : "", kn);
        }
        rt_log(log_buf, log_size, "%s: no knob '%s' in .rodata; knobs: %s", obj->name, name,
               list[0] ? list : "(none: declare them as const volatile globals)");
        return -ENOENT;
    }
    unsigned char *tmp = calloc(1, k.size ? k.size : 1);
    char msg[384] = "";
    if (!tmp)
        return -ENOMEM;
    int err = rt_btf_parse(obj->btf, k.type_id, value, tmp, k.size, msg, sizeof(msg));
    if (err) {
        rt_log(log_buf, log_size, "%s: knob '%s': %s", obj->name, name, msg);
        free(tmp);
        return err;
    }
    /* Before load nothing runs: a plain copy is enough. */
    memcpy((unsigned char *)k.map->rt.global_data + k.offset, tmp, k.size);
    free(tmp);
    return 0;
}
