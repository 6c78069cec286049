/* SPDX-License-Identifier: MIT */
/*
 * vitsa: integer GEMM systolic-array accelerator, PCI device model
 *
 * The guest queues GEMM descriptors in a command ring in its memory; a
 * worker thread fetches them by DMA, runs them through the vitsa functional
 * model (hw/model/, copied next to this file by scripts/qemu.sh), writes a
 * completion record per descriptor and raises MSI or INTx.  The register map
 * and the protocol are Documentation/hw/vitsa.rst; every constant comes from
 * hw/include/vitsa_hw.h.
 *
 * Locking: VitsaState.lock guards the registers, the counters and the worker
 * state.  The vCPU side (MMIO, config space, reset, the interrupt bottom
 * half) runs under the BQL and takes the lock inside it, and unrealize joins
 * the worker with the BQL held, so the worker never takes the BQL.  Each of
 * its DMA accesses translates once (vitsa_dma_map) and then either copies
 * through the host pointer of the RAM found or fails as a DMA error: MMIO,
 * unassigned space, ROM for a write and bus mastering off all fail, and no
 * path leads to MMIO dispatch, which would take the BQL.  A guest that remaps
 * the address between translation and copy gets the copy in the RAM that was
 * mapped, like a DMA already in flight.  Behind a vIOMMU the IOMMU model's
 * translation (which may take the BQL and report faults by MSI) runs in the
 * main loop, in xlat_bh, while the worker waits without the lock; the
 * completion record is mapped that way before the lock is taken.  Operand
 * DMA runs without the lock; the completion record is written with it held,
 * so a reset comes either before it (no record, no HEAD update) or after
 * both.
 *
 * With the test-only property x-fault-inject the guest can arm one fault at
 * a time (FAULT_KIND); the worker takes it when it has fetched a matching
 * descriptor.  A HANG parks the worker on VitsaState.cond until the reset
 * generation changes, so CTRL.RESET, a device reset and unrealize all free
 * it the way they cancel a running job.  A RESET_STUCK parks it the same
 * way, but the CTRL.RESET that frees it stays RESETTING until late_timer
 * has made the hung job's late write of C.  That write runs in the main loop
 * with the BQL held, so unlike the worker's DMA it may go through
 * pci_dma_write to any address: with bus mastering off the PCI core refuses
 * it, which is what a driver that gave up on the reset has to arrange.
 */

#include "qemu/osdep.h"
#include "qemu/bswap.h"
#include "qemu/host-utils.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/module.h"
#include "qemu/rcu.h"
#include "qemu/thread.h"
#include "qemu/timer.h"
#include "qapi/error.h"
#include "exec/memory.h"
#include "hw/pci/msi.h"
#include "hw/pci/pci.h"
#include "hw/qdev-properties.h"
#include "migration/vmstate.h"
#include "qom/object.h"
#include "sysemu/dma.h"

#include "include/vitsa_hw_vec.h"
#include "model/vitsa_lanes.h"
#include "model/vitsa_model.h"
#include "model/vitsa_wcache.h"

#define TYPE_VITSA "vitsa"
OBJECT_DECLARE_SIMPLE_TYPE(VitsaState, VITSA)

#define VITSA_DESC_SIZE     ((uint64_t)sizeof(struct vitsa_hw_desc))
#define VITSA_CPL_SIZE      ((uint64_t)sizeof(struct vitsa_hw_cpl))
#define VITSA_RING_ALIGN    128     /* RING_BASE alignment */
#define VITSA_CPL_ALIGN     32      /* CPL_BASE alignment */
#define VITSA_ARRAY_DEFAULT 16      /* default rows and cols */
#define VITSA_ARRAY_MAX     256     /* largest rows or cols */
#define VITSA_CLOCK_DEFAULT 1000    /* default array clock, MHz */
#define VITSA_CLOCK_MAX     100000  /* largest clock-mhz */
/* RESET_STUCK: the late write, far beyond any driver's reset timeout. */
#define VITSA_STUCK_NS      (2 * NANOSECONDS_PER_SECOND)
#define VITSA_STUCK_MAX_LEN 4096    /* bytes of C's first row written late */
#define VITSA_STUCK_BYTE    0x5a    /* what the late write stores */

#define VITSA_CAPS          (VITSA_CAP_S8 | VITSA_CAP_U8 | VITSA_CAP_S4 | \
                             VITSA_CAP_U4 | VITSA_CAP_REQUANT | \
                             VITSA_CAP_B_TRANS | VITSA_CAP_BIAS)
/* what vector=off (the 1.2 device) leaves out */
#define VITSA_CAPS_1_3      (VITSA_CAP_VECTOR | VITSA_CAP_LIST)
#define VITSA_MAPS_MAX      256     /* stretches of RAM one job maps */
#define VITSA_MAP_SPAN      (4 << 20)   /* mapped at once: a BO's rows hit it */
#define VITSA_THREADS_MAX   16      /* threads running one job (threads=) */
#define VITSA_THREADS_DEFAULT 2
#define VITSA_POLL_NS       (100 * SCALE_US)   /* a helper polls, then sleeps */
#define VITSA_WCACHE_MAX    (256ull << 20)  /* packed weights kept */
#define VITSA_SNAP_MAX      (64ull << 20)   /* the largest B range remembered */
#define VITSA_SNAPS_MAX     (256ull << 20)  /* all; beyond, start over */
#define VITSA_SEEN_MAX      256             /* B ranges a ring entry trusts once checked */
#define VITSA_PLANS         4       /* lists whose lanes are kept: a batch split
                                     * in lists, or two batches in turn */
#define VITSA_MINOR_NO_VECTOR 2 /* vector=off: the 1.2 device, GEMM only */
#define VITSA_CTRL_ALL      (VITSA_CTRL_ENABLE | VITSA_CTRL_RESET)

/* The 64-bit counter block, in register order from VITSA_REG_CNT_JOBS. */
enum {
    VITSA_CNT_JOBS,
    VITSA_CNT_ERRORS,
    VITSA_CNT_MACS,
    VITSA_CNT_BUSY_CYCLES,
    VITSA_CNT_DMA_RD_BYTES,
    VITSA_CNT_DMA_WR_BYTES,
    VITSA_CNT_IDLE_CYCLES,  /* computed from idle_ns when read */
    VITSA_CNT_COUNT
};
#define VITSA_REG_CNT_END   (VITSA_REG_CNT_JOBS + 8 * VITSA_CNT_COUNT)

QEMU_BUILD_BUG_ON(VITSA_REG_CNT_DMA_WR_BYTES !=
                  VITSA_REG_CNT_JOBS + 8 * VITSA_CNT_DMA_WR_BYTES);
QEMU_BUILD_BUG_ON(VITSA_REG_CNT_IDLE_CYCLES !=
                  VITSA_REG_CNT_JOBS + 8 * VITSA_CNT_IDLE_CYCLES);

/*
 * threads - 1 helper threads that run the model's parallel regions with the
 * worker, so that one device is as fast as the in-process one on as many
 * threads.  Regions never overlap: one job at a time calls vitsa_parallel
 * (a LIST's lanes are one region, and open none inside).
 * A region opens by moving gen; a helper polls gen for VITSA_POLL_NS before
 * it sleeps on go.  A large job opens a region every few dozen microseconds,
 * and a futex wake-up and sleep per region cost more than the region's work
 * (most of all in a nested VM); a poll that short still leaves the host's
 * cores to the vCPUs between submissions.
 */
typedef struct VitsaRegion {
    void (*fn)(void *arg, uint32_t t);
    void *arg;
    uint32_t tasks;
    uint32_t next;          /* atomic: the first task nobody took */
    uint32_t done;          /* atomic: tasks finished */
} VitsaRegion;

typedef struct VitsaPool {
    QemuThread th[VITSA_THREADS_MAX - 1];
    unsigned nth;           /* helpers started */
    QemuMutex lock;         /* orders gen and stop with go's sleepers */
    QemuCond go;            /* a region opened, or stop */
    unsigned gen;           /* atomic: regions opened so far */
    bool stop;              /* atomic */
    VitsaRegion *cur;       /* atomic: the open region, NULL between */
    uint32_t busy;          /* atomic: helpers that may hold cur */
} VitsaPool;

/*
 * A LIST's entries and their lanes (vitsa_lanes.h), kept while the guest
 * runs the same list again, which is how a driver runs a program.
 */
typedef struct VitsaPlan {
    uint64_t addr;          /* the list's a_addr */
    uint32_t m;             /* its entries; 0: no plan */
    uint32_t cap;           /* entries the arrays hold */
    uint8_t *raw;           /* the entries as the plan found them */
    uint8_t *fetched;       /* the entries as this run fetched them */
    struct vitsa_hw_desc *d;
    uint32_t *order;        /* the lanes' entries, lane after lane */
    uint8_t *written;       /* per entry: inputs the list writes into */
    struct vitsa_span *b;   /* per entry: a GEMM's B, for the cache; else empty */
    struct vitsa_wcache **wc;   /* per entry, this run: its B's cache */
    struct vitsa_span *ram; /* the bytes every entry touches, merged */
    uint32_t nram;
    uint32_t *rq;           /* one GEMM per distinct requant table */
    uint32_t nrq;
    uint32_t *runs;         /* one lane: the ends of its runs (vitsa_model_group_runs) */
    uint32_t nruns;
    struct vitsa_job_stats *run_st; /* one lane: what its runs' entries did */
    uint32_t *run_status;
    uint32_t first[VITSA_LANES_MAX + 1];
    uint32_t lanes;         /* 0: the list runs in order; 1: on the worker */
    uint64_t used;          /* VitsaState.plan_clock when last found */
} VitsaPlan;

struct VitsaState {
    PCIDevice pdev;
    MemoryRegion mmio;

    /* device config */
    uint32_t rows;
    uint32_t cols;
    uint32_t clock_mhz;
    bool fault_inject;      /* x-fault-inject: the FAULT_* registers exist */
    bool vector;            /* the vector unit and lists (1.3); off: 1.2 */
    uint32_t threads;       /* host threads running one job (the worker too) */
    struct vitsa_model_cfg cfg;

    /* worker */
    QemuThread thread;
    QemuMutex map_lock;     /* the job's maps: its tasks map from threads */
    QemuMutex xlat_lock;    /* one vIOMMU translation asked at a time */
    VitsaPool pool;         /* the job's helper threads */
    /* worker only: packed B operands, the bytes each B range had */
    struct vitsa_wcache *wc;
    GHashTable *snaps;      /* B's first address -> VitsaSnap */
    uint64_t snap_bytes;
    uint64_t epoch;         /* ring entries begun: a LIST's entries share one */
    struct VitsaSnap *seen[VITSA_SEEN_MAX]; /* snaps checked in this epoch */
    unsigned nseen;
    VitsaPlan plans[VITSA_PLANS];   /* the last LISTs' lanes */
    uint64_t plan_clock;    /* LISTs planned or found */
    QemuMutex lock;         /* guards everything below */
    QemuCond cond;          /* wakes the worker: doorbell, enable, stop */
    QEMUBH *irq_bh;         /* delivers interrupts raised by the worker */
    QEMUBH *xlat_bh;        /* translates through the vIOMMU for the worker */
    QemuCond xlat_cond;     /* wakes the worker: translation done, stop */
    bool xlat_asked;        /* the worker waits for xlat_bh */
    bool xlat_done;
    uint64_t xlat_addr;
    bool xlat_write;
    IOMMUTLBEntry xlat_entry;
    QEMUTimer *late_timer;  /* RESET_STUCK's late write; armed under the BQL */
    bool stopping;
    bool in_job;            /* a descriptor is between fetch and completion */
    unsigned gen;           /* reset generation; the worker polls it */

