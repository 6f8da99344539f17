/*
 * Reply construction and request field access for the control protocol (control_proto.h).
 * Owns no socket and no operation.
 */
#include "control_proto.h"

#include "os.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct json_object *live_ctl_reply_ok(void)
{
    struct json_object *r = json_object_new_object();
    if (!r)
        return NULL;
    json_object_object_add(r, "v", json_object_new_int(LIVE_CTL_VERSION));
    json_object_object_add(r, "ok", json_object_new_boolean(1));
    return r;
}

struct json_object *live_ctl_reply_err(int err, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (err < 0)
        err = -err;
    if (!err)
        err = EINVAL;
    struct json_object *r = json_object_new_object();
    if (!r)
        return NULL;
    json_object_object_add(r, "v", json_object_new_int(LIVE_CTL_VERSION));
    json_object_object_add(r, "ok", json_object_new_boolean(0));
    json_object_object_add(r, "errno", json_object_new_string(live_errno_name(err)));
    json_object_object_add(r, "code", json_object_new_int(err));
    json_object_object_add(r, "error", json_object_new_string(msg));
    return r;
}

int live_ctl_get_str(struct json_object *req, const char *key, bool required, const char **out,
                     char *err, size_t err_size)
{
    struct json_object *v;
    *out = NULL;
    if (!json_object_object_get_ex(req, key, &v) || json_object_is_type(v, json_type_null)) {
        if (!required)
            return 0;
        snprintf(err, err_size, "the request has no \"%s\" field", key);
        return -EINVAL;
    }
    if (!json_object_is_type(v, json_type_string)) {
        snprintf(err, err_size, "field \"%s\" must be a string", key);
        return -EINVAL;
    }
    *out = json_object_get_string(v);
    if (required && !**out) {
        snprintf(err, err_size, "field \"%s\" is empty", key);
        return -EINVAL;
    }
    return 0;
}

int live_ctl_get_int(struct json_object *req, const char *key, bool required, long long *out,
                     char *err, size_t err_size)
{
    struct json_object *v;
    if (!json_object_object_get_ex(req, key, &v) || json_object_is_type(v, json_type_null)) {
        if (!required)
            return -ENOENT;
        snprintf(err, err_size, "the request has no \"%s\" field", key);
        return -EINVAL;
    }
    if (!json_object_is_type(v, json_type_int)) {
        snprintf(err, err_size, "field \"%s\" must be an integer", key);
        return -EINVAL;
    }
    errno = 0;
    *out = (long long)json_object_get_int64(v);
    return 0;
}

int live_ctl_get_strv(struct json_object *req, const char *key, const char **out, unsigned max,
                      unsigned *n, char *err, size_t err_size)
{
    struct json_object *v;
    *n = 0;
    if (!json_object_object_get_ex(req, key, &v) || json_object_is_type(v, json_type_null))
        return 0;
    if (!json_object_is_type(v, json_type_array)) {
        snprintf(err, err_size, "field \"%s\" must be an array of strings", key);
        return -EINVAL;
    }
    size_t len = json_object_array_length(v);
    if (len > max) {
        snprintf(err, err_size, "field \"%s\" has %zu entries; at most %u are accepted", key, len,
                 max);
        return -E2BIG;
    }
    for (size_t i = 0; i < len; i++) {
        struct json_object *e = json_object_array_get_idx(v, i);
        if (!json_object_is_type(e, json_type_string)) {
            snprintf(err, err_size, "field \"%s\"[%zu] must be a string", key, i);
            return -EINVAL;
        }
        out[i] = json_object_get_string(e);
    }
    *n = (unsigned)len;
    return 0;
}
