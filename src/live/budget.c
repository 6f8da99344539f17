/*
 * Token buckets and backoff (see budget.h). Levels are integers in the bucket's units; refill
 * uses 128-bit arithmetic so that a large rate times a long idle time cannot overflow.
 */
#include "budget.h"

#define NS_PER_S 1000000000ull

void live_bucket_init(struct live_bucket *b, uint64_t rate, uint64_t cap, uint64_t now)
{
    b->rate = rate;
    b->cap = cap > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : cap;
    b->level = (int64_t)b->cap;
    b->last_ns = now;
}

void live_bucket_set(struct live_bucket *b, uint64_t rate, uint64_t cap, uint64_t now)
{
    int64_t level = live_bucket_unlimited(b) ? INT64_MAX : live_bucket_level(b, now);
    b->rate = rate;
    b->cap = cap > (uint64_t)INT64_MAX ? (uint64_t)INT64_MAX : cap;
    b->level = level > (int64_t)b->cap ? (int64_t)b->cap : level;
    b->last_ns = now;
}

bool live_bucket_unlimited(const struct live_bucket *b)
{
    return b->rate == 0;
}

static void refill(struct live_bucket *b, uint64_t now)
{
    if (now <= b->last_ns)
        return;
    unsigned __int128 add = (unsigned __int128)(now - b->last_ns) * b->rate / NS_PER_S;
    if (add == 0)
        return; /* keep last_ns: the time accrues toward the next whole unit */
    __int128 level = (__int128)b->level + (__int128)add;
    if (level >= (__int128)b->cap) {
        b->level = (int64_t)b->cap;
        b->last_ns = now;
    } else {
        b->level = (int64_t)level;
        /* Advance only by the time that produced whole units, so slow rates still refill. */
        b->last_ns += (uint64_t)(add * NS_PER_S / b->rate);
    }
}

int64_t live_bucket_level(struct live_bucket *b, uint64_t now)
{
    if (live_bucket_unlimited(b))
        return INT64_MAX;
    refill(b, now);
    return b->level;
}

void live_bucket_charge(struct live_bucket *b, uint64_t n, uint64_t now)
{
    if (live_bucket_unlimited(b))
        return;
    refill(b, now);
    if (n > (uint64_t)INT64_MAX)
        n = (uint64_t)INT64_MAX;
    /* Debt is bounded so that one enormous charge cannot wrap the level. */
    if (b->level < INT64_MIN / 2 + (int64_t)n)
        b->level = INT64_MIN / 2;
    else
        b->level -= (int64_t)n;
}

void live_bucket_refund(struct live_bucket *b, uint64_t n, uint64_t now)
{
    if (live_bucket_unlimited(b))
        return;
    refill(b, now);
    if (n > b->cap)
        n = b->cap;
    b->level += (int64_t)n;
    if (b->level > (int64_t)b->cap)
        b->level = (int64_t)b->cap;
}

uint64_t live_bucket_wait_ns(struct live_bucket *b, uint64_t want, uint64_t now)
{
    if (live_bucket_unlimited(b))
        return 0;
    if (want > b->cap)
        want = b->cap;
    int64_t level = live_bucket_level(b, now);
    if (level >= (int64_t)want)
        return 0;
    unsigned __int128 missing = (unsigned __int128)((__int128)want - (__int128)level);
    unsigned __int128 ns = (missing * NS_PER_S + b->rate - 1) / b->rate;
    /* Time already accrued toward the next unit since the last refill. */
    uint64_t accrued = now > b->last_ns ? now - b->last_ns : 0;
    ns = ns > accrued ? ns - accrued : 1;
    return ns > UINT64_MAX / 2 ? UINT64_MAX / 2 : (uint64_t)ns;
}

uint64_t live_backoff_ns(uint32_t base_ms, uint32_t max_ms, uint32_t attempts)
{
    uint64_t ms = base_ms ? base_ms : 1;
    for (uint32_t i = 1; i < attempts && ms < max_ms; i++)
        ms *= 2;
    if (ms > max_ms)
        ms = max_ms;
    return ms * 1000000ull;
}