    /* device registers */
    bool enabled;
    bool halted;
    bool resetting;
    bool irq_edge;          /* INT_STATUS & INT_ENABLE went 0 -> non-zero */
    uint32_t error;
    uint64_t ring_base;
    uint64_t cpl_base;
    uint32_t ring_size;
    uint32_t head;
    uint32_t tail;
    uint32_t int_status;
    uint32_t int_enable;
    uint32_t fault_kind;    /* VITSA_FAULT_* armed */
    uint32_t fault_match_k;
    uint32_t fault_fired;   /* only ever grows */
    uint32_t dma_refused;   /* late writes the bus refused; only grows */
    bool stuck;             /* the worker hangs on a RESET_STUCK descriptor */
    bool late_pending;      /* a reset waits for late_timer's write */
    uint64_t late_addr;     /* the stuck descriptor's c_addr */
    uint32_t late_len;      /* bytes of its first row of C, capped */
    uint64_t cnt[VITSA_CNT_COUNT];  /* only ever grow */

    /* idle time on QEMU_CLOCK_VIRTUAL, for CNT_IDLE_CYCLES */
    bool idle;
    int64_t idle_since;     /* start of the current idle stretch, if idle */
    uint64_t idle_ns;       /* idle stretches already closed */
};

/*
 * A stretch of guest RAM mapped for a job: [base, base + len) at cache.ptr.
 * [lo, hi) is what the model asked for, marked dirty at the job's end.
 */
typedef struct VitsaMap {
    MemoryRegionCache cache;
    uint64_t base, len;
    uint64_t lo, hi;
} VitsaMap;

/* A B operand's range as a job last found it. */
typedef struct VitsaSnap {
    uint64_t addr, last;
    uint8_t *bytes;         /* NULL once written */
    uint64_t epoch;         /* the bytes were compared or taken in this epoch */
    bool written;           /* the device wrote into it: not weights, never compared */
} VitsaSnap;

/* One descriptor on its way through the worker. */
typedef struct VitsaJob {
    VitsaState *s;
    unsigned gen;           /* VitsaState.gen when fetched */
    uint32_t index;         /* HEAD when fetched */
    uint64_t desc_addr;
    uint64_t cpl_addr;
    uint64_t seq;
    uint32_t status;        /* VITSA_ERR_* */
    uint32_t fault;         /* VITSA_FAULT_* this descriptor took */
    uint32_t entry;         /* LIST: the entry that failed, or m */
    uint32_t executed;      /* descriptors executed: a LIST's entries, or 1 */
    uint64_t fetch_bytes;
    struct vitsa_job_stats st;
    MemoryRegionCache cpl;  /* the completion record, mapped before the lock */
    bool cpl_mapped;
    /* RAM the model works on in place (vitsa_map), until the job ends */
    VitsaMap maps[VITSA_MAPS_MAX];
    unsigned nmaps;
} VitsaJob;

/* Interrupts */

/*
 * Set INT_STATUS bits; note a 0 -> non-zero change of the enabled bits, the
 * only change of the line or MSI state a raise can make: true then.
 */
static bool vitsa_int_raise_locked(VitsaState *s, uint32_t bits)
{
    bool was_pending = s->int_status & s->int_enable;

    s->int_status |= bits;
    if (!was_pending && (s->int_status & s->int_enable)) {
        s->irq_edge = true;
        return true;
    }
    return false;
}

/* Bring MSI / INTx in line with INT_STATUS & INT_ENABLE.  Needs the BQL. */
static void vitsa_irq_update(VitsaState *s)
{
    bool level, edge;

    qemu_mutex_lock(&s->lock);
    level = s->int_status & s->int_enable;
    edge = s->irq_edge;
    s->irq_edge = false;
    qemu_mutex_unlock(&s->lock);

    if (msi_enabled(&s->pdev)) {
        pci_set_irq(&s->pdev, 0);
        if (edge) {
            msi_notify(&s->pdev, 0);
        }
    } else {
        pci_set_irq(&s->pdev, level);
    }
}

static void vitsa_irq_bh(void *opaque)
{
    vitsa_irq_update(opaque);
}

/* Idle time */

/* Nothing to do: not enabled, halted, or an empty ring. */
static bool vitsa_idle_locked(VitsaState *s)
{
    return !s->enabled || s->halted || s->head == s->tail;
}

/* Open or close an idle stretch after ENABLE, HALTED, HEAD or TAIL moved. */
static void vitsa_idle_update_locked(VitsaState *s)
{
    bool idle = vitsa_idle_locked(s);
    int64_t now;

    if (idle == s->idle) {
        return;
    }
    now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);
    if (idle) {
        s->idle_since = now;
    } else if (now > s->idle_since) {
        s->idle_ns += now - s->idle_since;
    }
    s->idle = idle;
}

/* CNT_IDLE_CYCLES: every idle stretch so far, the current one included. */
static uint64_t vitsa_idle_cycles_locked(VitsaState *s)
{
    uint64_t ns = s->idle_ns;

    if (s->idle) {
        int64_t now = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);

        ns += now > s->idle_since ? now - s->idle_since : 0;
    }
    return muldiv64(ns, s->clock_mhz, 1000);
}

/* Ring state */

static void vitsa_halt_locked(VitsaState *s, uint32_t err)
{
    qemu_log_mask(LOG_GUEST_ERROR, "vitsa: ring halted: %s\n",
                  vitsa_err_name(err));
    s->halted = true;
    s->error = err;
    vitsa_int_raise_locked(s, VITSA_INT_ERROR);
}

/*
 * The ring configuration and TAIL, checked when ENABLE is set and when TAIL
 * is written (Documentation/hw/vitsa.rst, "Command ring protocol").
 */
static bool vitsa_ring_valid_locked(VitsaState *s)
{
    uint64_t ring_bytes, cpl_bytes;

    if (s->ring_size < VITSA_RING_MIN_ENTRIES ||
        s->ring_size > VITSA_RING_MAX_ENTRIES ||
        !is_power_of_2(s->ring_size)) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "vitsa: RING_SIZE %u is not a power of two in %u..%u\n",
                      s->ring_size, VITSA_RING_MIN_ENTRIES,
                      VITSA_RING_MAX_ENTRIES);
        return false;
    }
    if (s->ring_base % VITSA_RING_ALIGN || s->cpl_base % VITSA_CPL_ALIGN) {
        qemu_log_mask(LOG_GUEST_ERROR, "vitsa: misaligned RING_BASE 0x%"
                      PRIx64 " or CPL_BASE 0x%" PRIx64 "\n",
                      s->ring_base, s->cpl_base);
        return false;
    }
    ring_bytes = s->ring_size * VITSA_DESC_SIZE;
    cpl_bytes = s->ring_size * VITSA_CPL_SIZE;
    if (s->ring_base > UINT64_MAX - (ring_bytes - 1) ||
        s->cpl_base > UINT64_MAX - (cpl_bytes - 1)) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "vitsa: ring wraps the 64-bit address space\n");
        return false;
    }
    if (s->tail - s->head > s->ring_size) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "vitsa: TAIL %u - HEAD %u exceeds RING_SIZE %u\n",
                      s->tail, s->head, s->ring_size);
        return false;
    }
    return true;
}

/* CTRL.RESET and device reset: drop the job in flight, clear the state. */
static void vitsa_reset_locked(VitsaState *s)
{
    qatomic_set(&s->gen, s->gen + 1);
    s->resetting = s->in_job || s->late_pending;
    s->enabled = false;
    s->halted = false;
    s->irq_edge = false;
    s->error = 0;
    s->ring_base = 0;
    s->cpl_base = 0;
    s->ring_size = 0;
    s->head = 0;
    s->tail = 0;
    s->int_status = 0;
    s->int_enable = 0;
    s->fault_kind = VITSA_FAULT_NONE;
    s->fault_match_k = 0;
    qemu_cond_signal(&s->cond);     /* a hung worker waits for the new gen */
}

/* DMA */

/*
 * xlat_bh, main loop, BQL held: the vIOMMU's translation of the address the
 * worker asked for.  The IOMMU model may take the BQL itself and reports
 * faults by MSI, which both need this thread, not the worker.
 */
static void vitsa_xlat_bh(void *opaque)
{
    VitsaState *s = opaque;
    IOMMUTLBEntry entry;
    uint64_t addr;
    bool is_write;

    qemu_mutex_lock(&s->lock);
    if (!s->xlat_asked || s->xlat_done) {
        qemu_mutex_unlock(&s->lock);
        return;
    }
    addr = s->xlat_addr;
    is_write = s->xlat_write;
    qemu_mutex_unlock(&s->lock);

    WITH_RCU_READ_LOCK_GUARD() {
        entry = address_space_get_iotlb_entry(pci_get_address_space(&s->pdev),
                                              addr, is_write,
                                              MEMTXATTRS_UNSPECIFIED);
    }

    qemu_mutex_lock(&s->lock);
    s->xlat_entry = entry;
    s->xlat_done = true;
    qemu_cond_broadcast(&s->xlat_cond);
    qemu_mutex_unlock(&s->lock);
}

/*
 * Worker, lock not held: the vIOMMU's entry for @addr, from xlat_bh.  False
 * when unrealize stops the worker first (the access then fails, and the job
 * with it).
 */
static bool vitsa_iotlb(VitsaState *s, uint64_t addr, bool is_write,
                        IOMMUTLBEntry *entry)
{
    bool done;

    qemu_mutex_lock(&s->xlat_lock);
    qemu_mutex_lock(&s->lock);
    s->xlat_addr = addr;
    s->xlat_write = is_write;
    s->xlat_asked = true;
    s->xlat_done = false;
    qemu_bh_schedule(s->xlat_bh);
    while (!s->xlat_done && !s->stopping) {
        qemu_cond_wait(&s->xlat_cond, &s->lock);
    }
    done = s->xlat_done;
    *entry = s->xlat_entry;
    s->xlat_asked = false;
    qemu_mutex_unlock(&s->lock);
    qemu_mutex_unlock(&s->xlat_lock);
    return done;
}

/*
 * Map the start of [addr, addr + len) of the bus-master address space into
 * @cache, through the vIOMMU if one translates it; @len > 0.  Returns how
 * many bytes @cache maps if they are RAM the device may access directly
 * (cache->ptr is set), else 0: MMIO, unassigned space, ROM for a write, an
 * IOMMU fault, and bus mastering off (the address space is then empty).  The
 * caller copies through cache->ptr and nothing else, so what this one
 * translation found is what the access reaches: the cache holds a reference
 * to the memory region until address_space_cache_destroy.
 */
static uint64_t vitsa_dma_map(VitsaState *s, MemoryRegionCache *cache,
                              uint64_t addr, uint64_t len, bool is_write)
{
    AddressSpace *as = pci_get_address_space(&s->pdev);
    IOMMUTLBEntry iotlb;
    uint64_t off;
    int64_t got;

    got = address_space_cache_init(cache, as, addr, len, is_write);
    if (got > 0 && !cache->ptr && memory_region_get_iommu(cache->mrs.mr)) {
        /* The cache stops at an IOMMU: map the page the IOMMU points at. */
        address_space_cache_destroy(cache);
        if (!vitsa_iotlb(s, addr, is_write, &iotlb) ||
            !(iotlb.perm & (is_write ? IOMMU_WO : IOMMU_RO))) {
            return 0;
        }
        off = addr & iotlb.addr_mask;
        got = address_space_cache_init(cache, iotlb.target_as,
                                       iotlb.translated_addr | off,
                                       MIN(len - 1, iotlb.addr_mask - off) + 1,
                                       is_write);
    }
    return got > 0 && cache->ptr ? got : 0;
}

