/*
 * Public host-side map API: accessors, lookup/update/delete/next_key that copy keys and values
 * in and out (through the same rt_map_ops programs use, so the same concurrency guarantees
 * hold: async-signal-safe, never waiting on a lock), the .rodata freeze after load, and the
 * BTF-driven parse/format entry points (implemented in rt_btf_value.c).
 */
#include "rt_btf_value.h"
#include "rt_map_impl.h"
#include "rt_obj.h"

#include <errno.h>
#include <string.h>

const char *bpfmm_rt_map_name(const bpfmm_rt_map_t *m)
{
    return m ? m->rt.name : NULL;
}

uint32_t bpfmm_rt_map_type(const bpfmm_rt_map_t *m)
{
    return m ? m->rt.type : 0;
}

uint32_t bpfmm_rt_map_key_size(const bpfmm_rt_map_t *m)
{
    return m ? m->rt.key_size : 0;
}

uint32_t bpfmm_rt_map_value_size(const bpfmm_rt_map_t *m)
{
    return m ? m->rt.value_size : 0;
}

uint32_t bpfmm_rt_map_max_entries(const bpfmm_rt_map_t *m)
{
    return m ? m->rt.max_entries : 0;
}

bool bpfmm_rt_map_is_global(const bpfmm_rt_map_t *m)
{
    return m && m->rt.global;
}

int bpfmm_rt_map_lookup(bpfmm_rt_map_t *m, const void *key, void *value)
{
    if (!m || !key || !value || !m->rt.ops)
        return -EINVAL;
    if (m->rt.type != BPFMM_RT_MAP_ARRAY)
        return rt_map_hash_lookup_copy(&m->rt, key, value);
    void *v = m->rt.ops->lookup(&m->rt, key);
    if (!v)
        return -ENOENT;
    rt_map_copy_out(value, v, m->rt.value_size);
    return 0;
}

int bpfmm_rt_map_update(bpfmm_rt_map_t *m, const void *key, const void *value, uint64_t flags)
{
    if (!m || !key || !value || !m->rt.ops)
        return -EINVAL;
    if (m->rodata && m->obj->loaded)
        return -EPERM; /* see bpfmm_rt_map_strerror() */
    return m->rt.ops->update(&m->rt, key, value, flags);
}

int bpfmm_rt_map_delete(bpfmm_rt_map_t *m, const void *key)
{
    if (!m || !key || !m->rt.ops)
        return -EINVAL;
    return m->rt.ops->delete (&m->rt, key);
}

int bpfmm_rt_map_next_key(bpfmm_rt_map_t *m, const void *key, void *next_key)
{
    if (!m || !next_key || !m->rt.ops)
        return -EINVAL;
    return m->rt.ops->next_key(&m->rt, key, next_key);
}

const char *bpfmm_rt_map_strerror(const bpfmm_rt_map_t *m, int err)
{
    bool hash = m && m->rt.type != BPFMM_RT_MAP_ARRAY;
    switch (err) {
    case 0:
        return "success";
    case -EPERM:
        if (m && m->rodata)
            return "read-only after load: .rodata is frozen once the programs are verified; "
                   "set const volatile knobs before load (bpfmm_rt_obj_set_rodata, --rodata)";
        return "operation not permitted";
    case -ENOENT:
        return "no such key";
    case -EEXIST:
        return hash ? "the key exists and BPF_NOEXIST was given"
                    : "array elements always exist: BPF_NOEXIST cannot succeed";
    case -E2BIG:
        return hash ? "the map is full (max_entries reached)" : "index past max_entries";
    case -EBUSY:
        return "the map is busy (a bucket lock stayed held, e.g. by a thread this signal "
               "handler interrupted): retry";
    case -ENOMEM:
        return "no free element in the map's memory";
    case -EINVAL:
        if (m && m->rt.type == BPFMM_RT_MAP_ARRAY)
            return "invalid argument (array elements cannot be deleted; flags must be "
                   "BPF_ANY, BPF_NOEXIST or BPF_EXIST)";
        return "invalid argument (flags must be BPF_ANY, BPF_NOEXIST or BPF_EXIST)";
    default:
        return strerror(err < 0 ? -err : err);
    }
}

int bpfmm_rt_map_parse_key(const bpfmm_rt_map_t *m, const char *text, void *key, char *log_buf,
                           size_t log_size)
{
    if (log_buf && log_size)
        log_buf[0] = '\0';
    if (!m || !text || !key)
        return -EINVAL;
    return rt_btf_parse(m->obj->btf, m->rt.btf_key_type_id, text, key, m->rt.key_size, log_buf,
                        log_size);
}

int bpfmm_rt_map_parse_value(const bpfmm_rt_map_t *m, const char *text, void *value, char *log_buf,
                             size_t log_size)
{
    if (log_buf && log_size)
        log_buf[0] = '\0';
    if (!m || !text || !value)
        return -EINVAL;
    return rt_btf_parse(m->obj->btf, m->rt.btf_value_type_id, text, value, m->rt.value_size,
                        log_buf, log_size);
}

int bpfmm_rt_map_format_key(const bpfmm_rt_map_t *m, const void *key, char *buf, size_t size)
{
    if (!m || !key || !buf || !size)
        return -EINVAL;
    return rt_btf_format(m->obj->btf, m->rt.btf_key_type_id, key, m->rt.key_size, buf, size);
}

int bpfmm_rt_map_format_value(const bpfmm_rt_map_t *m, const void *value, char *buf, size_t size)
{
    if (!m || !value || !buf || !size)
        return -EINVAL;
    return rt_btf_format(m->obj->btf, m->rt.btf_value_type_id, value, m->rt.value_size, buf, size);
}
