/*
 * gecko_macsem.c — macOS kernel semantics for Linux test processes (LD_PRELOAD).
 *
 * Gecko's driver and engine are tested on Linux, but they ship on macOS, whose
 * kernel treats POSIX shared memory, pages and the host clock differently.
 * Preloaded into a test process (scripts/macos-semantics/run does it for every
 * test binary and, through the environment, every child such as `gecko` or the
 * simulated host), this library gives those calls the behaviour of XNU, so a
 * test that passes here has met the Mac's rules, not only Linux's. Every rule
 * below cites its source; docs/macos-semantics.md lists them with what still
 * cannot be checked without a Mac.
 *
 * POSIX shm (XNU bsd/kern/posix_shm.c):
 *   shm_open     names longer than PSHMNAMLEN (31) bytes: ENAMETOOLONG
 *                (pshm_get_name: copyinstr with PSHMNAMLEN + 1); empty: EINVAL;
 *                O_CLOEXEC: EINVAL (macOS 26.4, Ladybird PR 8614); a new
 *                segment gets exactly the mode asked for, no umask
 *                (shm_open: pshm_mode = cmode & ALLPERMS); O_TRUNC on a sized
 *                segment: EINVAL; the descriptor is close-on-exec (UF_EXCLOSE).
 *   ftruncate    once per segment (pshm_truncate: PSHM_ALLOCATING|PSHM_ALLOCATED
 *                → EINVAL), size rounded up to the page (vm_map_round_page).
 *   fstat        everything zero but mode (permission bits only, no S_IFREG),
 *                uid, gid and size (pshm_stat): st_dev = st_ino = 0 always.
 *   mmap         MAP_SHARED only, only after ftruncate, never past the
 *                page-rounded size: EINVAL (pshm_mmap).
 *   fchmod, fchown  EINVAL: a shm descriptor is not a vnode (bsd/vfs/vfs_syscalls.c
 *                fchmod1/fchown → file_vnode; iceoryx2 issue 156).
 *   shm_unlink   name rules as shm_open.
 * Pages: sysconf(_SC_PAGESIZE) and getpagesize() report GECKO_MACSEM_PAGE_SIZE
 *   (default 16384, Apple silicon; 4096 is Intel), and mmap without MAP_FIXED
 *   returns addresses aligned to it, as macOS's does.
 * Host clock: exports mach_absolute_time() and mach_timebase_info() with the
 *   timebase GECKO_MACSEM_TIMEBASE ("numer/denom", default "125/3", Apple
 *   silicon's 24 MHz ticks; "1/1" is Intel). The driver's and the engine's Linux
 *   host clocks use them when present (driver/src/gecko_clock.c,
 *   crates/gecko-ring/src/host_clock.rs).
 *
 * Known gaps (also in docs/macos-semantics.md): a shm descriptor is recognised
 * by its /proc/self/fd link into /dev/shm, so dup()ed descriptors are covered
 * too; "sized" is "size > 0" (XNU also counts an ftruncate to 0, which Gecko
 * never does); the plug-in sandbox is the simulated host's to play
 * (GeckoSimConfig.deny_shm_create), since it confines the driver's process only.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PSHMNAMLEN 31
#define ALLPERMS_ (S_ISUID | S_ISGID | S_ISVTX | S_IRWXU | S_IRWXG | S_IRWXO)

/* ---- configuration ---------------------------------------------------------- */

static long page_size(void) {
    static long cached;
    long p = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (p) return p;
    const char* s = getenv("GECKO_MACSEM_PAGE_SIZE");
    p = s ? strtol(s, NULL, 10) : 16384;
    if (p < 4096 || (p & (p - 1))) p = 16384;
    __atomic_store_n(&cached, p, __ATOMIC_RELAXED);
    return p;
}

static void timebase(uint32_t* numer, uint32_t* denom) {
    static uint32_t n, d;
    if (!__atomic_load_n(&n, __ATOMIC_ACQUIRE)) {
        unsigned a = 125, b = 3;
        const char* s = getenv("GECKO_MACSEM_TIMEBASE");
        if (s && (sscanf(s, "%u/%u", &a, &b) != 2 || a == 0 || b == 0)) a = 125, b = 3;
        d = b;
        __atomic_store_n(&n, a, __ATOMIC_RELEASE);
    }
    *numer = __atomic_load_n(&n, __ATOMIC_ACQUIRE);
    *denom = d;
}

/* ---- the real functions ----------------------------------------------------- */