/*
 * Copy [addr, addr + len) from or to guest RAM, a piece per memory section.
 * -1 if the range wraps or a piece is not RAM; the pieces before it have
 * been copied, as on a bus that fails part-way.  Never reaches MMIO dispatch
 * (prepare_mmio_access takes the BQL), so the worker may call it with
 * VitsaState.lock held.  Writes mark the RAM dirty for migration and drop
 * TCG code translated from it.  No barrier: vitsa_job_complete_locked has
 * the one the completion record needs.
 */
static int vitsa_dma_rw(VitsaState *s, uint64_t addr, void *buf, uint64_t len,
                        bool is_write)
{
    uint8_t *p = buf;

    if (len && addr > UINT64_MAX - (len - 1)) {
        return -1;
    }
    while (len) {
        MemoryRegionCache cache = MEMORY_REGION_CACHE_INVALID;
        uint64_t got = vitsa_dma_map(s, &cache, addr, len, is_write);

        if (got && is_write) {
            memcpy(cache.ptr, p, got);
            address_space_cache_invalidate(&cache, 0, got);
        } else if (got) {
            memcpy(p, cache.ptr, got);
        }
        address_space_cache_destroy(&cache);
        if (!got) {
            return -1;
        }
        addr += got;
        p += got;
        len -= got;
    }
    return 0;
}

static bool vitsa_job_cancelled(void *opaque)
{
    VitsaJob *job = opaque;

    return qatomic_read(&job->s->gen) != job->gen;
}

static int vitsa_dma_read(void *opaque, uint64_t addr, void *buf, size_t len)
{
    VitsaJob *job = opaque;

    if (vitsa_job_cancelled(job)) {
        return -1;
    }
    if (job->fault == VITSA_FAULT_DMA_READ) {
        qemu_log_mask(LOG_GUEST_ERROR, "vitsa: injected failure of a %zu-byte "
                      "DMA read at 0x%" PRIx64 "\n", len, addr);
        return -1;
    }
    if (vitsa_dma_rw(job->s, addr, buf, len, false)) {
        qemu_log_mask(LOG_GUEST_ERROR, "vitsa: DMA read of %zu bytes at 0x%"
                      PRIx64 " failed\n", len, addr);
        return -1;
    }
    return 0;
}

static int vitsa_dma_write(void *opaque, uint64_t addr, const void *buf,
                           size_t len)
{
    VitsaJob *job = opaque;

    if (vitsa_job_cancelled(job)) {
        return -1;
    }
    /* Only read through @buf, as pci_dma_write does. */
    if (vitsa_dma_rw(job->s, addr, (void *)buf, len, true)) {
        qemu_log_mask(LOG_GUEST_ERROR, "vitsa: DMA write of %zu bytes at 0x%"
                      PRIx64 " failed\n", len, addr);
        return -1;
    }
    return 0;
}

/* The stretch of @job's first @n maps holding [addr, addr + len), or NULL. */
static VitsaMap *vitsa_map_find(VitsaJob *job, unsigned n, uint64_t addr,
                                uint64_t len)
{
    for (unsigned i = 0; i < n; i++) {
        VitsaMap *m = &job->maps[i];

        if (addr >= m->base && len <= m->len &&
            addr - m->base <= m->len - len) {
            return m;
        }
    }
    return NULL;
}

/*
 * [addr, addr + len) in place, when it lies in one piece of RAM the device
 * may write: the model then reads and writes it without a copy.  A new
 * stretch maps up to VITSA_MAP_SPAN bytes, so the other rows of a BO find it
 * (behind a vIOMMU a page at a time: a row across pages is copied instead).
 * No map for a job that took a fault, which must reach vitsa_dma_read.
 */
static void *vitsa_map(void *opaque, uint64_t addr, uint64_t len)
{
    VitsaJob *job = opaque;
    uint64_t span = MAX(len, VITSA_MAP_SPAN);
    VitsaMap *m;
    void *p = NULL;

    if (job->fault || vitsa_job_cancelled(job) || !len ||
        addr > UINT64_MAX - (len - 1)) {
        return NULL;
    }
    if (addr > UINT64_MAX - (span - 1)) {
        span = len;         /* the stretch may not wrap either */
    }
    qemu_mutex_lock(&job->s->map_lock);
    m = vitsa_map_find(job, job->nmaps, addr, len);
    if (!m && job->nmaps < VITSA_MAPS_MAX) {
        m = &job->maps[job->nmaps];
        m->cache = (MemoryRegionCache)MEMORY_REGION_CACHE_INVALID;
        m->base = addr;
        m->len = vitsa_dma_map(job->s, &m->cache, addr, span, true);
        m->lo = m->hi = addr;
        if (m->len >= len) {
            job->nmaps++;
        } else {
            address_space_cache_destroy(&m->cache);
            m = NULL;
        }
    }
    if (m) {
        m->lo = MIN(m->lo, addr);
        m->hi = MAX(m->hi, addr + len);
        p = (uint8_t *)m->cache.ptr + (addr - m->base);
    }
    qemu_mutex_unlock(&job->s->map_lock);
    return p;
}

/* The job's stretches unmapped; what the model asked for marked dirty. */
static void vitsa_unmap_all(VitsaJob *job)
{
    while (job->nmaps) {
        VitsaMap *m = &job->maps[--job->nmaps];

        address_space_cache_invalidate(&m->cache, m->lo - m->base,
                                       m->hi - m->lo);
        address_space_cache_destroy(&m->cache);
    }
}

/* Model parallelism */

/* Poll until @cond or @ns have passed; returns @cond. */
#define VITSA_POLL(cond, ns) ({                                         \
    int64_t end_ = get_clock() + (ns);                                  \
    bool met_;                                                          \
    while (!(met_ = (cond)) && get_clock() < end_) {                    \
        cpu_relax();                                                    \
    }                                                                   \
    met_;                                                               \
})

/* Take @r's tasks until none is left. */
static void vitsa_region_work(VitsaRegion *r)
{
    uint32_t t;

    while ((t = qatomic_fetch_inc(&r->next)) < r->tasks) {
        r->fn(r->arg, t);
        qatomic_inc(&r->done);
    }
}

/* Wait for a region after @seen, polling first; false on stop. */
static bool vitsa_pool_next(VitsaPool *p, unsigned *seen)
{
    if (!VITSA_POLL(qatomic_load_acquire(&p->gen) != *seen,
                    VITSA_POLL_NS)) {
        qemu_mutex_lock(&p->lock);
        while (qatomic_read(&p->gen) == *seen && !p->stop) {
            qemu_cond_wait(&p->go, &p->lock);
        }
        qemu_mutex_unlock(&p->lock);
    }
    *seen = qatomic_load_acquire(&p->gen);
    return !qatomic_read(&p->stop);
}

static void *vitsa_pool_thread(void *opaque)
{
    VitsaPool *p = opaque;
    unsigned seen = 0;

    rcu_register_thread();  /* the tasks map guest memory */
    while (vitsa_pool_next(p, &seen)) {
        VitsaRegion *r;

        qatomic_inc(&p->busy);
        smp_mb();           /* busy counts us before cur is read */
        r = qatomic_read(&p->cur);
        if (r) {
            vitsa_region_work(r);
        }
        qatomic_dec(&p->busy);
    }
    rcu_unregister_thread();
    return NULL;
}

static void vitsa_pool_start(VitsaPool *p, unsigned helpers)
{
    qemu_mutex_init(&p->lock);
    qemu_cond_init(&p->go);
    for (p->nth = 0; p->nth < helpers; p->nth++) {
        qemu_thread_create(&p->th[p->nth], "vitsa-helper", vitsa_pool_thread,
                           p, QEMU_THREAD_JOINABLE);
    }
}

static void vitsa_pool_stop(VitsaPool *p)
{
    qemu_mutex_lock(&p->lock);
    qatomic_set(&p->stop, true);
    qatomic_inc(&p->gen);
    qemu_cond_broadcast(&p->go);
    qemu_mutex_unlock(&p->lock);
    while (p->nth) {
        qemu_thread_join(&p->th[--p->nth]);
    }
    qemu_cond_destroy(&p->go);
    qemu_mutex_destroy(&p->lock);
}

static uint32_t vitsa_workers(void *opaque)
{
    VitsaJob *job = opaque;

    return job->s->pool.nth + 1;
}

/* Wait until *@v is @want: poll, then give the core away between looks. */
static void vitsa_wait_for(uint32_t *v, uint32_t want)
{
    while (!VITSA_POLL(qatomic_read(v) == want, VITSA_POLL_NS)) {
        sched_yield();      /* a helper the host preempted */
    }
}

/*
 * fn(arg, t) for every t < tasks, on the worker and the helpers; returns
 * when every call has.  The region lives on this stack: once cur is NULL,
 * a helper that counted itself busy may still hold it (it read cur first),
 * and one that did not reads NULL or a later region.
 */
static void vitsa_parallel(void *opaque, uint32_t tasks,
                           void (*fn)(void *arg, uint32_t t), void *arg)
{
    VitsaPool *p = &((VitsaJob *)opaque)->s->pool;
    VitsaRegion r = { .fn = fn, .arg = arg, .tasks = tasks };

    qatomic_set(&p->cur, &r);
    qemu_mutex_lock(&p->lock);
    qatomic_store_release(&p->gen, qatomic_read(&p->gen) + 1);
    qemu_cond_broadcast(&p->go);
    qemu_mutex_unlock(&p->lock);
    vitsa_region_work(&r);
    vitsa_wait_for(&r.done, tasks);
    qatomic_set(&p->cur, NULL);
    smp_mb();               /* cur is NULL before busy is read */
    vitsa_wait_for(&p->busy, 0);
}

/* vitsa_mem_ops.split: @items cut into a range per thread at @align. */
typedef struct VitsaSplit {
    void (*fn)(void *arg, uint32_t lo, uint32_t hi);
    void *arg;
    uint32_t items, per;
} VitsaSplit;

static void vitsa_split_task(void *opaque, uint32_t t)
{
    VitsaSplit *sp = opaque;
    uint32_t lo = t * sp->per;

    sp->fn(sp->arg, lo, MIN(sp->items, lo + sp->per));
}

static void vitsa_split(void *opaque, uint32_t items, uint32_t align,
                        void (*fn)(void *arg, uint32_t lo, uint32_t hi),
                        void *arg)
{
    uint32_t threads = vitsa_workers(opaque);
    uint32_t units = (items + align - 1) / align;
    VitsaSplit sp = { .fn = fn, .arg = arg, .items = items,
                      .per = (units + threads - 1) / threads * align };

    vitsa_parallel(opaque, (items + sp.per - 1) / sp.per, vitsa_split_task,
                   &sp);
}

/* Packed weights */

static void vitsa_snap_free(gpointer p)
{
    VitsaSnap *sn = p;

    g_free(sn->bytes);
    g_free(sn);
}

/*
 * Remember [addr, last] as @now holds it, in @sn or a new snap (past the budget, after
 * forgetting every other); returns the snap.
 */
