/*
 * The agent's budget primitives: token buckets with a caller-supplied clock (bytes collapsed
 * per second, mmap-lock time per second) and exponential backoff. Pure arithmetic, no Linux
 * call and no policy: the agent (agent_act.c) decides what to charge and when to wait, and
 * tests drive these with a fake clock.
 *
 * A bucket refills at `rate` units per second up to `cap`, starts full, and may go into debt:
 * a charge known only afterwards (the lock time of a call) is taken in full, and the next
 * spend waits until the level is back above zero. rate 0 means unlimited.
 */
#ifndef BPFMM_LIVE_BUDGET_H
#define BPFMM_LIVE_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

struct live_bucket {
    uint64_t rate;    /* units per second; 0: unlimited */
    uint64_t cap;     /* maximum level */
    int64_t level;    /* may be negative (debt) */
    uint64_t last_ns; /* time of the last refill */
};

/* Starts full at time now. rate 0: unlimited (every query says yes, charges are ignored). */
void live_bucket_init(struct live_bucket *b, uint64_t rate, uint64_t cap, uint64_t now);
/* Changes rate and cap, keeping the level (clamped to the new cap). */
void live_bucket_set(struct live_bucket *b, uint64_t rate, uint64_t cap, uint64_t now);
bool live_bucket_unlimited(const struct live_bucket *b);
/* The level after refilling to now; INT64_MAX when unlimited. */
int64_t live_bucket_level(struct live_bucket *b, uint64_t now);
/* Takes n units (the level may go negative). */
void live_bucket_charge(struct live_bucket *b, uint64_t n, uint64_t now);
/* Gives back n units (never above cap), e.g. for work charged but not done. */
void live_bucket_refund(struct live_bucket *b, uint64_t n, uint64_t now);
/* Nanoseconds from now until the level reaches want (0 if it already has; want is clamped to
 * cap, so a bucket always becomes ready). */
uint64_t live_bucket_wait_ns(struct live_bucket *b, uint64_t want, uint64_t now);

/* base_ms << (attempts - 1), capped at max_ms, in ns; attempts 0 counts as 1. */
uint64_t live_backoff_ns(uint32_t base_ms, uint32_t max_ms, uint32_t attempts);

#endif