#define REAL(name, type)                                              \
    static type real_##name(void) {                                   \
        static type fn;                                               \
        type f = __atomic_load_n(&fn, __ATOMIC_ACQUIRE);               \
        if (!f) {                                                     \
            f = (type)dlsym(RTLD_NEXT, #name);                        \
            __atomic_store_n(&fn, f, __ATOMIC_RELEASE);               \
        }                                                             \
        return f;                                                     \
    }

typedef int (*shm_open_fn)(const char*, int, mode_t);
typedef int (*shm_unlink_fn)(const char*);
typedef int (*ftruncate_fn)(int, off_t);
typedef int (*fstat_fn)(int, struct stat*);
typedef int (*fchmod_fn)(int, mode_t);
typedef int (*fchown_fn)(int, uid_t, gid_t);
typedef long (*sysconf_fn)(int);
typedef void* (*mmap_fn)(void*, size_t, int, int, int, off_t);
REAL(shm_open, shm_open_fn)
REAL(shm_unlink, shm_unlink_fn)
REAL(ftruncate, ftruncate_fn)
REAL(fstat, fstat_fn)
REAL(fchmod, fchmod_fn)
REAL(fchown, fchown_fn)
REAL(sysconf, sysconf_fn)
REAL(mmap, mmap_fn)

/** Whether fd is a POSIX shm object (glibc keeps them under /dev/shm). */
static int is_shm_fd(int fd) {
    if (fd < 0) return 0;
    char path[64], target[32];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    int saved = errno;
    ssize_t n = readlink(path, target, sizeof target);
    errno = saved;
    return n >= 9 && memcmp(target, "/dev/shm/", 9) == 0;
}

static off_t round_page(off_t v) {
    const off_t p = (off_t)page_size();
    return (v + p - 1) & ~(p - 1);
}

/** Real size of a shm object, or -1. */
static off_t shm_size(int fd) {
    struct stat sb;
    if (real_fstat()(fd, &sb) != 0) return -1;
    return sb.st_size;
}

static int check_name(const char* name) {
    if (!name) return EFAULT;
    size_t len = strnlen(name, PSHMNAMLEN + 1);
    if (len > PSHMNAMLEN) return ENAMETOOLONG;
    if (len == 0) return EINVAL;
    return 0;
}

/* ---- POSIX shm ---------------------------------------------------------------- */

int shm_open(const char* name, int oflag, mode_t mode) {
    int e = check_name(name);
    if (e) {
        errno = e;
        return -1;
    }
    if (oflag & O_CLOEXEC) {
        errno = EINVAL;
        return -1;
    }
    if (!(oflag & O_CREAT)) {
        int fd = real_shm_open()(name, oflag & ~O_TRUNC, mode);
        if (fd >= 0 && (oflag & O_TRUNC) && shm_size(fd) > 0) {
            close(fd);
            errno = EINVAL;
            return -1;
        }
        return fd;
    }
    /* O_CREAT: find out whether this call creates the segment (no umask then). */
    for (int attempt = 0; attempt < 100; attempt++) {
        int fd = real_shm_open()(name, (oflag | O_EXCL) & ~O_TRUNC, mode);
        if (fd >= 0) {
            (void)real_fchmod()(fd, mode & ALLPERMS_);
            return fd;
        }
        if (errno != EEXIST || (oflag & O_EXCL)) return -1;
        fd = real_shm_open()(name, oflag & ~(O_CREAT | O_EXCL | O_TRUNC), mode);
        if (fd >= 0) {
            if ((oflag & O_TRUNC) && shm_size(fd) > 0) {
                close(fd);
                errno = EINVAL;
                return -1;
            }
            return fd;
        }
        if (errno != ENOENT) return -1; /* removed in between: try again */
    }
    errno = EAGAIN;
    return -1;
}

int shm_unlink(const char* name) {
    int e = check_name(name);
    if (e) {
        errno = e;
        return -1;
    }
    return real_shm_unlink()(name);
}

static int macsem_ftruncate(int fd, off_t length) {
    if (!is_shm_fd(fd)) return real_ftruncate()(fd, length);
    if (length < 0) {
        errno = EINVAL;
        return -1;
    }
    if (shm_size(fd) != 0) { /* once per segment */
        errno = EINVAL;
        return -1;
    }
    return real_ftruncate()(fd, round_page(length));
}
int ftruncate(int fd, off_t length) { return macsem_ftruncate(fd, length); }
int ftruncate64(int fd, off64_t length) { return macsem_ftruncate(fd, length); }