static VitsaSnap *vitsa_snap_take(VitsaState *s, VitsaSnap *sn, uint64_t addr,
                                  uint64_t last, const uint8_t *now)
{
    uint64_t len = last - addr + 1;

    if (!sn) {
        if (s->snap_bytes + len > VITSA_SNAPS_MAX) {
            g_hash_table_remove_all(s->snaps);
            s->nseen = 0;
            vitsa_wcache_drop(s->wc, 0, UINT64_MAX);
            s->snap_bytes = 0;
        }
        sn = g_new0(VitsaSnap, 1);
        sn->addr = addr;
        g_hash_table_insert(s->snaps, &sn->addr, sn);
    } else {
        s->snap_bytes -= sn->last - sn->addr + 1;
        g_free(sn->bytes);
    }
    sn->last = last;
    sn->bytes = g_memdup2(now, len);
    s->snap_bytes += len;
    return sn;
}

/* @sn holds B as it is now: later entries of this epoch need not compare again. */
static void vitsa_snap_seen(VitsaState *s, VitsaSnap *sn)
{
    if (s->nseen < VITSA_SEEN_MAX) {
        sn->epoch = s->epoch;
        s->seen[s->nseen++] = sn;
    }
}

/*
 * A new epoch: every ring entry but a LIST's own entries, which may trust what an earlier
 * one compared (Documentation/hw/vitsa.rst, "Descriptor lists").
 */
static void vitsa_epoch_next(VitsaState *s)
{
    s->epoch++;
    s->nseen = 0;
}

/*
 * The device wrote [lo, hi]: a B range seen in this epoch that it overlaps is the device's
 * own output (an activation, such as K or V of attention), so it is neither trusted nor ever
 * compared and cached again: weights are what the host writes.  (Pointers: only
 * vitsa_snap_take frees snaps, and it forgets the seen ones first.)
 */
static void vitsa_seen_written(VitsaState *s, uint64_t lo, uint64_t hi)
{
    for (unsigned i = 0; i < s->nseen; i++) {
        VitsaSnap *sn = s->seen[i];

        if (sn->addr <= hi && lo <= sn->last && !sn->written) {
            sn->epoch = 0;
            sn->written = true;
            s->snap_bytes -= sn->last - sn->addr + 1;
            g_clear_pointer(&sn->bytes, g_free);
        }
    }
}

/*
 * vitsa_mem_ops.wcache: a guest promises nothing, so the device compares.
 * A B range whose bytes are those the last job naming it found gets the
 * cache (weights: the second image on), and its packed form is used or
 * made; a new or changed range is remembered and packed per job, its old
 * packings dropped.  Exact: the packing is of the bytes compared; a guest
 * that rewrites B during the job races the device, as it would on hardware.
 */
static struct vitsa_wcache *vitsa_wcache(void *opaque, uint64_t addr,
                                         uint64_t last)
{
    VitsaJob *job = opaque;
    VitsaState *s = job->s;
    uint64_t len = last - addr + 1;
    const uint8_t *now;
    VitsaSnap *sn;

    if (!s->wc || !len || len > VITSA_SNAP_MAX) {
        return NULL;
    }
    sn = g_hash_table_lookup(s->snaps, &addr);
    if (sn && sn->written) {
        return NULL;        /* an activation the device makes: compared in vain */
    }
    now = vitsa_map(job, addr, len);
    if (!now) {
        return NULL;
    }
    if (sn && sn->last == last &&
        (sn->epoch == s->epoch || !memcmp(sn->bytes, now, len))) {
        if (sn->epoch != s->epoch) {
            vitsa_snap_seen(s, sn);
        }
        return s->wc;
    }
    vitsa_wcache_drop(s->wc, addr, last);
    vitsa_snap_seen(s, vitsa_snap_take(s, sn, addr, last, now));
    return NULL;
}

static const struct vitsa_mem_ops vitsa_mem_ops = {
    .read = vitsa_dma_read,
    .write = vitsa_dma_write,
    .cancelled = vitsa_job_cancelled,
    .map = vitsa_map,
    .workers = vitsa_workers,
    .parallel = vitsa_parallel,
    .split = vitsa_split,
    .wcache = vitsa_wcache,
};

/* Descriptor and completion record: little-endian in guest memory. */

#define VITSA_DESC_LD32(raw, field) \
    ((uint32_t)ldl_le_p((raw) + offsetof(struct vitsa_hw_desc, field)))
#define VITSA_DESC_LD64(raw, field) \
    ldq_le_p((raw) + offsetof(struct vitsa_hw_desc, field))
#define VITSA_CPL_ST32(raw, field, v) \
    stl_le_p((raw) + offsetof(struct vitsa_hw_cpl, field), (v))
#define VITSA_CPL_ST64(raw, field, v) \
    stq_le_p((raw) + offsetof(struct vitsa_hw_cpl, field), (v))

static void vitsa_desc_decode(struct vitsa_hw_desc *d, const uint8_t *raw)
{
    size_t i;

    d->opcode = VITSA_DESC_LD32(raw, opcode);
    d->flags = VITSA_DESC_LD32(raw, flags);
    d->seq = VITSA_DESC_LD64(raw, seq);
    d->m = VITSA_DESC_LD32(raw, m);
    d->n = VITSA_DESC_LD32(raw, n);
    d->k = VITSA_DESC_LD32(raw, k);
    d->types = VITSA_DESC_LD32(raw, types);
    d->a_addr = VITSA_DESC_LD64(raw, a_addr);
    d->b_addr = VITSA_DESC_LD64(raw, b_addr);
    d->c_addr = VITSA_DESC_LD64(raw, c_addr);
    d->bias_addr = VITSA_DESC_LD64(raw, bias_addr);
    d->rq_addr = VITSA_DESC_LD64(raw, rq_addr);
    d->a_stride = VITSA_DESC_LD64(raw, a_stride);
    d->b_stride = VITSA_DESC_LD64(raw, b_stride);
    d->c_stride = VITSA_DESC_LD64(raw, c_stride);
    d->c_zero = (int32_t)VITSA_DESC_LD32(raw, c_zero);
    for (i = 0; i < ARRAY_SIZE(d->param); i++) {
        d->param[i] = VITSA_DESC_LD32(raw + 4 * i, param);
    }
}

static void vitsa_cpl_encode(uint8_t *raw, const VitsaJob *job)
{
    uint64_t seq = job->seq;

    if (job->fault == VITSA_FAULT_CPL_SEQ) {
        seq ^= VITSA_FAULT_CPL_SEQ_XOR;
    }
    memset(raw, 0, VITSA_CPL_SIZE);
    VITSA_CPL_ST64(raw, seq, seq);
    VITSA_CPL_ST32(raw, status, job->status);
    VITSA_CPL_ST32(raw, entry, job->entry);
    VITSA_CPL_ST64(raw, cycles, job->st.cycles);
    VITSA_CPL_ST64(raw, macs, job->st.macs);
}

/* Worker */

static bool vitsa_runnable_locked(VitsaState *s)
{
    return s->enabled && !s->halted && s->head != s->tail &&
           is_power_of_2(s->ring_size);
}

static void vitsa_job_begin_locked(VitsaState *s, VitsaJob *job)
{
    uint32_t slot = s->head & (s->ring_size - 1);

    memset(job, 0, sizeof(*job));
    job->s = s;
    job->gen = s->gen;
    job->index = s->head;
    job->desc_addr = s->ring_base + slot * VITSA_DESC_SIZE;
    job->cpl_addr = s->cpl_base + slot * VITSA_CPL_SIZE;
    job->executed = 1;      /* a LIST: its entries executed, at least 1 */
    s->in_job = true;
    vitsa_epoch_next(s);
}

/* Fault injection */

static const char *const vitsa_fault_names[VITSA_FAULT_COUNT] = {
    [VITSA_FAULT_NONE] = "none",
    [VITSA_FAULT_HANG] = "hang",
    [VITSA_FAULT_DMA_READ] = "DMA read",
    [VITSA_FAULT_CPL_SEQ] = "completion seq",
    [VITSA_FAULT_RESET_STUCK] = "reset stuck",
};

/* What RESET_STUCK writes late: C's first row, at most VITSA_STUCK_MAX_LEN. */
static uint32_t vitsa_fault_late_len(const struct vitsa_hw_desc *d)
{
    uint32_t c_type = VITSA_DESC_C_TYPE(d->types);
    uint64_t bits = c_type == VITSA_DTYPE_S4 || c_type == VITSA_DTYPE_U4 ? 4 :
                    c_type == VITSA_DTYPE_S16 ? 16 :
                    c_type == VITSA_DTYPE_S32 ? 32 : 8;

    return MAX(1, MIN((d->n * bits + 7) / 8, VITSA_STUCK_MAX_LEN));
}

static bool vitsa_fault_hangs(uint32_t fault)
{
    return fault == VITSA_FAULT_HANG || fault == VITSA_FAULT_RESET_STUCK;
}

/*
 * The worker has fetched @d: if the armed fault matches it, disarm it and
 * give it to @job.  A HANG then waits here until a reset or unrealize moves
 * the generation on.  Takes the lock; only called with x-fault-inject.
 */
static void vitsa_fault_take(VitsaJob *job, const struct vitsa_hw_desc *d)
{
    VitsaState *s = job->s;

    qemu_mutex_lock(&s->lock);
    if (s->fault_kind != VITSA_FAULT_NONE && !vitsa_job_cancelled(job) &&
        (!s->fault_match_k || s->fault_match_k == d->k)) {
        job->fault = s->fault_kind;
        s->fault_kind = VITSA_FAULT_NONE;
        s->fault_fired++;
        qemu_log_mask(LOG_GUEST_ERROR, "vitsa: injected fault '%s' on "
                      "descriptor %u (seq %" PRIu64 ")\n",
                      vitsa_fault_names[job->fault], job->index, job->seq);
    }
    if (job->fault == VITSA_FAULT_RESET_STUCK) {
        s->stuck = true;
        s->late_addr = d->c_addr;
        s->late_len = vitsa_fault_late_len(d);
    }
    while (vitsa_fault_hangs(job->fault) && !vitsa_job_cancelled(job)) {
        qemu_cond_wait(&s->cond, &s->lock);
    }
    /* Only the reset that freed it gets stuck (vitsa_fault_stick_locked). */
    s->stuck = false;
    qemu_mutex_unlock(&s->lock);
}

/*
 * CTRL.RESET while a RESET_STUCK descriptor hangs: the reset stays RESETTING
 * until the descriptor's late write, VITSA_STUCK_NS from now.
 */
static void vitsa_fault_stick_locked(VitsaState *s)
{
    if (!s->stuck) {
        return;
    }
    s->stuck = false;
    s->late_pending = true;
    s->resetting = true;
    timer_mod(s->late_timer,
              qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL) + VITSA_STUCK_NS);
}

/* A device reset ends a stuck reset at once, without the late write. */
static void vitsa_fault_unstick_locked(VitsaState *s)
{
    s->stuck = false;
    s->late_pending = false;
    timer_del(s->late_timer);
}

/*
 * late_timer: the hung descriptor writes its first row of C after all, then
 * the reset finishes.  Main loop, BQL held: pci_dma_write may reach MMIO or
 * unassigned space here, and fails when bus mastering is off.
 */
