/*
 * Creating and destroying an allocator: option checking, the frame metadata array, the backed
 * arena (aligned so the largest block is naturally aligned in memory too), the thread-cache
 * slots, and pfn <-> address arithmetic. Owns the lifetime of those resources, not the
 * allocation paths (page.c, pcp.c, buddy.c).
 */
#include "alloc_internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>

#define DEF_PCP_SLOTS     64
#define DEF_PCP_HIGH      64
#define DEF_PCP_MAX_ORDER 3
#define MAX_PCP_SLOTS     4096
#define MAX_PCP_HIGH      (1u << 20)

static void *map_zeroed(size_t bytes, bool noreserve)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | (noreserve ? MAP_NORESERVE : 0), -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

static int map_arena(struct bpfmm_alloc *a)
{
    size_t bytes = (size_t)a->nr_frames << BPFMM_PAGE_SHIFT;
    /* Reserve one largest block extra and trim, so the arena starts on a boundary of the
     * largest block; costs address space only. */
    size_t align = BPFMM_PAGE_SIZE << a->max_order;
    size_t extra = align > BPFMM_PAGE_SIZE ? align : 0;
    char *p =
        mmap(NULL, bytes + extra, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (p == MAP_FAILED)
        return -errno;
    char *start = p;
    if (extra) {
        start = (char *)(((uintptr_t)p + align - 1) & ~(uintptr_t)(align - 1));
        if (start > p)
            munmap(p, (size_t)(start - p));
        size_t tail = (size_t)(p + bytes + extra - (start + bytes));
        if (tail)
            munmap(start + bytes, tail);
    }
    /* Commit the memory (accounted, unlike the reservation). */
    if (mmap(start, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1,
             0) == MAP_FAILED) {
        int e = errno;
        munmap(start, bytes);
        return -e;
    }
    a->arena = start;
    a->arena_bytes = bytes;
    a->arena_map = start;
    a->arena_map_bytes = bytes;
    return 0;
}

bpfmm_alloc_t *bpfmm_alloc_create(const struct bpfmm_alloc_opts *opts)
{
    if (!opts || opts->sz < offsetof(struct bpfmm_alloc_opts, nr_frames) + sizeof(uint64_t)) {
        alloc_set_error("bpfmm_alloc_create: opts is NULL or opts->sz is too small; set "
                        "opts.sz = sizeof(struct bpfmm_alloc_opts)");
        errno = EINVAL;
        return NULL;
    }
    /* Copy what the caller's version of the struct has; the rest stays zero = default. */
    struct bpfmm_alloc_opts o;
    memset(&o, 0, sizeof(o));
    memcpy(&o, opts, opts->sz < sizeof(o) ? opts->sz : sizeof(o));

    if (o.nr_frames == 0) {
        alloc_set_error("bpfmm_alloc_create: nr_frames is 0; a zone needs at least one frame");
        errno = EINVAL;
        return NULL;
    }
    if (o.nr_frames > ALLOC_MAX_FRAMES) {
        alloc_set_error("bpfmm_alloc_create: nr_frames %llu is above the maximum %llu (frame "
                        "indices are 32-bit: 16 TiB of 4 KiB frames); use a smaller zone",
                        (unsigned long long)o.nr_frames, (unsigned long long)ALLOC_MAX_FRAMES);
        errno = E2BIG;
        return NULL;
    }
    unsigned max_order = o.max_order == 0                         ? BPFMM_ALLOC_DEF_ORDER
                         : o.max_order == BPFMM_ALLOC_ORDER0_ONLY ? 0
                                                                  : o.max_order;
    if (max_order > BPFMM_ALLOC_ORDER_MAX) {
        alloc_set_error("bpfmm_alloc_create: max_order %u is above %u (1 GiB blocks); use "
                        "0..%u, or BPFMM_ALLOC_ORDER0_ONLY",
                        o.max_order, BPFMM_ALLOC_ORDER_MAX, BPFMM_ALLOC_ORDER_MAX);
        errno = EINVAL;
        return NULL;
    }
    if (o.backed) {
        struct sysinfo si;
        if (sysinfo(&si) == 0) {
            uint64_t ram = ((uint64_t)si.totalram + si.totalswap) * si.mem_unit;
            if (o.nr_frames > ram >> BPFMM_PAGE_SHIFT) {
                alloc_set_error("bpfmm_alloc_create: a backed arena of %llu frames (%llu MiB) "
                                "is larger than this machine's RAM + swap (%llu MiB); use "
                                "unbacked mode to simulate that much memory",
                                (unsigned long long)o.nr_frames,
                                (unsigned long long)(o.nr_frames >> 8),
                                (unsigned long long)(ram >> 20));
                errno = E2BIG;
                return NULL;
            }
        }
    }
    unsigned nr_slots = o.pcp_slots == 0 ? DEF_PCP_SLOTS : o.pcp_slots;
    if (o.pcp_slots == BPFMM_ALLOC_NO_PCP)
        nr_slots = 0;
    if (nr_slots > MAX_PCP_SLOTS) {
        alloc_set_error("bpfmm_alloc_create: pcp_slots %u is above %u; use fewer slots (or "
                        "BPFMM_ALLOC_NO_PCP for none)",
                        o.pcp_slots, MAX_PCP_SLOTS);
        errno = EINVAL;
        return NULL;
    }
    unsigned high = o.pcp_high == 0 ? DEF_PCP_HIGH : o.pcp_high;
    if (high > MAX_PCP_HIGH) {
        alloc_set_error("bpfmm_alloc_create: pcp_high %u is above %u pages", o.pcp_high,
                        MAX_PCP_HIGH);
        errno = EINVAL;
        return NULL;
    }
    unsigned pcp_max = o.pcp_max_order == 0 ? DEF_PCP_MAX_ORDER : o.pcp_max_order;
    if (o.pcp_max_order == BPFMM_ALLOC_ORDER0_ONLY)
        pcp_max = 0;
    if (pcp_max > BPFMM_ALLOC_ORDER_MAX) {
        alloc_set_error("bpfmm_alloc_create: pcp_max_order %u is above %u", o.pcp_max_order,
                        BPFMM_ALLOC_ORDER_MAX);
        errno = EINVAL;
        return NULL;
    }
    if (pcp_max > max_order)
        pcp_max = max_order;

    struct bpfmm_alloc *a = aligned_alloc(64, sizeof(*a));
    if (!a) {
        alloc_set_error("bpfmm_alloc_create: out of memory for the allocator");
        errno = ENOMEM;
        return NULL;
    }
    memset(a, 0, sizeof(*a));
    a->nr_frames = (uint32_t)o.nr_frames;
    a->max_order = max_order;
    a->pcp_max_order = nr_slots ? (int)pcp_max : -1;
    a->pcp_high = high;
    a->pcp_batch = high / 4 ? high / 4 : 1;
    a->nr_slots = nr_slots;
    a->backed = o.backed;
    atomic_init(&a->charge_limit, o.charge_limit_pages);
    atomic_init(&a->deferred_head, NONE);
    atomic_init(&a->next_slab_id, 1);

    /* Zero-filled, lazily populated: untouched frames read as tails, and a zone of many GiB
     * only pays for the metadata pages it uses. */
    a->frames_bytes = (size_t)o.nr_frames * sizeof(struct frame);
    a->frames = map_zeroed(a->frames_bytes, true);
    if (!a->frames) {
        alloc_set_error("bpfmm_alloc_create: cannot map %zu bytes of frame metadata for %llu "
                        "frames: %s",
                        a->frames_bytes, (unsigned long long)o.nr_frames, strerror(errno));
        free(a);
        errno = ENOMEM;
        return NULL;
    }
    if (nr_slots) {
        a->slots = aligned_alloc(64, sizeof(struct pcp_slot) * nr_slots);
        if (!a->slots) {
            alloc_set_error("bpfmm_alloc_create: out of memory for %u thread-cache slots",
                            nr_slots);
            munmap(a->frames, a->frames_bytes);
            free(a);
            errno = ENOMEM;
            return NULL;
        }
        memset(a->slots, 0, sizeof(struct pcp_slot) * nr_slots);
        for (unsigned i = 0; i < nr_slots; i++)
            for (unsigned k = 0; k < BPFMM_ALLOC_NR_ORDERS; k++)
                a->slots[i].head[k] = NONE;
    }
    if (o.backed) {
        int err = map_arena(a);
        if (err) {
            alloc_set_error("bpfmm_alloc_create: cannot map a backed arena of %llu frames "
                            "(%llu MiB): %s; use fewer frames or unbacked mode",
                            (unsigned long long)o.nr_frames, (unsigned long long)(o.nr_frames >> 8),
                            strerror(-err));
            free(a->slots);
            munmap(a->frames, a->frames_bytes);
            free(a);
            errno = ENOMEM;
            return NULL;
        }
    }
    buddy_init(a);
    alloc_registry_add(a);
    return a;
}

void bpfmm_alloc_destroy(bpfmm_alloc_t *a)
{
    if (!a)
        return;
    /* After this no thread-exit destructor touches a, and thread caches keyed on its id
     * become stale (ids are never reused, so a new allocator at this address is not matched). */
    alloc_registry_del(a);
    if (a->arena_map)
        munmap(a->arena_map, a->arena_map_bytes);
    munmap(a->frames, a->frames_bytes);
    free(a->slots);
    free(a);
}

void *bpfmm_alloc_pfn_to_addr(const bpfmm_alloc_t *a, uint64_t pfn)
{
    if (!a || !a->backed || pfn >= a->nr_frames) {
        errno = EINVAL;
        return NULL;
    }
    return a->arena + (pfn << BPFMM_PAGE_SHIFT);
}

int64_t bpfmm_alloc_addr_to_pfn(const bpfmm_alloc_t *a, const void *addr)
{
    if (!a || !a->backed)
        return -EFAULT;
    uintptr_t p = (uintptr_t)addr, base = (uintptr_t)a->arena;
    if (p < base || p - base >= a->arena_bytes)
        return -EFAULT;
    return (int64_t)((p - base) >> BPFMM_PAGE_SHIFT);
}