static int macsem_fstat(int fd, struct stat* sb) {
    int rc = real_fstat()(fd, sb);
    if (rc != 0 || !is_shm_fd(fd)) return rc;
    struct stat keep = *sb;
    memset(sb, 0, sizeof *sb);
    sb->st_mode = keep.st_mode & ALLPERMS_;
    sb->st_uid = keep.st_uid;
    sb->st_gid = keep.st_gid;
    sb->st_size = keep.st_size;
    return 0;
}
int fstat(int fd, struct stat* sb) { return macsem_fstat(fd, sb); }
/* On x86-64 and arm64 Linux, struct stat64 and struct stat are one layout. */
_Static_assert(sizeof(struct stat64) == sizeof(struct stat), "stat64 layout");
int fstat64(int fd, struct stat64* sb) { return macsem_fstat(fd, (struct stat*)(void*)sb); }

int fchmod(int fd, mode_t mode) {
    if (is_shm_fd(fd)) {
        errno = EINVAL;
        return -1;
    }
    return real_fchmod()(fd, mode);
}

int fchown(int fd, uid_t uid, gid_t gid) {
    if (is_shm_fd(fd)) {
        errno = EINVAL;
        return -1;
    }
    return real_fchown()(fd, uid, gid);
}

/** A mapping placed at an address aligned to the emulated page, as macOS's mmap
 *  returns (code such as memmap2 checks that alignment): reserve len + page,
 *  map with MAP_FIXED at the aligned address inside, give back the slack. */
static void* aligned_mmap(size_t len, int prot, int flags, int fd, off_t off) {
    const size_t page = (size_t)page_size();
    if (page <= 4096u || len == 0) return real_mmap()(NULL, len, prot, flags, fd, off);
    const size_t span = len + page;
    char* r = real_mmap()(NULL, span, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (r == MAP_FAILED) return MAP_FAILED;
    char* a = (char*)(((uintptr_t)r + page - 1u) & ~(uintptr_t)(page - 1u));
    void* m = real_mmap()(a, len, prot, flags | MAP_FIXED, fd, off);
    if (m == MAP_FAILED) {
        int e = errno;
        munmap(r, span);
        errno = e;
        return MAP_FAILED;
    }
    char* end = a + ((len + 4095u) & ~(size_t)4095u);
    if (a > r) munmap(r, (size_t)(a - r));
    if (end < r + span) munmap(end, (size_t)(r + span - end));
    return m;
}

static void* macsem_mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
    if (!(flags & MAP_ANONYMOUS) && is_shm_fd(fd)) {
        off_t size = shm_size(fd);
        off_t limit = round_page(size);
        if (!(flags & MAP_SHARED) || size <= 0 || off < 0 || (off_t)len > limit ||
            (off_t)len + off > limit) {
            errno = EINVAL;
            return MAP_FAILED;
        }
    }
    if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) return real_mmap()(addr, len, prot, flags, fd, off);
    return aligned_mmap(len, prot, flags, fd, off); /* a hint (addr) is only a hint */
}
void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
    return macsem_mmap(addr, len, prot, flags, fd, off);
}
void* mmap64(void* addr, size_t len, int prot, int flags, int fd, off64_t off) {
    return macsem_mmap(addr, len, prot, flags, fd, off);
}

/* ---- pages ------------------------------------------------------------------------ */

long sysconf(int name) {
    if (name == _SC_PAGESIZE) return page_size();
    return real_sysconf()(name);
}

int getpagesize(void) { return (int)page_size(); }

/* ---- the host clock (mach/mach_time.h) ---------------------------------------------- */

typedef struct {
    uint32_t numer;
    uint32_t denom;
} gecko_mach_timebase_info_data_t;

/** Host ticks: CLOCK_MONOTONIC nanoseconds × denom / numer (ns = ticks × numer / denom). */
uint64_t mach_absolute_time(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint32_t n, d;
    timebase(&n, &d);
    unsigned __int128 ns = (unsigned __int128)ts.tv_sec * 1000000000u + (unsigned)ts.tv_nsec;
    return (uint64_t)(ns * d / n);
}

int mach_timebase_info(gecko_mach_timebase_info_data_t* info) {
    if (!info) return 4; /* KERN_INVALID_ARGUMENT */
    timebase(&info->numer, &info->denom);
    return 0; /* KERN_SUCCESS */
}

/** Lets a test tell that the emulation is loaded (dlsym(RTLD_DEFAULT, ...)). */
const char* gecko_macsem_active(void) { return "xnu-posix-shm"; }