static void vitsa_fault_late_write(void *opaque)
{
    VitsaState *s = opaque;
    uint8_t buf[VITSA_STUCK_MAX_LEN];
    uint64_t addr;
    uint32_t len;
    MemTxResult res;

    qemu_mutex_lock(&s->lock);
    if (!s->late_pending) {
        qemu_mutex_unlock(&s->lock);
        return;
    }
    addr = s->late_addr;
    len = s->late_len;
    qemu_mutex_unlock(&s->lock);

    memset(buf, VITSA_STUCK_BYTE, len);
    res = pci_dma_write(&s->pdev, addr, buf, len);

    qemu_mutex_lock(&s->lock);
    if (res == MEMTX_OK) {
        s->cnt[VITSA_CNT_DMA_WR_BYTES] += len;
    } else {
        s->dma_refused++;
    }
    qemu_log_mask(LOG_GUEST_ERROR, "vitsa: late write of %u bytes at 0x%"
                  PRIx64 " after a stuck reset: %s\n", len, addr,
                  res == MEMTX_OK ? "done" : "refused by the bus");
    s->late_pending = false;
    s->resetting = s->in_job;
    qemu_mutex_unlock(&s->lock);
}

static uint32_t vitsa_fault_reg_read_locked(VitsaState *s, hwaddr addr)
{
    switch (addr) {
    case VITSA_REG_FAULT_KIND:
        return s->fault_kind;
    case VITSA_REG_FAULT_MATCH_K:
        return s->fault_match_k;
    case VITSA_REG_FAULT_FIRED:
        return s->fault_fired;
    case VITSA_REG_FAULT_DMA_REFUSED:
        return s->dma_refused;
    default:
        g_assert_not_reached();
    }
}

static void vitsa_fault_reg_write_locked(VitsaState *s, hwaddr addr,
                                         uint32_t val)
{
    switch (addr) {
    case VITSA_REG_FAULT_KIND:
        if (val >= VITSA_FAULT_COUNT) {
            qemu_log_mask(LOG_GUEST_ERROR, "vitsa: unknown FAULT_KIND %u, "
                          "ignored\n", val);
            return;
        }
        s->fault_kind = val;
        break;
    case VITSA_REG_FAULT_MATCH_K:
        s->fault_match_k = val;
        break;
    default:
        qemu_log_mask(LOG_GUEST_ERROR, "vitsa: write to read-only register "
                      "0x%" HWADDR_PRIx "\n", addr);
        break;
    }
}

/* The first and last byte descriptor @d writes; false if it writes none (or is invalid). */
static bool vitsa_desc_out(const struct vitsa_hw_desc *d, uint64_t *lo,
                           uint64_t *hi)
{
    uint64_t rows, row_bytes;
    struct vitsa_vec_extent e;

    if (d->opcode == VITSA_OP_GEMM) {
        rows = d->m;
        row_bytes = vitsa_int_row_bytes(VITSA_DESC_C_TYPE(d->types), d->n);
    } else if (!vitsa_vec_extent(d, &e)) {
        rows = e.rows[VITSA_VEC_OUT];
        row_bytes = e.row_bytes[VITSA_VEC_OUT];
    } else {
        return false;
    }
    *lo = d->c_addr;
    return rows && row_bytes &&
           vitsa_extent_last(d->c_addr, rows, d->c_stride, row_bytes, hi);
}

/*
 * One descriptor that is not a LIST.  What it writes is compared again before
 * a later entry of the epoch trusts it as B.  Its operands stay mapped for the
 * job's later entries (a list's reuse the same buffers) while at most half the
 * maps are taken; the job unmaps them when it ends.
 */
static uint32_t vitsa_exec_one(VitsaJob *job, const struct vitsa_hw_desc *d,
                               struct vitsa_job_stats *st)
{
    VitsaState *s = job->s;
    uint64_t lo, hi;
    uint32_t status;

    if (!s->vector && d->opcode != VITSA_OP_GEMM) {
        memset(st, 0, sizeof(*st));
        return VITSA_ERR_OPCODE;            /* not a 1.2 device's opcode */
    }
    if (job->nmaps > VITSA_MAPS_MAX / 2) {
        vitsa_unmap_all(job);               /* room for this entry's operands */
    }
    status = vitsa_model_exec(&s->cfg, d, &vitsa_mem_ops, job, st);
    if (s->nseen && vitsa_desc_out(d, &lo, &hi)) {
        vitsa_seen_written(s, lo, hi);
    }
    return status;
}

/* A LIST's own fields: m entries at an aligned a_addr, the rest 0. */
static bool vitsa_list_valid(const struct vitsa_hw_desc *d)
{
    uint64_t bytes = (uint64_t)d->m * VITSA_DESC_SIZE;

    for (unsigned i = 0; i < ARRAY_SIZE(d->param); i++) {
        if (d->param[i]) {
            return false;
        }
    }
    return !d->flags && d->m && d->m <= VITSA_LIST_MAX_ENTRIES && !d->n &&
           !d->k && !d->types && !d->b_addr && !d->c_addr && !d->bias_addr &&
           !d->rq_addr && !d->a_stride && !d->b_stride && !d->c_stride &&
           !d->c_zero && !(d->a_addr % VITSA_LIST_ALIGN) &&
           d->a_addr <= UINT64_MAX - (bytes - 1);
}

/*
 * Lanes: a LIST's entries that share no byte one of them writes run on the
 * helpers at once (a batch's list holds one chain of jobs per image).  Only
 * a list that cannot fail part-way goes so: every entry passes its checks,
 * no entry writes into the list or a requant table, every requant table
 * passes, and every byte touched is RAM, mapped before the first entry.
 * Then only a reset (ABORTED) or the host's memory (INTERNAL) stops one,
 * and results, counters and the completion record are those of the list
 * in order (Documentation/hw/vitsa.rst, "Descriptor lists").  After an
 * INTERNAL the other lanes finish the entries before it and begin none
 * after it; one they had begun already runs to its end.  A list that is
 * one set is one lane, run on the worker, planned all the same.
 */

/* One lane of a run. */
typedef struct VitsaLane {
    struct VitsaLanes *run;
    uint32_t entry;         /* the entry it runs */
    uint32_t next;          /* the first entry it did not complete, or m */
    uint32_t status;        /* that entry's, if it failed */
    uint32_t executed;
    struct vitsa_job_stats st;
} VitsaLane;

typedef struct VitsaLanes {
    VitsaJob *job;
    VitsaPlan *plan;        /* its scratch: a lone lane's run results */
    unsigned nmaps;         /* the job's maps made before the lanes began */
    uint32_t stop;          /* atomic: the first entry that failed, or m */
    VitsaLane lane[VITSA_LANES_MAX];
} VitsaLanes;

static int vitsa_lane_read(void *opaque, uint64_t addr, void *buf, size_t len)
{
    return vitsa_dma_read(((VitsaLane *)opaque)->run->job, addr, buf, len);
}

static int vitsa_lane_write(void *opaque, uint64_t addr, const void *buf,
                            size_t len)
{
    return vitsa_dma_write(((VitsaLane *)opaque)->run->job, addr, buf, len);
}

static bool vitsa_lane_cancelled(void *opaque)
{
    return vitsa_job_cancelled(((VitsaLane *)opaque)->run->job);
}

/*
 * The maps made before the lanes began cover every operand and never change
 * while they run, so a lane finds its operand there without the lock.
 */
static void *vitsa_lane_map(void *opaque, uint64_t addr, uint64_t len)
{
    VitsaLanes *run = ((VitsaLane *)opaque)->run;
    VitsaMap *m = vitsa_map_find(run->job, run->nmaps, addr, len);

    if (m && len && addr >= m->lo && addr <= m->hi && len <= m->hi - addr) {
        return (uint8_t *)m->cache.ptr + (addr - m->base);
    }
    return vitsa_map(run->job, addr, len);
}

/* What the run decided for the entry's B before the lanes began. */
static struct vitsa_wcache *vitsa_lane_wcache(void *opaque, uint64_t addr,
                                              uint64_t last)
{
    VitsaLane *ln = opaque;
    const VitsaPlan *p = ln->run->plan;

    return addr == p->d[ln->entry].b_addr ? p->wc[ln->entry] : NULL;
}

/*
 * A list that is one set is one lane, run on the worker itself: its big
 * jobs still split over the helpers, as they do outside a list.
 */
static uint32_t vitsa_lone_workers(void *opaque)
{
    return vitsa_workers(((VitsaLane *)opaque)->run->job);
}

static void vitsa_lone_parallel(void *opaque, uint32_t tasks,
                                void (*fn)(void *arg, uint32_t t), void *arg)
{
    vitsa_parallel(((VitsaLane *)opaque)->run->job, tasks, fn, arg);
}

static void vitsa_lone_split(void *opaque, uint32_t items, uint32_t align,
                             void (*fn)(void *arg, uint32_t lo, uint32_t hi),
                             void *arg)
{
    vitsa_split(((VitsaLane *)opaque)->run->job, items, align, fn, arg);
}

/* The group's job @j is the list's entry @j: the lane is the whole list. */
static void vitsa_lone_job(void *opaque, uint32_t j)
{
    ((VitsaLane *)opaque)->entry = j;
}

static const struct vitsa_mem_ops vitsa_lone_lane_ops = {
    .read = vitsa_lane_read,
    .write = vitsa_lane_write,
    .cancelled = vitsa_lane_cancelled,
    .map = vitsa_lane_map,
    .workers = vitsa_lone_workers,
    .parallel = vitsa_lone_parallel,
    .split = vitsa_lone_split,
    .wcache = vitsa_lane_wcache,
    .job = vitsa_lone_job,
};

/* Lanes side by side run their entries each on its own thread: no regions. */
static const struct vitsa_mem_ops vitsa_lane_ops = {
    .read = vitsa_lane_read,
    .write = vitsa_lane_write,
    .cancelled = vitsa_lane_cancelled,
    .map = vitsa_lane_map,
    .wcache = vitsa_lane_wcache,
};

static int vitsa_span_cmp(const void *a, const void *b)
{
    uint64_t x = ((const struct vitsa_span *)a)->first;
    uint64_t y = ((const struct vitsa_span *)b)->first;

    return x < y ? -1 : x > y;
}

/* @p's arrays for @m entries. */
static void vitsa_plan_reserve(VitsaPlan *p, uint32_t m)
{
    if (m <= p->cap) {
        return;
    }
    p->raw = g_renew(uint8_t, p->raw, m * VITSA_DESC_SIZE);
    p->fetched = g_renew(uint8_t, p->fetched, m * VITSA_DESC_SIZE);
    p->d = g_renew(struct vitsa_hw_desc, p->d, m);
    p->order = g_renew(uint32_t, p->order, m);
    p->written = g_renew(uint8_t, p->written, m);
    p->b = g_renew(struct vitsa_span, p->b, m);
    p->wc = g_renew(struct vitsa_wcache *, p->wc, m);
    p->ram = g_renew(struct vitsa_span, p->ram, (VITSA_TOUCH_IN + 1) * m);
    p->rq = g_renew(uint32_t, p->rq, m);
    p->runs = g_renew(uint32_t, p->runs, m);
    p->run_st = g_renew(struct vitsa_job_stats, p->run_st, m);
    p->run_status = g_renew(uint32_t, p->run_status, m);
    p->cap = m;
}

static void vitsa_plan_free(VitsaPlan *p)
{
    g_free(p->raw);
    g_free(p->fetched);
    g_free(p->d);
    g_free(p->order);
    g_free(p->written);
    g_free(p->b);
    g_free(p->wc);
    g_free(p->ram);
    g_free(p->rq);
    g_free(p->runs);
    g_free(p->run_st);
    g_free(p->run_status);
    memset(p, 0, sizeof(*p));
}

/* Add @sp to the plan's RAM, if not empty. */
static void vitsa_plan_ram(VitsaPlan *p, struct vitsa_span sp)
{
    if (sp.first <= sp.last) {
        p->ram[p->nram++] = sp;
    }
}

/* The plan's RAM sorted, touching spans merged. */
static void vitsa_plan_merge(VitsaPlan *p)
{
    uint32_t n = 0;

    qsort(p->ram, p->nram, sizeof(*p->ram), vitsa_span_cmp);
    for (uint32_t i = 0; i < p->nram; i++) {
        struct vitsa_span sp = p->ram[i];

        if (n && (sp.first <= p->ram[n - 1].last ||
                  sp.first - p->ram[n - 1].last == 1)) {
            p->ram[n - 1].last = MAX(p->ram[n - 1].last, sp.last);
        } else {
            p->ram[n++] = sp;
        }
    }
    p->nram = n;
}

/* @d's requant table among the plan's, unless one already has its address. */
static void vitsa_plan_rq(VitsaPlan *p, uint32_t i)
{
    for (uint32_t j = 0; j < p->nrq; j++) {
        const struct vitsa_hw_desc *o = &p->d[p->rq[j]];

        if (o->rq_addr == p->d[i].rq_addr && o->n >= p->d[i].n) {
            return;
        }
        if (o->rq_addr == p->d[i].rq_addr) {
            p->rq[j] = i;   /* the wider table covers the narrower */
            return;
        }
    }
    p->rq[p->nrq++] = i;
}

/*
 * What the lanes need beyond vitsa_lanes_plan: the list's own bytes and the
 * requant tables written by none, the RAM to map, one GEMM per table, and
 * each GEMM's B that the list does not write (weights, for the cache).
 */
static void vitsa_plan_extras(VitsaPlan *p)
{
    struct vitsa_span list = { p->addr, p->addr + p->m * VITSA_DESC_SIZE - 1 };

    p->nram = p->nrq = 0;
    for (uint32_t i = 0; i < p->m && p->lanes; i++) {
        const struct vitsa_hw_desc *d = &p->d[i];
        struct vitsa_touch t;

        vitsa_touch_of(d, &t);      /* true: the plan checked every entry */
        if (vitsa_span_meet(t.out, list) || (p->written[i] & 1u << VITSA_TOUCH_RQ)) {
            p->lanes = 0;
        }
        p->b[i] = d->opcode == VITSA_OP_GEMM &&
                  !(p->written[i] & 1u << VITSA_TOUCH_B) ?
                  t.in[VITSA_TOUCH_B] : (struct vitsa_span){ 1, 0 };
        for (unsigned k = 0; k < VITSA_TOUCH_IN; k++) {
            vitsa_plan_ram(p, t.in[k]);
        }
        vitsa_plan_ram(p, t.out);
        if (d->opcode == VITSA_OP_GEMM && (d->flags & VITSA_DESC_REQUANT)) {
            vitsa_plan_rq(p, i);
        }
    }
    vitsa_plan_merge(p);
}

/* The plan kept for a list at @addr of @m entries, else the least used. */
static VitsaPlan *vitsa_plan_slot(VitsaState *s, uint64_t addr, uint32_t m)
{
    VitsaPlan *p = &s->plans[0];

    for (unsigned i = 0; i < VITSA_PLANS; i++) {
        VitsaPlan *q = &s->plans[i];

        if (q->m == m && q->addr == addr) {
            p = q;
            break;
        }
        if (q->used < p->used) {
            p = q;
        }
    }
    p->used = ++s->plan_clock;
    return p;
}

/*
 * Fetch LIST @l's entries at once and plan them, or keep the plan when they
 * are a kept plan's bytes: the plan in *@pp, or false when the fetch fails
 * (the list then runs in order and fails where that fetch does).
 */
static bool vitsa_plan_fetch(VitsaJob *job, const struct vitsa_hw_desc *l,
                             VitsaPlan **pp)
{
    VitsaState *s = job->s;
    VitsaPlan *p = *pp = vitsa_plan_slot(s, l->a_addr, l->m);
    uint64_t bytes = l->m * VITSA_DESC_SIZE;
    uint8_t *swap;

    vitsa_plan_reserve(p, l->m);
    if (vitsa_dma_rw(s, l->a_addr, p->fetched, bytes, false)) {
        return false;
    }
    if (p->m == l->m && p->addr == l->a_addr && !memcmp(p->raw, p->fetched, bytes)) {
        return true;
    }
    swap = p->raw;
    p->raw = p->fetched;
    p->fetched = swap;
    p->addr = l->a_addr;
    p->m = l->m;
    for (uint32_t i = 0; i < p->m; i++) {
        vitsa_desc_decode(&p->d[i], p->raw + i * VITSA_DESC_SIZE);
    }
    p->lanes = vitsa_lanes_plan(p->d, p->m, s->pool.nth + 1, p->order,
                                p->first, p->written);
    vitsa_plan_extras(p);
    p->nruns = p->lanes == 1 ? vitsa_model_group_runs(p->d, p->m, p->runs) : 0;
    return true;
}

/*
 * This run's part: every byte mapped, every requant table valid, each B's
 * cache decided in list order (one the list writes into gets none); false
 * when the list must run in order instead.
 */
static bool vitsa_plan_ready(VitsaJob *job, VitsaPlan *p)
{
    for (uint32_t i = 0; i < p->nram; i++) {
        if (!vitsa_map(job, p->ram[i].first,
                       p->ram[i].last - p->ram[i].first + 1)) {
            return false;
        }
    }
    for (uint32_t i = 0; i < p->nrq; i++) {
        const struct vitsa_hw_desc *d = &p->d[p->rq[i]];
        const uint8_t *rq = vitsa_map(job, d->rq_addr, 8ull * d->n);

        if (!rq || !vitsa_rq_ok(rq, d->n)) {
            return false;
        }
    }
    for (uint32_t i = 0; i < p->m; i++) {
        p->wc[i] = p->b[i].first <= p->b[i].last ?
                   vitsa_wcache(job, p->b[i].first, p->b[i].last) : NULL;
    }
    return true;
}

/* A lane's entry @e failed: no lane runs an entry after the first that did. */
static void vitsa_lanes_stop(VitsaLanes *run, uint32_t e)
{
    uint32_t seen = qatomic_read(&run->stop);

    while (e < seen) {
        uint32_t was = qatomic_cmpxchg(&run->stop, seen, e);

        if (was == seen) {
            break;
        }
        seen = was;
    }
}

/* What entry @e did, added to lane @ln's sums; false (and where) if it failed. */
static bool vitsa_lane_took(VitsaLane *ln, uint32_t e,
                            const struct vitsa_job_stats *st, uint32_t status)
{
    ln->executed++;
    ln->st.macs += st->macs;
    ln->st.cycles += st->cycles;
    ln->st.rd_bytes += st->rd_bytes;
    ln->st.wr_bytes += st->wr_bytes;
    if (status) {
        ln->next = e;
        ln->status = status;
    }
    return !status;
}

/*
 * Lane @t: its entries in order, until one fails, one past another lane's
 * failed entry comes, or a reset.
 */
static void vitsa_lane_task(void *arg, uint32_t t)
{
    VitsaLanes *run = arg;
    VitsaLane *ln = &run->lane[t];
    const VitsaPlan *p = run->plan;

    ln->run = run;
    ln->next = p->m;
    for (uint32_t at = p->first[t]; at < p->first[t + 1]; at++) {
        struct vitsa_job_stats st = { 0 };
        uint32_t status;

        ln->entry = p->order[at];
        if (ln->entry > qatomic_read(&run->stop) ||
            vitsa_job_cancelled(run->job)) {
            ln->next = ln->entry;
            ln->status = VITSA_ERR_ABORTED;
            return;
        }
        status = vitsa_model_exec(&run->job->s->cfg, &p->d[ln->entry],
                                  &vitsa_lane_ops, ln, &st);
        if (!vitsa_lane_took(ln, ln->entry, &st, status)) {
            vitsa_lanes_stop(run, ln->entry);
            return;
        }
    }
}

/*
 * The one lane of a list that is one set, run as the in-process device runs a
 * submission (vitsa_model_exec_group), in the runs its plan made once:
 * consecutive independent entries, such as the heads of an attention layer,
 * share one parallel region.  Entries of a run after a failing one may have
 * run too; in a planned list only a reset fails an entry (every operand is
 * mapped and every table checked before the lanes start), and the lane stops
 * between runs.
 */
static void vitsa_lone_lane_task(VitsaLanes *run)
{
    VitsaLane *ln = &run->lane[0];
    VitsaPlan *p = run->plan;
    struct vitsa_job_stats *st = p->run_st;     /* every run writes its own */
    uint32_t *status = p->run_status;

    ln->run = run;
    ln->next = p->m;
    for (uint32_t r = 0, i = 0; r < p->nruns; r++) {
        if (vitsa_job_cancelled(run->job)) {
            ln->next = i;
            ln->status = VITSA_ERR_ABORTED;
            return;
        }
        vitsa_model_exec_run(&run->job->s->cfg, p->d + i, p->runs[r] - i, i,
                             &vitsa_lone_lane_ops, ln, st + i, status + i);
        for (; i < p->runs[r]; i++) {
            if (!vitsa_lane_took(ln, i, &st[i], status[i])) {
                return;
            }
        }
    }
}

/* The lanes' sums into @job; the first entry (in list order) not completed. */
static void vitsa_lanes_sum(VitsaJob *job, const VitsaLanes *run)
{
    const VitsaPlan *p = run->plan;

    job->entry = p->m;
    job->status = VITSA_ERR_OK;
    for (uint32_t t = 0; t < p->lanes; t++) {
        const VitsaLane *ln = &run->lane[t];

        job->executed += ln->executed;
        job->st.macs += ln->st.macs;
        job->st.cycles += ln->st.cycles;
        job->st.rd_bytes += ln->st.rd_bytes;
        job->st.wr_bytes += ln->st.wr_bytes;
        if (ln->next < job->entry) {
            job->entry = ln->next;
            job->status = ln->status;
        }
    }
}

/*
 * LIST @l planned: in lanes on the helpers, or as one lane on this thread;
 * false if it must run in order.
 */
static bool vitsa_lanes_run(VitsaJob *job, const struct vitsa_hw_desc *l)
{
    VitsaPlan *p;
    VitsaLanes run = { .job = job };

    if (job->fault || l->m < 2 || !vitsa_plan_fetch(job, l, &p) ||
        !p->lanes || !vitsa_plan_ready(job, p)) {
        return false;
    }
    run.plan = p;
    run.stop = l->m;
    job->fetch_bytes += l->m * VITSA_DESC_SIZE;
    job->executed = 0;
    run.nmaps = job->nmaps;
    if (p->lanes == 1) {
        vitsa_lone_lane_task(&run);
    } else {
        vitsa_parallel(job, p->lanes, vitsa_lane_task, &run);
    }
    vitsa_lanes_sum(job, &run);
    return true;
}

/*
 * The entries of LIST @l in order, until one fails; cycles, MACs and DMA
 * bytes add up.  Cancelled (reset) between entries.
 */
static void vitsa_list_run(VitsaJob *job, const struct vitsa_hw_desc *l)
{
    uint32_t i;

    if (!vitsa_list_valid(l)) {
        job->status = VITSA_ERR_LIST;
        return;
    }
    if (vitsa_lanes_run(job, l)) {
        vitsa_unmap_all(job);
        job->executed = MAX(job->executed, 1);
        return;
    }
    vitsa_unmap_all(job);   /* what the lanes mapped before they gave up */
    job->executed = 0;
    for (i = 0; i < l->m; i++) {
        uint8_t raw[VITSA_DESC_SIZE];
        struct vitsa_hw_desc d;
        struct vitsa_job_stats st = { 0 };

        if (vitsa_job_cancelled(job)) {
            job->status = VITSA_ERR_ABORTED;
            break;
        }
        if (vitsa_dma_read(job, l->a_addr + i * VITSA_DESC_SIZE, raw,
                           sizeof(raw))) {
            job->status = VITSA_ERR_DMA_READ;
            break;
        }
        job->fetch_bytes += sizeof(raw);
        vitsa_desc_decode(&d, raw);
        job->status = d.opcode == VITSA_OP_LIST ? VITSA_ERR_LIST :
                      vitsa_exec_one(job, &d, &st);
        job->executed++;
        job->st.macs += st.macs;
        job->st.cycles += st.cycles;
        job->st.rd_bytes += st.rd_bytes;
        job->st.wr_bytes += st.wr_bytes;
        if (job->status) {
            break;
        }
    }
    vitsa_unmap_all(job);
    job->entry = i;         /* the failing entry, or m */
    job->executed = MAX(job->executed, 1);
}

/* Fetch and execute one descriptor; runs without the lock. */
static void vitsa_job_run(VitsaJob *job)
{
    uint8_t raw[VITSA_DESC_SIZE];
    struct vitsa_hw_desc d;

    if (vitsa_dma_read(job, job->desc_addr, raw, sizeof(raw))) {
        job->status = VITSA_ERR_DMA_READ;
        return;
    }
    job->fetch_bytes = sizeof(raw);
    vitsa_desc_decode(&d, raw);
    job->seq = d.seq;
    if (job->s->fault_inject) {
        vitsa_fault_take(job, &d);
        if (vitsa_fault_hangs(job->fault)) {
            job->status = VITSA_ERR_ABORTED;    /* reset or unrealize */
            return;
        }
    }
    if (d.opcode == VITSA_OP_LIST && job->s->vector) {
        vitsa_list_run(job, &d);
        return;
    }
    job->status = vitsa_exec_one(job, &d, &job->st);
    vitsa_unmap_all(job);
}

/* Account for the job and, unless a reset dropped it, complete it. */
static void vitsa_job_complete_locked(VitsaState *s, VitsaJob *job)
{
    uint8_t raw[VITSA_CPL_SIZE];
    uint32_t bits = VITSA_INT_DONE;

    s->in_job = false;
    s->resetting = s->late_pending;
    s->cnt[VITSA_CNT_DMA_RD_BYTES] += job->fetch_bytes + job->st.rd_bytes;
    s->cnt[VITSA_CNT_DMA_WR_BYTES] += job->st.wr_bytes;
    if (job->gen != s->gen) {
        return;
    }
    if (job->status != VITSA_ERR_OK) {
        qemu_log_mask(LOG_GUEST_ERROR, "vitsa: descriptor %u (seq %" PRIu64
                      ") failed: %s\n", job->index, job->seq,
                      vitsa_err_name(job->status));
        bits |= VITSA_INT_ERROR;
    }
    vitsa_cpl_encode(raw, job);
    /*
     * What pci_dma_write's dma_barrier did: the job's DMA (its reads of the
     * operands, its writes of C) is done before the guest can see the record.
     */
    smp_mb();
    if (!job->cpl_mapped) {
        qemu_log_mask(LOG_GUEST_ERROR, "vitsa: completion record write at 0x%"
                      PRIx64 " failed\n", job->cpl_addr);
        vitsa_halt_locked(s, VITSA_ERR_DMA_WRITE);
        qemu_bh_schedule(s->irq_bh);
        return;
    }
    memcpy(job->cpl.ptr, raw, sizeof(raw));
    address_space_cache_invalidate(&job->cpl, 0, sizeof(raw));
    s->head++;
    s->cnt[VITSA_CNT_JOBS] += job->executed;
    s->cnt[VITSA_CNT_ERRORS] += job->status != VITSA_ERR_OK;
    s->cnt[VITSA_CNT_MACS] += job->st.macs;
    s->cnt[VITSA_CNT_BUSY_CYCLES] += job->st.cycles;
    s->cnt[VITSA_CNT_DMA_WR_BYTES] += sizeof(raw);
    /* no main-loop wakeup per job: only when the interrupt state changes */
    if (vitsa_int_raise_locked(s, bits)) {
        qemu_bh_schedule(s->irq_bh);
    }
}

static void vitsa_job_finish_locked(VitsaState *s, VitsaJob *job)
{
    vitsa_job_complete_locked(s, job);
    vitsa_idle_update_locked(s);
}

static void *vitsa_worker(void *opaque)
{
    VitsaState *s = opaque;
    VitsaJob job;

    rcu_register_thread();
    qemu_mutex_lock(&s->lock);
    while (!s->stopping) {
        if (!vitsa_runnable_locked(s)) {
            qemu_cond_wait(&s->cond, &s->lock);
            continue;
        }
        vitsa_job_begin_locked(s, &job);
        qemu_mutex_unlock(&s->lock);
        vitsa_job_run(&job);
        /* A vIOMMU translation may need the main loop: not under the lock. */
        job.cpl_mapped = vitsa_dma_map(s, &job.cpl, job.cpl_addr,
                                       VITSA_CPL_SIZE, true) == VITSA_CPL_SIZE;
        qemu_mutex_lock(&s->lock);
        vitsa_job_finish_locked(s, &job);
        qemu_mutex_unlock(&s->lock);
        address_space_cache_destroy(&job.cpl);
        qemu_mutex_lock(&s->lock);
    }
    qemu_mutex_unlock(&s->lock);
    rcu_unregister_thread();
    return NULL;
}

/* MMIO */

static uint64_t vitsa_cnt_read(VitsaState *s, hwaddr addr, unsigned size)
{
    unsigned idx = (addr - VITSA_REG_CNT_JOBS) / 8;
    uint64_t val;

    qemu_mutex_lock(&s->lock);
    if (idx == VITSA_CNT_IDLE_CYCLES) {
        val = vitsa_idle_cycles_locked(s);
    } else {
        val = s->cnt[idx];
    }
    qemu_mutex_unlock(&s->lock);
    if (size == 4) {
        val = extract64(val, addr & 4 ? 32 : 0, 32);
    }
    return val;
}

static uint32_t vitsa_status_locked(VitsaState *s)
{
    uint32_t val = 0;

    val |= s->enabled ? VITSA_STATUS_ENABLED : 0;
    val |= s->head != s->tail ? VITSA_STATUS_BUSY : 0;
    val |= s->halted ? VITSA_STATUS_HALTED : 0;
    val |= s->resetting ? VITSA_STATUS_RESETTING : 0;
    return val;
}

static uint32_t vitsa_reg_read_locked(VitsaState *s, hwaddr addr)
{
    switch (addr) {
    case VITSA_REG_ID:
        return VITSA_ID_MAGIC;
    case VITSA_REG_VERSION:
        return VITSA_HW_VERSION_MAJOR << 16 |
               (s->vector ? VITSA_HW_VERSION_MINOR : VITSA_MINOR_NO_VECTOR);
    case VITSA_REG_CAPS:
        return VITSA_CAPS | (s->fault_inject ? VITSA_CAP_FAULT_INJECT : 0) |
               (s->vector ? VITSA_CAPS_1_3 : 0);
    case VITSA_REG_ARRAY:
        return s->rows | s->cols << 16;
    case VITSA_REG_MAX_DIM:
        return VITSA_MODEL_MAX_DIM;
    case VITSA_REG_CLOCK_MHZ:
        return s->clock_mhz;
    case VITSA_REG_CTRL:
        return s->enabled ? VITSA_CTRL_ENABLE : 0;
    case VITSA_REG_STATUS:
        return vitsa_status_locked(s);
    case VITSA_REG_ERROR:
        return s->error;
    case VITSA_REG_RING_BASE_LO:
        return extract64(s->ring_base, 0, 32);
    case VITSA_REG_RING_BASE_HI:
        return extract64(s->ring_base, 32, 32);
    case VITSA_REG_CPL_BASE_LO:
        return extract64(s->cpl_base, 0, 32);
    case VITSA_REG_CPL_BASE_HI:
        return extract64(s->cpl_base, 32, 32);
    case VITSA_REG_RING_SIZE:
        return s->ring_size;
    case VITSA_REG_RING_HEAD:
        return s->head;
    case VITSA_REG_RING_TAIL:
        return s->tail;
    case VITSA_REG_INT_STATUS:
        return s->int_status;
    case VITSA_REG_INT_ENABLE:
        return s->int_enable;
    case VITSA_REG_INT_ACK:
        return 0;
    case VITSA_REG_FAULT_KIND:
    case VITSA_REG_FAULT_MATCH_K:
    case VITSA_REG_FAULT_FIRED:
    case VITSA_REG_FAULT_DMA_REFUSED:
        if (s->fault_inject) {
            return vitsa_fault_reg_read_locked(s, addr);
        }
        /* fall through */
    default:
        qemu_log_mask(LOG_GUEST_ERROR, "vitsa: read of unknown register 0x%"
                      HWADDR_PRIx "\n", addr);
        return 0;
    }
}

static uint64_t vitsa_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    VitsaState *s = opaque;
    uint32_t val;

    if (addr >= VITSA_REG_CNT_JOBS && addr < VITSA_REG_CNT_END) {
        return vitsa_cnt_read(s, addr, size);
    }
    if (size != 4) {
        qemu_log_mask(LOG_GUEST_ERROR, "vitsa: %u-byte read of 32-bit "
                      "register 0x%" HWADDR_PRIx "\n", size, addr);
        return 0;
    }
    qemu_mutex_lock(&s->lock);
    val = vitsa_reg_read_locked(s, addr);
    qemu_mutex_unlock(&s->lock);
    return val;
}

static void vitsa_ctrl_write_locked(VitsaState *s, uint32_t val)
{
    if (val & ~VITSA_CTRL_ALL) {
        qemu_log_mask(LOG_GUEST_ERROR, "vitsa: unknown CTRL bits 0x%x\n",
                      val & ~VITSA_CTRL_ALL);
    }
    if (val & VITSA_CTRL_RESET) {
        vitsa_reset_locked(s);
        vitsa_fault_stick_locked(s);
        return;
    }
    s->enabled = val & VITSA_CTRL_ENABLE;
    if (s->enabled && !s->halted && !vitsa_ring_valid_locked(s)) {
        vitsa_halt_locked(s, VITSA_ERR_RING);
    }
    qemu_cond_signal(&s->cond);
}

static void vitsa_ring_reg_write_locked(VitsaState *s, hwaddr addr,
                                        uint32_t val)
{
    if (s->enabled) {
        qemu_log_mask(LOG_GUEST_ERROR, "vitsa: ring register 0x%" HWADDR_PRIx
                      " written while enabled, ignored\n", addr);
        return;
    }
    switch (addr) {
    case VITSA_REG_RING_BASE_LO:
        s->ring_base = deposit64(s->ring_base, 0, 32, val);
        break;
    case VITSA_REG_RING_BASE_HI:
        s->ring_base = deposit64(s->ring_base, 32, 32, val);
        break;
    case VITSA_REG_CPL_BASE_LO:
        s->cpl_base = deposit64(s->cpl_base, 0, 32, val);
        break;
    case VITSA_REG_CPL_BASE_HI:
        s->cpl_base = deposit64(s->cpl_base, 32, 32, val);
        break;
    case VITSA_REG_RING_SIZE:
        s->ring_size = val;
        break;
    }
}

static void vitsa_tail_write_locked(VitsaState *s, uint32_t val)
{
    if (s->halted) {
        qemu_log_mask(LOG_GUEST_ERROR,
                      "vitsa: TAIL written while halted, ignored\n");
        return;
    }
    s->tail = val;
    if (!vitsa_ring_valid_locked(s)) {
        vitsa_halt_locked(s, VITSA_ERR_RING);
        return;
    }
    qemu_cond_signal(&s->cond);
}

static void vitsa_int_enable_write_locked(VitsaState *s, uint32_t val)
{
    if (val & ~VITSA_INT_ALL) {
        qemu_log_mask(LOG_GUEST_ERROR, "vitsa: unknown INT_ENABLE bits 0x%x\n",
                      val & ~VITSA_INT_ALL);
    }
    val &= VITSA_INT_ALL;
    if (!(s->int_status & s->int_enable) && (s->int_status & val)) {
        s->irq_edge = true;
    }
    s->int_enable = val;
}

static void vitsa_reg_write_locked(VitsaState *s, hwaddr addr, uint32_t val)
{
    switch (addr) {
    case VITSA_REG_CTRL:
        vitsa_ctrl_write_locked(s, val);
        break;
    case VITSA_REG_RING_BASE_LO:
    case VITSA_REG_RING_BASE_HI:
    case VITSA_REG_CPL_BASE_LO:
    case VITSA_REG_CPL_BASE_HI:
    case VITSA_REG_RING_SIZE:
        vitsa_ring_reg_write_locked(s, addr, val);
        break;
    case VITSA_REG_RING_TAIL:
        vitsa_tail_write_locked(s, val);
        break;
    case VITSA_REG_INT_ENABLE:
        vitsa_int_enable_write_locked(s, val);
        break;
    case VITSA_REG_INT_ACK:
        s->int_status &= ~val;
        /* A cause still pending signals again, as the INTx level stays up. */
        s->irq_edge |= (s->int_status & s->int_enable) != 0;
        break;
    case VITSA_REG_ID:
    case VITSA_REG_VERSION:
    case VITSA_REG_CAPS:
    case VITSA_REG_ARRAY:
    case VITSA_REG_MAX_DIM:
    case VITSA_REG_CLOCK_MHZ:
    case VITSA_REG_STATUS:
    case VITSA_REG_ERROR:
    case VITSA_REG_RING_HEAD:
    case VITSA_REG_INT_STATUS:
        qemu_log_mask(LOG_GUEST_ERROR, "vitsa: write to read-only register 0x%"
                      HWADDR_PRIx "\n", addr);
        break;
    case VITSA_REG_FAULT_KIND:
    case VITSA_REG_FAULT_MATCH_K:
    case VITSA_REG_FAULT_FIRED:
    case VITSA_REG_FAULT_DMA_REFUSED:
        if (s->fault_inject) {
            vitsa_fault_reg_write_locked(s, addr, val);
            break;
        }
        /* fall through */
    default:
        qemu_log_mask(LOG_GUEST_ERROR, "vitsa: write to unknown register 0x%"
                      HWADDR_PRIx "\n", addr);
        break;
    }
    vitsa_idle_update_locked(s);
}

static void vitsa_mmio_write(void *opaque, hwaddr addr, uint64_t val,
                             unsigned size)
{
    VitsaState *s = opaque;

    if (addr >= VITSA_REG_CNT_JOBS && addr < VITSA_REG_CNT_END) {
        qemu_log_mask(LOG_GUEST_ERROR, "vitsa: write to read-only counter 0x%"
                      HWADDR_PRIx "\n", addr);
        return;
    }
    if (size != 4) {
        qemu_log_mask(LOG_GUEST_ERROR, "vitsa: %u-byte write to 0x%"
                      HWADDR_PRIx " ignored\n", size, addr);
        return;
    }
    qemu_mutex_lock(&s->lock);
    vitsa_reg_write_locked(s, addr, val);
    qemu_mutex_unlock(&s->lock);
    vitsa_irq_update(s);
}

static const MemoryRegionOps vitsa_mmio_ops = {
    .read = vitsa_mmio_read,
    .write = vitsa_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 4,
        .max_access_size = 8,
    },
    .impl = {
        .min_access_size = 4,
        .max_access_size = 8,
    },
};

/* PCI glue */

static void vitsa_config_write(PCIDevice *pdev, uint32_t addr, uint32_t val,
                               int len)
{
    pci_default_write_config(pdev, addr, val, len);
    /* MSI may have been switched on or off: move the interrupt along. */
    vitsa_irq_update(VITSA(pdev));
}

static void vitsa_realize(PCIDevice *pdev, Error **errp)
{
    VitsaState *s = VITSA(pdev);
    Error *err = NULL;
    int ret;

    if (s->rows < 1 || s->rows > VITSA_ARRAY_MAX) {
        error_setg(errp, "rows must be 1..%u, not %u", VITSA_ARRAY_MAX,
                   s->rows);
        return;
    }
    if (s->cols < 1 || s->cols > VITSA_ARRAY_MAX) {
        error_setg(errp, "cols must be 1..%u, not %u", VITSA_ARRAY_MAX,
                   s->cols);
        return;
    }
    if (s->threads < 1 || s->threads > VITSA_THREADS_MAX) {
        error_setg(errp, "threads must be 1..%u, not %u", VITSA_THREADS_MAX,
                   s->threads);
        return;
    }
    if (s->clock_mhz < 1 || s->clock_mhz > VITSA_CLOCK_MAX) {
        error_setg(errp, "clock-mhz must be 1..%u, not %u", VITSA_CLOCK_MAX,
                   s->clock_mhz);
        return;
    }
    s->cfg.rows = s->rows;
    s->cfg.cols = s->cols;
    s->idle = true;
    s->idle_since = qemu_clock_get_ns(QEMU_CLOCK_VIRTUAL);

    pci_config_set_interrupt_pin(pdev->config, 1);
    ret = msi_init(pdev, 0, 1, true, false, &err);
    if (ret == -ENOTSUP) {
        error_free(err);    /* no MSI on this machine: INTx only */
    } else if (ret) {
        error_propagate(errp, err);
        return;
    }

    memory_region_init_io(&s->mmio, OBJECT(s), &vitsa_mmio_ops, s,
                          "vitsa-mmio", VITSA_BAR0_SIZE);
    pci_register_bar(pdev, 0, PCI_BASE_ADDRESS_SPACE_MEMORY, &s->mmio);

    qemu_mutex_init(&s->lock);
    qemu_mutex_init(&s->map_lock);
    qemu_mutex_init(&s->xlat_lock);
    qemu_cond_init(&s->cond);
    s->irq_bh = qemu_bh_new_guarded(vitsa_irq_bh, s,
                                    &DEVICE(s)->mem_reentrancy_guard);
    qemu_cond_init(&s->xlat_cond);
    s->xlat_bh = qemu_bh_new_guarded(vitsa_xlat_bh, s,
                                     &DEVICE(s)->mem_reentrancy_guard);
    s->late_timer = timer_new_ns(QEMU_CLOCK_VIRTUAL, vitsa_fault_late_write, s);
    s->wc = vitsa_wcache_new(VITSA_WCACHE_MAX);
    s->snaps = g_hash_table_new_full(g_int64_hash, g_int64_equal, NULL,
                                     vitsa_snap_free);
    vitsa_pool_start(&s->pool, s->threads - 1);
    qemu_thread_create(&s->thread, "vitsa", vitsa_worker, s,
                       QEMU_THREAD_JOINABLE);
}

static void vitsa_exit(PCIDevice *pdev)
{
    VitsaState *s = VITSA(pdev);

    qemu_mutex_lock(&s->lock);
    s->stopping = true;
    qatomic_set(&s->gen, s->gen + 1);   /* cancel the job in flight */
    qemu_cond_signal(&s->cond);
    qemu_cond_broadcast(&s->xlat_cond); /* xlat_bh cannot run: we hold the BQL */
    qemu_mutex_unlock(&s->lock);
    qemu_thread_join(&s->thread);
    vitsa_pool_stop(&s->pool);
    g_hash_table_destroy(s->snaps);
    for (unsigned i = 0; i < VITSA_PLANS; i++) {
        vitsa_plan_free(&s->plans[i]);
    }
    vitsa_wcache_free(s->wc);
    qemu_bh_delete(s->xlat_bh);
    qemu_cond_destroy(&s->xlat_cond);

    timer_free(s->late_timer);
    qemu_bh_delete(s->irq_bh);
    qemu_cond_destroy(&s->cond);
    qemu_mutex_destroy(&s->map_lock);
    qemu_mutex_destroy(&s->xlat_lock);
    qemu_mutex_destroy(&s->lock);
    msi_uninit(pdev);
}

static void vitsa_reset(DeviceState *dev)
{
    VitsaState *s = VITSA(dev);

    qemu_mutex_lock(&s->lock);
    vitsa_fault_unstick_locked(s);
    vitsa_reset_locked(s);
    vitsa_idle_update_locked(s);
    qemu_mutex_unlock(&s->lock);
    vitsa_irq_update(s);
}

/* The worker thread and its job in flight are not migrated (yet). */
static const VMStateDescription vmstate_vitsa = {
    .name = TYPE_VITSA,
    .unmigratable = 1,
};

static Property vitsa_properties[] = {
    DEFINE_PROP_UINT32("rows", VitsaState, rows, VITSA_ARRAY_DEFAULT),
    DEFINE_PROP_UINT32("cols", VitsaState, cols, VITSA_ARRAY_DEFAULT),
    DEFINE_PROP_UINT32("clock-mhz", VitsaState, clock_mhz, VITSA_CLOCK_DEFAULT),
    /* test only: FAULT_* registers that make the device misbehave on purpose */
    DEFINE_PROP_BOOL("x-fault-inject", VitsaState, fault_inject, false),
    DEFINE_PROP_BOOL("vector", VitsaState, vector, true),
    DEFINE_PROP_UINT32("threads", VitsaState, threads, VITSA_THREADS_DEFAULT),
    DEFINE_PROP_END_OF_LIST(),
};

static void vitsa_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);

    k->realize = vitsa_realize;
    k->exit = vitsa_exit;
    k->config_write = vitsa_config_write;
    k->vendor_id = VITSA_PCI_VENDOR_ID;
    k->device_id = VITSA_PCI_DEVICE_ID;
    k->revision = VITSA_PCI_REVISION;
    k->class_id = VITSA_PCI_CLASS;
    dc->desc = "vitsa integer GEMM systolic-array accelerator";
    dc->reset = vitsa_reset;
    dc->vmsd = &vmstate_vitsa;
    device_class_set_props(dc, vitsa_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo vitsa_types[] = {
    {
        .name = TYPE_VITSA,
        .parent = TYPE_PCI_DEVICE,
        .instance_size = sizeof(VitsaState),
        .class_init = vitsa_class_init,
        .interfaces = (InterfaceInfo[]) {
            { INTERFACE_CONVENTIONAL_PCI_DEVICE },
            { },
        },
    },
};

DEFINE_TYPES(vitsa_types)
