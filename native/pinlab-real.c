/*
 * pinlab-real: run a pinlab scenario on the real kernel.
 *
 *   pinlab-real WORKDIR  <  JSON-lines commands  >  JSON-lines results
 *
 * The protocol is described in PROTOCOL.md next to this file.  A controller
 * (this process) forwards each command to one actor process (0..7) through
 * that actor's command pipe and waits for the reply on the shared result pipe;
 * strictly one command at a time.  Actors are real processes with real memory.
 *
 * Actors fork with clone(CLONE_PARENT|SIGCHLD): for the memory (mm, VMAs,
 * page tables, pins) this is exactly fork(2) -- the same dup_mmap() path --
 * but the new actor becomes the controller's child, so the controller can
 * waitpid() every actor and report the signal that killed it.
 *
 * Modes:
 *   pinlab-real WORKDIR                 one scenario on this machine (host)
 *   pinlab-real --machine WORKDIR       also allow whole-machine operations
 *                                       (reclaim, drop_caches, KSM, hwpoison):
 *                                       only inside a throwaway guest
 *   pinlab-real --serve TTY WORKROOT    guest agent: sessions over a serial
 *                                       port, each one a --machine controller
 *   pinlab-real --pdeathsig PROG ARGS   exec PROG so that it is SIGKILLed when
 *                                       its parent dies (pinlab's QEMU guests)
 *
 * Build: cc -O2 -Wall -o native/pinlab-real native/pinlab-real.c
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/vfio.h>
#include <sys/ioctl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <termios.h>
#include <ftw.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "../kernel/pinlab_test.h"   /* pinlab's test kernels: the pinning test device */

#ifndef MADV_SOFT_OFFLINE
#define MADV_SOFT_OFFLINE 101
#endif
#ifndef MADV_HWPOISON
#define MADV_HWPOISON 100
#endif
#ifndef MFD_HUGETLB
#define MFD_HUGETLB 0x0004U
#endif
#ifndef __NR_memfd_secret
#define __NR_memfd_secret 447
#endif
#ifndef MPOL_MF_MOVE_ALL
#define MPOL_MF_MOVE_ALL (1 << 2)
#endif

#define NACT 8            /* actor slots */
#define MAXELEMS 16       /* elements of one command array */
#define NAMELEN 64        /* names of mappings, files, pipes, pins */
#define STRLEN 256        /* longest string element */
#define PATHLEN 512
#define TABLE 64          /* entries per name table */
#define LINELEN 2048      /* longest command line (< PIPE_BUF: pipe writes are atomic) */
#define MAXBYTES (1LL << 30)   /* largest mapping / file / buffer */
#define MAXIDX (1LL << 20)     /* largest |page index| */
#define BUFSZ (2L << 20)       /* largest unit */

/* ------------------------------------------------------------------ */
/* shared state (MAP_SHARED anonymous page(s), created before actor 0)  */

struct regfile { char name[NAMELEN]; char path[PATHLEN]; long long unit; int tmpfs, hugetlb; };
/* a pin held by the test device: its handle numbers, one per model page (a unit may be a huge page) */
struct dpin { char name[NAMELEN]; int handle[PINLAB_PAGES]; int pages; int pinned; int small; };  /* small: one handle holds every page */
struct shared {
	pid_t pids[NACT];             /* pid of each live actor, 0 when none */
	int ndpins;
	struct dpin dpins[TABLE];     /* device pins by name (any actor may use or release them) */
	unsigned long long dhandles;  /* bitmap of the device's handles in use */
	unsigned long long next_iova; /* VFIO: the next free I/O virtual address */
	int nfiles;
	struct regfile files[TABLE];  /* files made by the controller's "file" */
};
static struct shared *sh;

static char workdir[PATHLEN];
static char shmdir[PATHLEN];
static int machine_mode;          /* --machine: whole-machine operations are allowed */
static char cgdir[PATHLEN];       /* --machine: the cgroup of this controller and its actors */
static pid_t ctl_pid;
static int cmdpipe[NACT][2];
static int respipe[2];
static int reply_fd = 1;          /* controller: stdout; actor: result pipe */
static int my_idx = -1;           /* actor index, -1 in the controller */
static char iobuf[BUFSZ] __attribute__((aligned(4096)));

/* ------------------------------------------------------------------ */
/* commands                                                            */

struct elem { int isstr; long long n; char s[STRLEN]; };
struct cmd { int n; struct elem v[MAXELEMS]; long long seq; int actor; const char *op; };
#define S(i) (c->v[3 + (i)].s)
#define N(i) (c->v[3 + (i)].n)

struct opdef { const char *name; int ctrl; const char *sig; };  /* sig: s = string, i = integer */
static const struct opdef OPS[] = {
	{"ping", 1, ""}, {"file", 1, "ssiii"}, {"writeback", 1, "s"}, {"disk", 1, "si"},
	{"memfd", 0, "sii"}, {"mmap", 0, "ssiiiii"}, {"munmap", 0, "sii"}, {"mprotect", 0, "siii"},
	{"madvise", 0, "siii"}, {"mremap", 0, "ssi"}, {"store", 0, "sii"}, {"load", 0, "si"},
	{"fork", 0, "i"}, {"exit", 0, ""}, {"vmsplice", 0, "ssii"}, {"read_pipe", 0, "si"},
	{"uring_register", 0, "ssii"}, {"uring_unregister", 0, "s"}, {"dma_write", 0, "sii"},
	{"dma_read", 0, "si"}, {"write", 0, "sii"}, {"read", 0, "si"}, {"ftruncate", 0, "si"},
	{"fsync", 0, "s"}, {"odirect_read", 0, "sisi"}, {"odirect_write", 0, "sisi"},
	{"proc_mem_write", 0, "sii"}, {"process_vm_writev", 0, "isii"},
	{"caps", 1, ""}, {"drop_caches", 1, ""}, {"compact", 1, ""}, {"reclaim", 1, ""},
	{"ksm_scan", 1, ""}, {"hugepages", 1, "i"}, {"getnum", 1, "s"}, {"pfnflags", 1, "i"},
	{"memfd_secret", 0, "sii"}, {"migrate", 0, "si"}, {"hwpoison", 0, "si"},
	{"vfio_pin", 0, "ssiii"}, {"vfio_unpin", 0, "s"}, {"pfn", 0, "si"}, {"kpageflags", 0, "si"},
	{"dev_gup", 0, "ssiiiii"}, {"dev_release", 1, "si"}, {"dev_dma", 1, "siii"}, {"dev_smmu", 0, "siiii"},
	{"dev_sys", 0, "sii"}, {"p2pmem", 0, "si"}, {"zone_movable", 1, ""},
};

static const char *skipws(const char *p) { while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++; return p; }

/* Parse a flat JSON array of strings (no escapes) and integers; then check it
 * against the op table.  Returns NULL or an error message; c->seq is -1 when
 * the seq itself could not be read. */
static const char *parse(const char *p, struct cmd *c)
{
	c->n = 0; c->seq = -1;
	p = skipws(p);
	if (*p++ != '[') return "expected [";
	for (;;) {
		if (c->n == MAXELEMS) return "too many elements";
		struct elem *e = &c->v[c->n];
		p = skipws(p);
		if (*p == '"') {
			size_t k = 0;
			for (p++; *p && *p != '"'; p++) {
				if (*p == '\\') return "escapes are not supported";
				if ((unsigned char)*p < 0x20) return "control character in string";
				if (k + 1 >= sizeof e->s) return "string too long";
				e->s[k++] = *p;
			}
			if (*p++ != '"') return "unterminated string";
			e->s[k] = 0; e->isstr = 1;
		} else if (*p == '-' || (*p >= '0' && *p <= '9')) {
			char *end;
			errno = 0;
			e->n = strtoll(p, &end, 10);
			if (end == p || errno) return "bad integer";
			p = end; e->isstr = 0;
		} else {
			return "expected a string or an integer";
		}
		if (++c->n == 1 && !c->v[0].isstr) c->seq = c->v[0].n;
		p = skipws(p);
		if (*p == ',') { p++; continue; }
		if (*p == ']') { p++; break; }
		return "expected , or ]";
	}
	if (*skipws(p)) return "trailing characters after ]";
	if (c->n < 3 || c->v[0].isstr || c->v[1].isstr || !c->v[2].isstr) return "expected [seq, actor, op, args...]";
	c->actor = (int)c->v[1].n;
	const struct opdef *d = NULL;
	for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++)
		if (!strcmp(OPS[i].name, c->v[2].s)) d = &OPS[i];
	if (!d) return "unknown op";
	c->op = d->name;
	if (d->ctrl && c->actor != -1) return "this op runs on the controller (actor -1)";
	if (!d->ctrl && (c->v[1].n < 0 || c->v[1].n >= NACT)) return "actor must be 0..7";
	if ((size_t)(c->n - 3) != strlen(d->sig)) return "wrong number of arguments";
	for (int i = 0; d->sig[i]; i++)
		if (c->v[3 + i].isstr != (d->sig[i] == 's')) return d->sig[i] == 's' ? "argument must be a string" : "argument must be an integer";
	return NULL;
}

/* ------------------------------------------------------------------ */
/* replies: one line, one write()                                      */

static int write_all(int fd, const char *b, size_t n)
{
	while (n) {
		ssize_t w = write(fd, b, n);
		if (w < 0 && errno == EINTR) continue;
		if (w <= 0) return -1;
		b += w; n -= (size_t)w;
	}
	return 0;
}

static void reply(long long seq, const char *fmt, ...)
{
	char b[1024];
	int n = snprintf(b, sizeof b, "{\"seq\":%lld,", seq);
	va_list ap;
	va_start(ap, fmt);
	n += vsnprintf(b + n, sizeof b - (size_t)n - 3, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof b - 3) n = (int)sizeof b - 3;
	b[n++] = '}'; b[n++] = '\n';
	if (write_all(reply_fd, b, (size_t)n) < 0) _exit(my_idx < 0 ? 1 : 4);
}
static void r_ok(long long seq) { reply(seq, "\"ok\":true"); }
static void r_val(long long seq, long long v) { reply(seq, "\"ok\":true,\"value\":%lld", v); }
static void r_sig(long long seq, int sig) { reply(seq, "\"signal\":\"SIG%s\"", sigabbrev_np(sig) ? sigabbrev_np(sig) : "?"); }
static void r_errno(long long seq, int e)
{
	const char *nm = strerrorname_np(e);
	if (nm) reply(seq, "\"errno\":\"%s\"", nm);
	else reply(seq, "\"errno\":\"errno %d\"", e);
}
static void r_err(long long seq, const char *fmt, ...)
{
	char m[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	for (char *q = m; *q; q++)          /* keep the JSON valid whatever the message holds */
		if (*q == '"' || *q == '\\' || (unsigned char)*q < 0x20) *q = '\'';
	reply(seq, "\"error\":\"%s\"", m);
}

/* write a short value to a sysctl/sysfs/cgroup file: 0 or an errno */
static int put(const char *path, const char *val)
{
	int fd = open(path, O_WRONLY);
	if (fd < 0) return errno;
	ssize_t n = write(fd, val, strlen(val));
	int e = n < 0 ? errno : 0;
	close(fd);
	return e;
}
/* read a number from a sysfs file, -1 if unreadable */
static long long getnum(const char *path)
{
	char b[64];
	int fd = open(path, O_RDONLY);
	if (fd < 0) return -1;
	ssize_t n = read(fd, b, sizeof b - 1);
	close(fd);
	if (n <= 0) return -1;
	b[n] = 0;
	return strtoll(b, NULL, 10);
}
static int exists(const char *path) { return access(path, F_OK) == 0; }

/* ------------------------------------------------------------------ */
/* actor tables (private to each actor, inherited by fork)             */

struct mapping { char name[NAMELEN]; char *addr; long long len, unit, align; };
struct lfile { char name[NAMELEN]; int fd; long long unit; int reg; };  /* reg: registry index, -1 = memfd */
struct upipe { char name[NAMELEN]; int rfd; long long consumed, unit; };
struct ring {
	char name[NAMELEN]; int fd; long long unit, pages; char *buf;
	void *sq, *cq; size_t sqsz, cqsz; struct io_uring_sqe *sqes; size_t sqesz;
	unsigned *sqhead, *sqtail, *sqmask, *sqarray, *cqhead, *cqtail, *cqmask;
	struct io_uring_cqe *cqes;
};
static struct mapping maps[TABLE]; static int nmaps;
static struct lfile files[TABLE]; static int nfiles;
static struct upipe pipes[TABLE]; static int npipes;
static struct ring rings[TABLE]; static int nrings;
struct vpin { char name[NAMELEN]; unsigned long long iova; char *vaddr; long long unit, pages; int write; };
static struct vpin vpins[TABLE]; static int nvpins;

/* every table entry starts with its name */
static void *find(void *tab, int cnt, size_t sz, const char *nm)
{
	for (int i = 0; i < cnt; i++)
		if (!strcmp((char *)tab + (size_t)i * sz, nm)) return (char *)tab + (size_t)i * sz;
	return NULL;
}
/* the entry for nm, cleared: the existing one (replaced) or a fresh one; NULL if full */
static void *slot(void *tab, int *cnt, size_t sz, const char *nm)
{
	char *e = find(tab, *cnt, sz, nm);
	if (!e && *cnt < TABLE) e = (char *)tab + (size_t)(*cnt)++ * sz;
	if (e) {
		size_t l = strlen(nm) < NAMELEN ? strlen(nm) : NAMELEN - 1;
		memset(e, 0, sz);
		memcpy(e, nm, l);
	}
	return e;
}
#define FIND(tab, cnt, nm) ((__typeof__(&tab[0]))find(tab, cnt, sizeof tab[0], nm))
#define SLOT(tab, cnt, nm) ((__typeof__(&tab[0]))slot(tab, &cnt, sizeof tab[0], nm))

static int badname(const char *n) { return !*n || strlen(n) >= NAMELEN || strchr(n, '/') || n[0] == '.'; }

/* bytes = pages * unit, bounded; -1 if out of range */
static long long span(long long pages, long long unit)
{
	if (unit <= 0 || unit > BUFSZ || pages < 0 || pages > MAXBYTES / unit) return -1;
	return pages * unit;
}

/* address of pages [idx, idx+pages) of m, NULL if outside the mapping */
static char *range(const struct mapping *m, long long idx, long long pages)
{
	if (idx < 0 || idx > MAXIDX || pages < 0 || pages > MAXIDX) return NULL;
	if ((idx + pages) * m->unit > m->len) return NULL;
	return m->addr + idx * m->unit;
}

/* A file by name: this actor's memfds and cached opens, then the registry. */
static struct lfile *get_file(const char *name, int *err)
{
	*err = 0;
	struct lfile *f = FIND(files, nfiles, name);
	if (f) {
		if (f->reg >= 0) f->unit = sh->files[f->reg].unit;
		return f;
	}
	for (int i = 0; i < sh->nfiles; i++) {
		if (strcmp(sh->files[i].name, name)) continue;
		int fd = open(sh->files[i].path, O_RDWR);           /* open(2), cached */
		if (fd < 0) { *err = errno; return NULL; }
		f = SLOT(files, nfiles, name);
		if (!f) { close(fd); *err = EMFILE; return NULL; }
		f->fd = fd; f->unit = sh->files[i].unit; f->reg = i;
		return f;
	}
	return NULL;
}
static void path_of(const struct lfile *f, char *out)
{
	if (f->reg >= 0) snprintf(out, PATHLEN, "%s", sh->files[f->reg].path);
	else snprintf(out, PATHLEN, "/proc/self/fd/%d", f->fd);
}

/* per-process fds: reopened when a forked child first uses them */
static int scratch_fd = -1, procmem_fd = -1;
static pid_t scratch_pid, procmem_pid;
static int scratch(void)
{
	if (scratch_fd >= 0 && scratch_pid == getpid()) return scratch_fd;
	char p[PATHLEN + 32];
	snprintf(p, sizeof p, "%s/.scratch-%d", workdir, (int)getpid());
	scratch_fd = open(p, O_RDWR | O_CREAT, 0600);
	scratch_pid = getpid();
	return scratch_fd;
}
static int procmem(void)
{
	if (procmem_fd >= 0 && procmem_pid == getpid()) return procmem_fd;
	procmem_fd = open("/proc/self/mem", O_RDWR);   /* /proc/self/mem is bound to the opener's mm */
	procmem_pid = getpid();
	return procmem_fd;
}

/* PROT_NONE placeholder over a range we unmapped, so a stale name still faults
 * (SIGSEGV) instead of reaching whatever the kernel might put there next. */
static void guard(char *addr, long long len)
{
	if (len > 0) mmap(addr, (size_t)len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
}

/* an aligned PROT_NONE reservation of len bytes (slack unmapped) */
static char *reserve(long long len, long long align)
{
	char *p = mmap(NULL, (size_t)(len + align), PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (p == MAP_FAILED) return NULL;
	char *a = (char *)(((uintptr_t)p + (uintptr_t)align - 1) & ~((uintptr_t)align - 1));
	if (a > p) munmap(p, (size_t)(a - p));
	if (p + len + align > a + len) munmap(a + len, (size_t)(p + len + align - (a + len)));
	return a;
}

/* ------------------------------------------------------------------ */
/* CPU loads and stores that may fault                                 */

static sigjmp_buf fault_jb;
static volatile sig_atomic_t in_access;
static void fault_handler(int sig)
{
	if (in_access) { in_access = 0; siglongjmp(fault_jb, sig); }
	signal(sig, SIG_DFL);   /* a real bug: return, re-fault, die with sig */
}
/* returns 0 or the signal the access raised */
static int access32(volatile int32_t *p, int32_t *v, int store)
{
	int sig = sigsetjmp(fault_jb, 1);
	if (sig) return sig;
	in_access = 1;
	if (store) *p = *v; else *v = *p;
	in_access = 0;
	return 0;
}

/* ------------------------------------------------------------------ */
/* io_uring by raw syscalls                                            */

static void ring_free(struct ring *r)
{
	if (r->sqes && r->sqes != MAP_FAILED) munmap(r->sqes, r->sqesz);
	if (r->cq && r->cq != MAP_FAILED && r->cq != r->sq) munmap(r->cq, r->cqsz);
	if (r->sq && r->sq != MAP_FAILED) munmap(r->sq, r->sqsz);
	if (r->fd >= 0) close(r->fd);
	r->fd = -1; r->sq = r->cq = NULL; r->sqes = NULL;
}

/* io_uring_setup(8) and the three ring mmaps; 0 or an errno */
static int ring_setup(struct ring *r)
{
	struct io_uring_params p;
	memset(&p, 0, sizeof p);
	r->fd = (int)syscall(__NR_io_uring_setup, 8, &p);
	if (r->fd < 0) return errno;
	r->sqsz = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	r->cqsz = p.cq_off.cqes + p.cq_entries * sizeof(struct io_uring_cqe);
	int single = (p.features & IORING_FEAT_SINGLE_MMAP) != 0;
	if (single) r->sqsz = r->cqsz = r->sqsz > r->cqsz ? r->sqsz : r->cqsz;
	r->sq = mmap(NULL, r->sqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQ_RING);
	if (r->sq == MAP_FAILED) goto fail;
	r->cq = single ? r->sq : mmap(NULL, r->cqsz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_CQ_RING);
	if (r->cq == MAP_FAILED) goto fail;
	r->sqesz = p.sq_entries * sizeof(struct io_uring_sqe);
	r->sqes = mmap(NULL, r->sqesz, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, r->fd, IORING_OFF_SQES);
	if (r->sqes == MAP_FAILED) goto fail;
	char *sq = r->sq, *cq = r->cq;
	r->sqhead = (unsigned *)(sq + p.sq_off.head); r->sqtail = (unsigned *)(sq + p.sq_off.tail);
	r->sqmask = (unsigned *)(sq + p.sq_off.ring_mask); r->sqarray = (unsigned *)(sq + p.sq_off.array);
	r->cqhead = (unsigned *)(cq + p.cq_off.head); r->cqtail = (unsigned *)(cq + p.cq_off.tail);
	r->cqmask = (unsigned *)(cq + p.cq_off.ring_mask); r->cqes = (struct io_uring_cqe *)(cq + p.cq_off.cqes);
	return 0;
fail:;
	int e = errno;
	ring_free(r);
	return e;
}

/* one fixed-buffer read/write through io_uring_enter(); 0 with *res = cqe->res,
 * or -1 with errno set when io_uring_enter itself failed */
static int ring_rw(struct ring *r, int op, int fd, char *addr, unsigned len, int *res)
{
	unsigned tail = *r->sqtail, i = tail & *r->sqmask;
	struct io_uring_sqe *s = &r->sqes[i];
	memset(s, 0, sizeof *s);
	s->opcode = (unsigned char)op; s->fd = fd; s->addr = (uintptr_t)addr; s->len = len;
	s->off = 0; s->buf_index = 0; s->user_data = 0x70696e;
	r->sqarray[i] = i;
	__atomic_store_n(r->sqtail, tail + 1, __ATOMIC_RELEASE);
	unsigned tosubmit = 1;
	for (;;) {
		long n = syscall(__NR_io_uring_enter, r->fd, tosubmit, 1, IORING_ENTER_GETEVENTS, NULL, 0);
		if (n < 0 && errno == EINTR) continue;
		if (n < 0) {
			int e = errno;
			if (__atomic_load_n(r->sqhead, __ATOMIC_ACQUIRE) == tail) *r->sqtail = tail; /* not consumed: take it back */
			errno = e;
			return -1;
		}
		if (n > 0) tosubmit = 0;
		unsigned head = *r->cqhead;
		if (head != __atomic_load_n(r->cqtail, __ATOMIC_ACQUIRE)) {
			*res = r->cqes[head & *r->cqmask].res;
			__atomic_store_n(r->cqhead, head + 1, __ATOMIC_RELEASE);
			return 0;
		}
	}
}

/* ------------------------------------------------------------------ */
/* VFIO and QEMU's "edu" PCI device: real long-term pins, real DMA      */
/*
 * In a guest with an emulated IOMMU (intel-iommu) and the edu device bound to
 * vfio-pci, VFIO_IOMMU_MAP_DMA is vfio_iommu_type1's vfio_pin_pages_remote():
 * pin_user_pages_remote(FOLL_LONGTERM | (IOMMU_WRITE ? FOLL_WRITE : 0)) of the
 * caller's pages, mapped at an IOVA; VFIO_IOMMU_UNMAP_DMA unpins them with
 * unpin_user_pages_dirty_lock(page, 1, prot & IOMMU_WRITE). The edu device's
 * DMA engine (hw/misc/edu.c) copies between its 4 KiB buffer at device address
 * 0x40000 and an IOVA, through the IOMMU: a device access to the pinned page
 * itself, never to the process's view of it. A device write of value v is two
 * transfers: v from a staging page (shared anonymous memory of the controller,
 * mapped before the actors fork) into the buffer, then the buffer to the pin.
 */
static int vfio_container = -1, vfio_device = -1;
static char vfio_why[600] = "no edu device bound to vfio-pci";   /* why there is no VFIO device, for the error */
static unsigned long long edu_bar0, edu_cfg;       /* region offsets in the device fd */
static volatile int32_t *vstage;                  /* the staging page */
#define STAGE_IOVA 0x100000ULL
#define EDU_BUF 0x40000ULL

static int edu_w64(unsigned long long reg, unsigned long long v)
{
	return pwrite(vfio_device, &v, 8, (off_t)(edu_bar0 + reg)) == 8 ? 0 : -1;
}
/* one edu transfer of len bytes (dir 0: RAM(src) -> buffer, 1: buffer -> RAM(dst)); 0 or an errno */
static int edu_dma(unsigned long long src, unsigned long long dst, unsigned long long len, int to_ram)
{
	if (edu_w64(0x80, src) || edu_w64(0x88, dst) || edu_w64(0x90, len) || edu_w64(0x98, 1ULL | (to_ram ? 2ULL : 0ULL))) return EIO;
	for (int t = 0; t < 3000; t++) {                 /* the device starts 100 ms (virtual) later */
		unsigned long long cmd = ~0ULL;
		if (pread(vfio_device, &cmd, 8, (off_t)(edu_bar0 + 0x98)) != 8) return EIO;
		if (!(cmd & 1)) return 0;
		struct timespec ts = { 0, 2 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	return ETIMEDOUT;
}

/* Find the edu device bound to vfio-pci, attach its group to a type1 container,
 * enable bus mastering and map the staging page. Called once, before actor 0
 * exists, so every actor inherits the fds and the staging page. */
static void vfio_open(void)
{
	DIR *d = opendir("/sys/bus/pci/drivers/vfio-pci");
	if (!d) return;
	struct dirent *de;
	char bdf[256] = "";
	while ((de = readdir(d))) {
		char p[PATHLEN];
		if (!strchr(de->d_name, ':')) continue;
		snprintf(p, sizeof p, "/sys/bus/pci/devices/%s/device", de->d_name);
		FILE *f = fopen(p, "r");
		unsigned dev = 0;
		if (f) { if (fscanf(f, "%x", &dev) != 1) dev = 0; fclose(f); }
		if (dev == 0x11e8) { snprintf(bdf, sizeof bdf, "%s", de->d_name); break; }
	}
	closedir(d);
	if (!bdf[0]) return;
	char link[PATHLEN], tgt[PATHLEN];
	snprintf(link, sizeof link, "/sys/bus/pci/devices/%s/iommu_group", bdf);
	ssize_t n = readlink(link, tgt, sizeof tgt - 1);
	if (n <= 0) return;
	tgt[n] = 0;
	const char *grp = strrchr(tgt, '/');
	char gpath[PATHLEN + 16];
	snprintf(gpath, sizeof gpath, "/dev/vfio/%s", grp ? grp + 1 : tgt);
	int c = open("/dev/vfio/vfio", O_RDWR), g = open(gpath, O_RDWR);
#define VFAIL(what) do { snprintf(vfio_why, sizeof vfio_why, "%s: %s", what, strerror(errno)); goto fail; } while (0)
	if (c < 0 || g < 0) VFAIL(gpath);
	if (ioctl(c, VFIO_GET_API_VERSION) != VFIO_API_VERSION || !ioctl(c, VFIO_CHECK_EXTENSION, VFIO_TYPE1v2_IOMMU)) VFAIL("no type1 IOMMU");
	struct vfio_group_status gs = { .argsz = sizeof gs };
	if (ioctl(g, VFIO_GROUP_GET_STATUS, &gs) < 0 || !(gs.flags & VFIO_GROUP_FLAGS_VIABLE)) VFAIL("group not viable");
	if (ioctl(g, VFIO_GROUP_SET_CONTAINER, &c) < 0) VFAIL("VFIO_GROUP_SET_CONTAINER");
	if (ioctl(c, VFIO_SET_IOMMU, VFIO_TYPE1v2_IOMMU) < 0) VFAIL("VFIO_SET_IOMMU");
	int dv = ioctl(g, VFIO_GROUP_GET_DEVICE_FD, bdf);
	if (dv < 0) VFAIL("VFIO_GROUP_GET_DEVICE_FD");
	struct vfio_region_info bar = { .argsz = sizeof bar, .index = VFIO_PCI_BAR0_REGION_INDEX };
	struct vfio_region_info cfg = { .argsz = sizeof cfg, .index = VFIO_PCI_CONFIG_REGION_INDEX };
	if (ioctl(dv, VFIO_DEVICE_GET_REGION_INFO, &bar) < 0 || ioctl(dv, VFIO_DEVICE_GET_REGION_INFO, &cfg) < 0) { close(dv); goto fail; }
	unsigned short cmd = 0;
	if (pread(dv, &cmd, 2, (off_t)(cfg.offset + 4)) != 2) { close(dv); goto fail; }
	cmd |= 0x6;                                  /* memory space + bus master */
	if (pwrite(dv, &cmd, 2, (off_t)(cfg.offset + 4)) != 2) { close(dv); goto fail; }
	void *st = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (st == MAP_FAILED) { close(dv); goto fail; }
	memset(st, 0, 4096);
	struct vfio_iommu_type1_dma_map m = { .argsz = sizeof m, .flags = VFIO_DMA_MAP_FLAG_READ | VFIO_DMA_MAP_FLAG_WRITE,
		.vaddr = (uintptr_t)st, .iova = STAGE_IOVA, .size = 4096 };
	if (ioctl(c, VFIO_IOMMU_MAP_DMA, &m) < 0) { munmap(st, 4096); close(dv); VFAIL("map the staging page"); }
	vfio_container = c; vfio_device = dv; vstage = st;
	edu_bar0 = bar.offset; edu_cfg = cfg.offset;
	sh->next_iova = 0x200000ULL;
	(void)g;                                      /* kept open: the group stays attached to the container */
	return;
fail:
	if (c >= 0) close(c);
	if (g >= 0) close(g);
}

/* ------------------------------------------------------------------ */
/* actors                                                              */

static void become_actor(int idx)
{
	my_idx = idx;
	reply_fd = respipe[1];
	prctl(PR_SET_PDEATHSIG, SIGKILL);           /* die with the controller */
	if (getppid() != ctl_pid) _exit(5);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_DFL;
	sigaction(SIGCHLD, &sa, NULL); sigaction(SIGALRM, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL); sigaction(SIGINT, &sa, NULL); sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = fault_handler;
	sigaction(SIGSEGV, &sa, NULL); sigaction(SIGBUS, &sa, NULL);
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	sh->pids[idx] = getpid();
}

/* the first PCI device that publishes P2PDMA memory user space may map (6.2+: p2pmem/allocate) */
static int p2pmem_path(char *out, size_t n)
{
	DIR *d = opendir("/sys/bus/pci/devices");
	if (!d) return 0;
	struct dirent *de;
	int ok = 0;
	while (!ok && (de = readdir(d))) {
		if (de->d_name[0] == '.') continue;
		snprintf(out, n, "/sys/bus/pci/devices/%s/p2pmem/allocate", de->d_name);
		ok = exists(out);
	}
	closedir(d);
	return ok;
}

/* the memory block /init took offline to online as ZONE_MOVABLE on demand (pinlab's test kernels) */
static int movable_block(char *state, size_t n)
{
	FILE *f = fopen("/movable_block", "r");
	int b = -1;
	if (f) { if (fscanf(f, "%d", &b) != 1) b = -1; fclose(f); }
	if (b < 0) return 0;
	snprintf(state, n, "/sys/devices/system/memory/memory%d/state", b);
	return exists(state);
}
static int movable_online;        /* this session onlined it: offline it again at the end */

/* ------------------------------------------------------------------ */
/* the pinning test device (pinlab's test kernels; kernel/pinlab_test.c) */

static int pinlab_fd = -1;        /* /sys/kernel/debug/pinlab, opened before the actors fork */

static int dev_handle_alloc(void)
{
	for (int i = 0; i < PINLAB_HANDLES; i++)
		if (!(sh->dhandles & (1ULL << i))) { sh->dhandles |= 1ULL << i; return i; }
	return -1;
}
static void dev_handle_free(int h) { if (h >= 0) sh->dhandles &= ~(1ULL << h); }

/* release one device handle as its kind wants (a pin is unpinned, a FOLL_GET reference put) */
static int dev_release_handle(int h, int pinned, int dirty)
{
	struct pinlab_release r = { .handle = (unsigned)h,
		.mode = pinned ? (dirty ? PINLAB_UNPIN_DIRTY_LOCK : PINLAB_UNPIN) : (dirty ? PINLAB_SET_DIRTY_PUT : PINLAB_PUT_PAGE) };
	int e = ioctl(pinlab_fd, PINLAB_IOC_RELEASE, &r) < 0 ? errno : 0;
	dev_handle_free(h);
	return e;
}

static struct dpin *dpin_find(const char *name)
{
	for (int i = 0; i < sh->ndpins; i++) if (!strcmp(sh->dpins[i].name, name)) return &sh->dpins[i];
	return NULL;
}

/*
 * dev_gup: take pages with the GUP call kind on [idx, idx+pages) of a mapping,
 * with pinlab's FOLL_* bits, into device handles. One call for small pages; one
 * per model page (its first 4 KiB page) when a model page is a THP half or a
 * huge page. All or nothing, as the model has it: a short count releases what
 * was taken and reports the errno of the page that failed (asked again alone).
 * A kernel that answers 0 pages with no error (pin_user_pages() on flags it
 * refuses, 6.3+) gives an empty pin.
 */
static void dev_gup(struct cmd *c, const struct mapping *m)
{
	long long seq = c->seq;
	char *a = range(m, N(2), N(3));
	if (!a || N(3) <= 0 || N(3) > PINLAB_PAGES) return r_err(seq, "range outside the mapping (or more than %d pages)", PINLAB_PAGES);
	if (badname(S(0))) return r_err(seq, "bad name");
	if (N(4) < PINLAB_GET_USER_PAGES || N(4) > PINLAB_PIN_USER_PAGES_REMOTE) return r_err(seq, "bad GUP kind");
	pid_t target = getpid();
	if (N(6) >= 0 && N(6) < NACT && sh->pids[N(6)]) target = sh->pids[N(6)];
	int small = m->unit == 4096, calls = small ? 1 : (int)N(3), per = small ? (int)N(3) : 1;
	int hs[PINLAB_PAGES], got = 0, pinned = N(4) >= PINLAB_PIN_USER_PAGES, empty = 0;
	for (int i = 0; i < calls; i++) {
		int h = dev_handle_alloc();
		if (h < 0) { for (int j = 0; j < got; j++) dev_release_handle(hs[j], pinned, 0); return r_err(seq, "the device has no free handle"); }
		struct pinlab_gup g = { .handle = (unsigned)h, .kind = (unsigned)N(4), .flags = (unsigned)N(5), .nr = (unsigned)per,
			.pid = target, .addr = (unsigned long long)(uintptr_t)(a + (long long)i * m->unit) };
		int err = ioctl(pinlab_fd, PINLAB_IOC_GUP, &g) < 0 ? errno : 0;
		if (!err && g.ret == 0) { hs[got++] = h; empty = 1; break; }
		if (!err && g.ret < 0) err = (int)-g.ret;
		if (!err && g.ret < per) {                    /* short: ask again for the page that failed, alone */
			dev_release_handle(h, pinned, 0);
			int ph = dev_handle_alloc();
			struct pinlab_gup q = g;
			q.handle = (unsigned)ph; q.nr = 1; q.addr = g.addr + (unsigned long long)g.ret * 4096; q.ret = 0;
			err = ph >= 0 && ioctl(pinlab_fd, PINLAB_IOC_GUP, &q) == 0 && q.ret < 0 ? (int)-q.ret : EFAULT;
			if (ph >= 0 && q.ret > 0) dev_release_handle(ph, pinned, 0);
			else dev_handle_free(ph);
			h = -1;
		}
		if (err) {
			if (h >= 0) dev_handle_free(h);
			for (int j = 0; j < got; j++) dev_release_handle(hs[j], pinned, 0);
			return r_errno(seq, err);
		}
		hs[got++] = h;
	}
	struct dpin *dp = dpin_find(S(0));
	if (!dp) {
		if (sh->ndpins >= TABLE) { for (int j = 0; j < got; j++) dev_release_handle(hs[j], pinned, 0); return r_err(seq, "too many pins"); }
		dp = &sh->dpins[sh->ndpins++];
	}
	memset(dp, 0, sizeof *dp);
	snprintf(dp->name, NAMELEN, "%s", S(0));
	memcpy(dp->handle, hs, sizeof(int) * (size_t)got);
	dp->pages = empty ? 0 : (int)N(3);
	dp->pinned = pinned;
	dp->small = small;
	return r_ok(seq);
}

static void actor_cmd(struct cmd *c)
{
	long long seq = c->seq;
	const char *op = c->op;
	int err;
	struct mapping *m;
	struct lfile *f;

	if (!strncmp(op, "dev_", 4)) {                    /* the pinning test device */
		if (pinlab_fd < 0) return r_err(seq, "no pinning test device here (pinlab's test kernels have one: --vm 6.1-pinlab)");
		if (!(m = FIND(maps, nmaps, S(!strcmp(op, "dev_gup") ? 1 : 0)))) return r_err(seq, "unknown mapping");
		if (!strcmp(op, "dev_gup")) return dev_gup(c, m);
		char *a = range(m, N(1), 1);
		if (!a) return r_err(seq, "index outside the mapping");
		if (!strcmp(op, "dev_smmu")) {                /* the secondary MMU, in this (its owner's) mm */
			struct pinlab_smmu s = { .id = (unsigned)N(2), .op = (unsigned)N(3), .addr = (unsigned long long)(uintptr_t)a, .value = (unsigned)N(4) };
			if (ioctl(pinlab_fd, PINLAB_IOC_SMMU, &s) < 0) return r_errno(seq, errno);
			if (s.ret < 0) return r_errno(seq, (int)-s.ret);
			return s.op == PINLAB_SMMU_READ ? r_val(seq, (int32_t)s.value) : r_ok(seq);
		}
		if (!strcmp(op, "dev_sys")) {                 /* memory_failure / reclaim / migrate of the page at addr */
			struct pinlab_sys y = { .op = (unsigned)N(2), .fd = -1, .addr = (unsigned long long)(uintptr_t)a };
			if (ioctl(pinlab_fd, PINLAB_IOC_SYS, &y) < 0) return r_errno(seq, errno);
			return y.ret < 0 ? r_errno(seq, (int)-y.ret) : r_ok(seq);
		}
	}

	if (!strcmp(op, "p2pmem")) {                      /* a PCI BAR's P2PDMA memory: open(/sys/bus/pci/devices/D/p2pmem/allocate) */
		char path[PATHLEN];
		if (badname(S(0))) return r_err(seq, "bad name");
		if (!p2pmem_path(path, sizeof path)) return r_err(seq, "no p2pmem/allocate here");
		int fd = open(path, O_RDWR);
		if (fd < 0) return r_errno(seq, errno);
		f = SLOT(files, nfiles, S(0));
		if (!f) { close(fd); return r_err(seq, "too many files"); }
		f->fd = fd; f->unit = 4096; f->reg = -1;
		return r_ok(seq);
	}
	if (!strcmp(op, "memfd") || !strcmp(op, "memfd_secret")) {   /* memfd_create / memfd_secret + ftruncate */
		long long len = span(N(1), N(2));
		if (badname(S(0))) return r_err(seq, "bad name");
		if (len < 0) return r_err(seq, "bad size");
		int fd = op[5] ? (int)syscall(__NR_memfd_secret, 0) : memfd_create(S(0), 0);
		if (fd < 0) return r_errno(seq, errno);
		if (ftruncate(fd, len) < 0) { err = errno; close(fd); return r_errno(seq, err); }
		f = SLOT(files, nfiles, S(0));
		if (!f) { close(fd); return r_err(seq, "too many files"); }
		f->fd = fd; f->unit = N(2); f->reg = -1;
		return r_ok(seq);
	}
	if (!strcmp(op, "mmap")) {                        /* mmap (+ aligned reservation) */
		long long len = span(N(2), N(3)), align = N(6);
		int prot = (int)N(4), flags = (int)N(5), fd = -1;
		if (badname(S(0))) return r_err(seq, "bad name");
		if (len < 0) return r_err(seq, "bad size");
		if (align && (align < 4096 || align > (1LL << 30) || (align & (align - 1)))) return r_err(seq, "bad alignment");
		if (!strcmp(S(1), "anon")) flags |= MAP_ANONYMOUS;
		else {
			if (!(f = get_file(S(1), &err))) return err ? r_errno(seq, err) : r_err(seq, "unknown file %s", S(1));
			fd = f->fd;
		}
		char *p;
		if (align) {
			char *base = reserve(len, align);
			if (!base) return r_errno(seq, errno);
			p = mmap(base, (size_t)len, prot, flags | MAP_FIXED, fd, 0);
			if (p == MAP_FAILED) { err = errno; munmap(base, (size_t)len); return r_errno(seq, err); }
		} else {
			p = mmap(NULL, (size_t)len, prot, flags, fd, 0);
			if (p == MAP_FAILED) return r_errno(seq, errno);
		}
		m = SLOT(maps, nmaps, S(0));
		if (!m) { munmap(p, (size_t)len); return r_err(seq, "too many mappings"); }
		m->addr = p; m->len = len; m->unit = N(3); m->align = align;
		return r_val(seq, 0);
	}
	if (!strcmp(op, "munmap") || !strcmp(op, "mprotect") || !strcmp(op, "madvise")) {
		if (!(m = FIND(maps, nmaps, S(0)))) return r_err(seq, "unknown mapping %s", S(0));
		char *a = range(m, N(1), N(2));
		if (!a) return r_err(seq, "range outside the mapping");
		size_t len = (size_t)(N(2) * m->unit);
		if (op[1] == 'u') {                               /* munmap */
			if (munmap(a, len) < 0) return r_errno(seq, errno);
			guard(a, (long long)len);
		} else if (op[1] == 'p') {                        /* mprotect */
			if (mprotect(a, len, (int)N(3)) < 0) return r_errno(seq, errno);
		} else {                                          /* madvise */
			if (N(3) == MADV_HWPOISON || N(3) == MADV_SOFT_OFFLINE) return r_err(seq, "refused: poisons a page of this machine");
			if (madvise(a, len, (int)N(3)) < 0) return r_errno(seq, errno);
		}
		return r_ok(seq);
	}
	if (!strcmp(op, "mremap")) {                      /* mremap(MREMAP_MAYMOVE|MREMAP_FIXED) to a fresh address */
		if (!(m = FIND(maps, nmaps, S(0)))) return r_err(seq, "unknown mapping %s", S(0));
		if (badname(S(1))) return r_err(seq, "bad name");
		long long len = span(N(2), m->unit);
		if (len <= 0) return r_err(seq, "bad size");
		long long align = m->align ? m->align : m->unit >= (1 << 20) ? (2 << 20) : 4096;
		char *dst = reserve(len, align);
		if (!dst) return r_errno(seq, errno);
		char *p = mremap(m->addr, (size_t)m->len, (size_t)len, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
		if (p == MAP_FAILED) { err = errno; munmap(dst, (size_t)len); return r_errno(seq, err); }
		struct mapping old = *m;
		struct mapping *n = SLOT(maps, nmaps, S(1));
		if (!n) return r_err(seq, "too many mappings");
		n->addr = p; n->len = len; n->unit = old.unit; n->align = old.align;
		if (strcmp(old.name, n->name)) guard(old.addr, old.len);
		return r_ok(seq);
	}
	if (!strcmp(op, "store") || !strcmp(op, "load")) { /* CPU store / load at offset 0 of the page */
		if (!(m = FIND(maps, nmaps, S(0)))) return r_err(seq, "unknown mapping %s", S(0));
		char *a = range(m, N(1), 1);
		if (!a) return r_err(seq, "index outside the mapping");
		int32_t v = op[0] == 's' ? (int32_t)N(2) : 0;
		int sig = access32((volatile int32_t *)a, &v, op[0] == 's');
		if (sig) return r_sig(seq, sig);
		return op[0] == 's' ? r_ok(seq) : r_val(seq, v);
	}
	if (!strcmp(op, "fork")) {                        /* clone(CLONE_PARENT|SIGCHLD) == fork(2) for the mm */
		int child = (int)N(0);
		if (child < 0 || child >= NACT) return r_err(seq, "child must be 0..7");
		long pid = syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
		if (pid < 0) return r_errno(seq, errno);
		if (pid == 0) { become_actor(child); return; }   /* the child replies to nothing */
		return r_val(seq, pid);
	}
	if (!strcmp(op, "migrate")) {                     /* move_pages(2) to the other NUMA node */
		if (!(m = FIND(maps, nmaps, S(0)))) return r_err(seq, "unknown mapping %s", S(0));
		char *a = range(m, N(1), 1);
		if (!a) return r_err(seq, "index outside the mapping");
		void *pg[1] = { a };
		int st[1] = { -1 }, node[1];
		if (syscall(__NR_move_pages, 0, 1, pg, NULL, st, 0) < 0) return r_errno(seq, errno);   /* where is it? */
		if (st[0] < 0) return r_errno(seq, -st[0]);      /* ENOENT: not present, EFAULT: zero page ... */
		node[0] = st[0] == 0 ? 1 : 0;
		long n = syscall(__NR_move_pages, 0, 1, pg, node, st, MPOL_MF_MOVE_ALL);
		if (n < 0) return r_errno(seq, errno);
		/* n > 0: migrate_pages() gave up on the folio and move_pages(2) does not say why;
		 * for a present small folio that is a reference count above the expected one
		 * (folio_migrate_mapping: -EAGAIN, retried, then counted as failed) */
		if (n > 0) return r_errno(seq, EAGAIN);
		if (st[0] < 0) return r_errno(seq, -st[0]);      /* isolation failed: EBUSY, ... */
		return r_val(seq, st[0]);
	}
	if (!strcmp(op, "hwpoison")) {                    /* memory_failure(pfn, MF_SW_SIMULATED) through hwpoison_inject */
		/* MADV_HWPOISON would be memory_failure(MF_ACTION_REQUIRED): SIGBUS to the caller at once.
		 * debugfs hwpoison/corrupt-pfn is the asynchronous kind (a machine check found by a
		 * scrubber): mappers are unmapped and get SIGBUS when they next touch the page. */
		if (!machine_mode) return r_err(seq, "refused: poisons a page of this machine (only in a guest)");
		if (!(m = FIND(maps, nmaps, S(0)))) return r_err(seq, "unknown mapping %s", S(0));
		char *a = range(m, N(1), 1);
		if (!a) return r_err(seq, "index outside the mapping");
		int fd = open("/proc/self/pagemap", O_RDONLY);
		if (fd < 0) return r_errno(seq, errno);
		uint64_t e = 0;
		ssize_t n = pread(fd, &e, 8, (off_t)((uintptr_t)a / 4096 * 8));
		close(fd);
		if (n != 8) return r_errno(seq, n < 0 ? errno : EIO);
		if (!(e & (1ULL << 63))) return r_errno(seq, EFAULT);        /* not present: nothing to poison */
		char v[32];
		snprintf(v, sizeof v, "%llu", (unsigned long long)(e & ((1ULL << 55) - 1)));
		if ((err = put("/sys/kernel/debug/hwpoison/corrupt-pfn", v))) return r_errno(seq, err);
		return r_ok(seq);
	}
	if (!strcmp(op, "pfn") || !strcmp(op, "kpageflags")) {  /* diagnostics: /proc/self/pagemap, /proc/kpageflags */
		if (!(m = FIND(maps, nmaps, S(0)))) return r_err(seq, "unknown mapping %s", S(0));
		char *a = range(m, N(1), 1);
		if (!a) return r_err(seq, "index outside the mapping");
		int fd = open("/proc/self/pagemap", O_RDONLY);
		if (fd < 0) return r_errno(seq, errno);
		uint64_t e = 0;
		ssize_t n = pread(fd, &e, 8, (off_t)((uintptr_t)a / 4096 * 8));
		close(fd);
		if (n != 8) return r_errno(seq, n < 0 ? errno : EIO);
		if (!(e & (1ULL << 63))) return r_val(seq, -1);                /* not present */
		long long pfn = (long long)(e & ((1ULL << 55) - 1));
		if (op[0] == 'p') return r_val(seq, pfn);
		fd = open("/proc/kpageflags", O_RDONLY);
		if (fd < 0) return r_errno(seq, errno);
		n = pread(fd, &e, 8, (off_t)(pfn * 8));
		close(fd);
		if (n != 8) return r_errno(seq, n < 0 ? errno : EIO);
		return r_val(seq, (long long)(e & 0x7fffffffffffffffULL));
	}
	if (!strcmp(op, "exit")) {                        /* _exit(2) */
		r_ok(seq);
		_exit(0);
	}
	if (!strcmp(op, "vmsplice")) {                    /* pipe2, F_SETPIPE_SZ, vmsplice(flags 0) */
		if (!(m = FIND(maps, nmaps, S(1)))) return r_err(seq, "unknown mapping %s", S(1));
		if (badname(S(0))) return r_err(seq, "bad name");
		char *a = range(m, N(2), N(3));
		if (!a) return r_err(seq, "range outside the mapping");
		long long stride = m->unit, len = N(3) * m->unit;
		int fds[2];
		if (pipe2(fds, 0) < 0) return r_errno(seq, errno);
		int rc = fcntl(fds[1], F_SETPIPE_SZ, (int)(len < 4096 ? 4096 : len));
		if (rc < 0 && errno == EPERM && m->unit > 4096) {
			/* > pipe-max-size needs CAP_SYS_RESOURCE: splice the first 4 KiB of
			 * each model page instead (the pipe still holds a reference on
			 * every folio involved, and offset 0 is all read_pipe looks at) */
			stride = 4096; len = N(3) * 4096;
			rc = fcntl(fds[1], F_SETPIPE_SZ, (int)(len < 4096 ? 4096 : len));
		}
		if (rc < 0) { err = errno; close(fds[0]); close(fds[1]); return r_errno(seq, err); }
		/* one region of len bytes, or (fallback) N(3) pieces of 4 KiB, unit apart */
		long long piece = stride == m->unit ? len : stride, pieces = stride == m->unit ? (len > 0) : N(3);
		for (long long pg = 0, off = 0; pg < pieces; ) {   /* off: bytes of this piece spliced */
			struct iovec iov = { a + pg * m->unit + off, (size_t)(piece - off) };
			ssize_t n = vmsplice(fds[1], &iov, 1, 0);
			if (n < 0 && errno == EINTR) continue;
			/* a failure after some bytes went in is what one vmsplice() of the whole range returns: a short count */
			if (n < 0 && (pg > 0 || off > 0)) break;
			if (n <= 0) { err = n < 0 ? errno : 0; close(fds[0]); close(fds[1]); return err ? r_errno(seq, err) : r_err(seq, "short"); }
			off += n;
			if (off == piece) { off = 0; pg++; }
		}
		close(fds[1]);
		struct upipe *u = SLOT(pipes, npipes, S(0));
		if (!u) { close(fds[0]); return r_err(seq, "too many pipes"); }
		u->rfd = fds[0]; u->consumed = 0; u->unit = stride;
		return r_ok(seq);
	}
	if (!strcmp(op, "read_pipe")) {                   /* read(2) from the pipe */
		struct upipe *u = FIND(pipes, npipes, S(0));
		if (!u) return r_err(seq, "unknown pipe %s", S(0));
		if (N(1) < 0 || N(1) > MAXIDX) return r_err(seq, "bad index");
		long long target = N(1) * u->unit;
		if (target < u->consumed) return r_err(seq, "page already consumed");
		while (u->consumed < target) {                  /* discard the pages before it */
			long long chunk = target - u->consumed < BUFSZ ? target - u->consumed : BUFSZ;
			ssize_t n = read(u->rfd, iobuf, (size_t)chunk);
			if (n < 0 && errno == EINTR) continue;
			if (n < 0) return r_errno(seq, errno);
			if (n == 0) return r_err(seq, "short");
			u->consumed += n;
		}
		for (long long got = 0; got < u->unit; ) {       /* then read the page itself */
			ssize_t n = read(u->rfd, iobuf + got, (size_t)(u->unit - got));
			if (n < 0 && errno == EINTR) continue;
			if (n < 0) return r_errno(seq, errno);
			if (n == 0) return r_err(seq, "short");
			u->consumed += n; got += n;
		}
		int32_t v;
		memcpy(&v, iobuf, 4);
		return r_val(seq, v);
	}
	if (!strcmp(op, "uring_register")) {              /* io_uring_setup + IORING_REGISTER_BUFFERS */
		if (!(m = FIND(maps, nmaps, S(1)))) return r_err(seq, "unknown mapping %s", S(1));
		if (badname(S(0))) return r_err(seq, "bad name");
		char *a = range(m, N(2), N(3));
		if (!a) return r_err(seq, "range outside the mapping");
		struct ring r;
		memset(&r, 0, sizeof r);
		if ((err = ring_setup(&r))) return r_errno(seq, err);
		struct iovec iov = { a, (size_t)(N(3) * m->unit) };
		if (syscall(__NR_io_uring_register, r.fd, IORING_REGISTER_BUFFERS, &iov, 1) < 0) {
			err = errno; ring_free(&r); return r_errno(seq, err);
		}
		struct ring *rs = SLOT(rings, nrings, S(0));
		if (!rs) { ring_free(&r); return r_err(seq, "too many rings"); }
		memcpy(r.name, rs->name, NAMELEN);
		r.buf = a; r.unit = m->unit; r.pages = N(3);
		*rs = r;
		return r_ok(seq);
	}
	if (!strcmp(op, "vfio_pin")) {                    /* VFIO_IOMMU_MAP_DMA: pin_user_pages_remote(FOLL_LONGTERM[|FOLL_WRITE]) */
		if (vfio_container < 0) return r_err(seq, "no VFIO device here (%s)", vfio_why);
		if (!(m = FIND(maps, nmaps, S(1)))) return r_err(seq, "unknown mapping %s", S(1));
		if (badname(S(0))) return r_err(seq, "bad name");
		char *a = range(m, N(2), N(3));
		if (!a || N(3) <= 0) return r_err(seq, "range outside the mapping");
		unsigned long long size = (unsigned long long)(N(3) * m->unit);
		unsigned long long align = m->unit >= (2 << 20) ? (2 << 20) : 4096;
		unsigned long long iova = (__atomic_load_n(&sh->next_iova, __ATOMIC_SEQ_CST) + align - 1) & ~(align - 1);
		if (iova + size > (1ULL << 28)) return r_err(seq, "out of edu-addressable IOVA space");
		struct vfio_iommu_type1_dma_map dm = { .argsz = sizeof dm, .flags = VFIO_DMA_MAP_FLAG_READ | (N(4) ? VFIO_DMA_MAP_FLAG_WRITE : 0),
			.vaddr = (uintptr_t)a, .iova = iova, .size = size };
		if (ioctl(vfio_container, VFIO_IOMMU_MAP_DMA, &dm) < 0) return r_errno(seq, errno);
		sh->next_iova = iova + size;
		struct vpin *vp = SLOT(vpins, nvpins, S(0));
		if (!vp) return r_err(seq, "too many pins");
		vp->iova = iova; vp->vaddr = a; vp->unit = m->unit; vp->pages = N(3); vp->write = N(4) != 0;
		return r_ok(seq);
	}
	if (!strcmp(op, "vfio_unpin")) {                  /* VFIO_IOMMU_UNMAP_DMA: unpin_user_pages_dirty_lock(prot & IOMMU_WRITE) */
		struct vpin *vp = FIND(vpins, nvpins, S(0));
		if (!vp || !vp->pages) return r_err(seq, "unknown pin %s", S(0));
		struct vfio_iommu_type1_dma_unmap du = { .argsz = sizeof du, .iova = vp->iova, .size = (unsigned long long)(vp->pages * vp->unit) };
		if (ioctl(vfio_container, VFIO_IOMMU_UNMAP_DMA, &du) < 0) return r_errno(seq, errno);
		vp->pages = 0;
		return r_ok(seq);
	}
	if ((!strcmp(op, "dma_write") || !strcmp(op, "dma_read")) && FIND(vpins, nvpins, S(0))) {  /* the edu device through the IOMMU */
		struct vpin *vp = FIND(vpins, nvpins, S(0));
		if (!vp->pages) return r_err(seq, "pin %s was released", S(0));
		if (N(1) < 0 || N(1) >= vp->pages) return r_err(seq, "index outside the pin");
		unsigned long long at = vp->iova + (unsigned long long)(N(1) * vp->unit);
		if (op[4] == 'w') {
			if (!vp->write) return r_err(seq, "pin %s is mapped read-only: the IOMMU refuses the device's writes", S(0));
			vstage[0] = (int32_t)N(2);
			__sync_synchronize();
			if ((err = edu_dma(STAGE_IOVA, EDU_BUF, 4, 0)) || (err = edu_dma(EDU_BUF, at, 4, 1))) return r_errno(seq, err);
			return r_ok(seq);
		}
		/* edu does not report a failed transfer (an IOMMU fault): fill its buffer with a
		 * sentinel first, and if the sentinel comes back, try once more with another one */
		static const int32_t sentinel[2] = { 0x5ee1ed01, 0x5ee1ed02 };
		for (int t = 0; t < 2; t++) {
			vstage[0] = sentinel[t];
			__sync_synchronize();
			if ((err = edu_dma(STAGE_IOVA, EDU_BUF, 4, 0)) || (err = edu_dma(at, EDU_BUF, 4, 0)) || (err = edu_dma(EDU_BUF, STAGE_IOVA, 4, 1)))
				return r_errno(seq, err);
			__sync_synchronize();
			if (vstage[0] != sentinel[t]) return r_val(seq, vstage[0]);
		}
		return r_err(seq, "the device could not read the page (its DMA left the buffer untouched: an IOMMU fault?)");
	}
	struct ring *r = NULL;
	if (!strncmp(op, "uring_un", 8) || !strncmp(op, "dma_", 4)) {
		if (!(r = FIND(rings, nrings, S(0))) || r->fd < 0) return r_err(seq, "unknown pin %s", S(0));
	}
	if (!strcmp(op, "uring_unregister")) {            /* IORING_UNREGISTER_BUFFERS + close */
		long rc = syscall(__NR_io_uring_register, r->fd, IORING_UNREGISTER_BUFFERS, NULL, 0);
		err = errno;
		ring_free(r);
		return rc < 0 ? r_errno(seq, err) : r_ok(seq);
	}
	if (!strcmp(op, "dma_write") || !strcmp(op, "dma_read")) {  /* IORING_OP_READ_FIXED / WRITE_FIXED */
		int wr = op[4] == 'w', res, sfd = scratch();
		if (sfd < 0) return r_errno(seq, errno);
		if (N(1) < -MAXIDX || N(1) > MAXIDX) return r_err(seq, "bad index");
		if (wr) {
			int32_t v = (int32_t)N(2);
			memset(iobuf, 0, (size_t)r->unit);
			memcpy(iobuf, &v, 4);
			ssize_t n = pwrite(sfd, iobuf, (size_t)r->unit, 0);
			if (n < 0) return r_errno(seq, errno);
			if (n != r->unit) return r_err(seq, "short");
		}
		if (ring_rw(r, wr ? IORING_OP_READ_FIXED : IORING_OP_WRITE_FIXED, sfd, r->buf + N(1) * r->unit, (unsigned)r->unit, &res) < 0)
			return r_errno(seq, errno);
		if (res < 0) return r_errno(seq, -res);
		if (res != r->unit) return r_err(seq, "short");
		if (wr) return r_ok(seq);
		int32_t v;
		ssize_t n = pread(sfd, &v, 4, 0);
		if (n < 0) return r_errno(seq, errno);
		if (n != 4) return r_err(seq, "short");
		return r_val(seq, v);
	}
	if (!strcmp(op, "write") || !strcmp(op, "read") || !strcmp(op, "ftruncate") || !strcmp(op, "fsync")) {
		if (!(f = get_file(S(0), &err))) return err ? r_errno(seq, err) : r_err(seq, "unknown file %s", S(0));
		if (op[0] == 'f' && op[1] == 's') {               /* fsync */
			if (fsync(f->fd) < 0) return r_errno(seq, errno);
			return r_ok(seq);
		}
		if (op[0] == 'f') {                               /* ftruncate */
			long long len = span(N(1), f->unit);
			if (len < 0) return r_err(seq, "bad size");
			if (ftruncate(f->fd, len) < 0) return r_errno(seq, errno);
			return r_ok(seq);
		}
		if (N(1) < 0 || N(1) > MAXIDX) return r_err(seq, "bad index");
		int32_t v = (int32_t)(op[0] == 'w' ? N(2) : 0);
		ssize_t n = op[0] == 'w' ? pwrite(f->fd, &v, 4, N(1) * f->unit)   /* pwrite */
		                         : pread(f->fd, &v, 4, N(1) * f->unit);    /* pread */
		if (n < 0) return r_errno(seq, errno);
		if (n != 4) return r_err(seq, "short");
		return op[0] == 'w' ? r_ok(seq) : r_val(seq, v);
	}
	if (!strcmp(op, "odirect_read") || !strcmp(op, "odirect_write")) {  /* open(O_DIRECT) + pread/pwrite */
		if (!(f = get_file(S(0), &err))) return err ? r_errno(seq, err) : r_err(seq, "unknown file %s", S(0));
		if (!(m = FIND(maps, nmaps, S(2)))) return r_err(seq, "unknown mapping %s", S(2));
		if (N(1) < 0 || N(1) > MAXIDX) return r_err(seq, "bad index");
		char *a = range(m, N(3), 0);
		if (!a || a + 4096 > m->addr + m->len) return r_err(seq, "range outside the mapping");
		char path[PATHLEN];
		path_of(f, path);
		int fd = open(path, O_RDWR | O_DIRECT);
		if (fd < 0) return r_errno(seq, errno);
		ssize_t n = op[8] == 'r' ? pread(fd, a, 4096, N(1) * f->unit) : pwrite(fd, a, 4096, N(1) * f->unit);
		err = errno;
		close(fd);
		if (n < 0) return r_errno(seq, err);
		if (n != 4096) return r_err(seq, "short");
		return r_ok(seq);
	}
	if (!strcmp(op, "proc_mem_write")) {              /* pwrite(2) on /proc/self/mem (FOLL_FORCE) */
		if (!(m = FIND(maps, nmaps, S(0)))) return r_err(seq, "unknown mapping %s", S(0));
		char *a = range(m, N(1), 1);
		if (!a) return r_err(seq, "index outside the mapping");
		int fd = procmem();
		if (fd < 0) return r_errno(seq, errno);
		int32_t v = (int32_t)N(2);
		ssize_t n = pwrite(fd, &v, 4, (off_t)(uintptr_t)a);
		if (n < 0) return r_errno(seq, errno);
		if (n != 4) return r_err(seq, "short");
		return r_ok(seq);
	}
	if (!strcmp(op, "process_vm_writev")) {           /* process_vm_writev(2) into another actor */
		int t = (int)N(0);
		if (t < 0 || t >= NACT) return r_err(seq, "target must be 0..7");
		pid_t pid = sh->pids[t];
		if (!pid) return r_err(seq, "actor %d is not running", t);
		if (!(m = FIND(maps, nmaps, S(1)))) return r_err(seq, "unknown mapping %s", S(1));
		char *a = range(m, N(2), 1);
		if (!a) return r_err(seq, "index outside the mapping");
		int32_t v = (int32_t)N(3);
		struct iovec l = { &v, 4 }, rv = { a, 4 };
		ssize_t n = process_vm_writev(pid, &l, 1, &rv, 1, 0);
		if (n < 0) return r_errno(seq, errno);
		if (n != 4) return r_err(seq, "short");
		return r_ok(seq);
	}
	r_err(seq, "op %s is not handled by actors", op);
}

static void actor_loop(void)
{
	for (;;) {
		char line[LINELEN + 2];
		size_t k = 0;
		for (;;) {                                  /* read one line, byte by byte */
			char ch;
			ssize_t n = read(cmdpipe[my_idx][0], &ch, 1);
			if (n < 0 && errno == EINTR) continue;
			if (n <= 0) _exit(6);
			if (ch == '\n') break;
			if (k < LINELEN) line[k++] = ch;
		}
		line[k] = 0;
		struct cmd c;
		const char *e = parse(line, &c);
		if (e) r_err(c.seq, "%s", e);
		else actor_cmd(&c);
	}
}

/* ------------------------------------------------------------------ */
/* controller                                                          */

static pid_t apid[NACT];          /* controller's view: pid of each live actor */
static int alive[NACT];
static pid_t everpid[256]; static int neverpid;
static char timeout_line[64]; static size_t timeout_len;

/* async-signal-safe: kill actors, remove /dev/shm/pinlab-<pid> and scratch files */
static void cleanup(int kill_actors)
{
	if (kill_actors) {
		for (int k = 0; k < NACT; k++) if (alive[k]) kill(apid[k], SIGKILL);
		for (int t = 0, left = 1; left && t < 100; t++) {     /* reap them, waiting 1 s at most */
			left = 0;
			for (int k = 0; k < NACT; k++) {
				int st;
				if (alive[k] && waitpid(apid[k], &st, WNOHANG) == 0) left = 1;
				else alive[k] = 0;
			}
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			if (left) nanosleep(&ts, NULL);
		}
	}
	if (pinlab_fd >= 0) ioctl(pinlab_fd, PINLAB_IOC_RESET);   /* pins and secondary MMUs the scenario left */
	if (movable_online) {                             /* the spare block goes offline again (its pages migrate away) */
		char st[PATHLEN];
		if (movable_block(st, sizeof st))
			for (int t = 0; t < 5 && put(st, "offline"); t++) sleep(1);
		movable_online = 0;
	}
	for (int i = 0; i < sh->nfiles; i++) if (sh->files[i].tmpfs) unlink(sh->files[i].path);
	rmdir(shmdir);
	for (int i = 0; i < neverpid; i++) {
		char p[PATHLEN + 32], d[16];
		size_t n = 0, w = strlen(workdir);
		memcpy(p, workdir, w);
		memcpy(p + w, "/.scratch-", 10); w += 10;
		for (unsigned x = (unsigned)everpid[i]; ; x /= 10) { d[n++] = (char)('0' + x % 10); if (x < 10) break; }
		while (n) p[w++] = d[--n];
		p[w] = 0;
		unlink(p);
	}
}
static void on_alarm(int sig)
{
	(void)sig;
	write_all(1, timeout_line, timeout_len);
	cleanup(1);
	_exit(3);
}
static void on_term(int sig) { cleanup(1); _exit(128 + sig); }
static void on_chld(int sig) { (void)sig; }

static void note_pid(pid_t p) { if (neverpid < (int)(sizeof everpid / sizeof everpid[0])) everpid[neverpid++] = p; }

static char death[NACT][64];      /* why an actor died */
static void mark_dead(int k, int st)
{
	alive[k] = 0; sh->pids[k] = 0;
	if (WIFSIGNALED(st)) snprintf(death[k], sizeof death[k], "SIG%s", sigabbrev_np(WTERMSIG(st)) ? sigabbrev_np(WTERMSIG(st)) : "?");
	else snprintf(death[k], sizeof death[k], "exit status %d", WEXITSTATUS(st));
	struct pollfd pf = { cmdpipe[k][0], POLLIN, 0 };   /* drop a command it never read */
	char junk[LINELEN];
	while (poll(&pf, 1, 0) > 0 && (pf.revents & POLLIN) && read(cmdpipe[k][0], junk, sizeof junk) > 0) pf.revents = 0;
}
static void reap_all(void)
{
	for (int k = 0; k < NACT; k++) {
		int st;
		if (alive[k] && waitpid(apid[k], &st, WNOHANG) == apid[k]) mark_dead(k, st);
	}
}

/* read one line from the result pipe */
static int read_result(char *buf, size_t sz)
{
	size_t k = 0;
	while (k + 1 < sz) {
		ssize_t n = read(respipe[0], buf + k, sz - 1 - k);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) return -1;
		k += (size_t)n;
		if (buf[k - 1] == '\n') break;
	}
	buf[k] = 0;
	return 0;
}

/* wait for actor k's reply: 1 = got it, 0 = actor died */
static int wait_result(int k, char *buf, size_t sz)
{
	sigset_t none;
	sigemptyset(&none);
	for (;;) {
		struct pollfd pf = { respipe[0], POLLIN, 0 };
		int n = ppoll(&pf, 1, NULL, &none);        /* SIGCHLD is blocked outside ppoll: no lost wakeup */
		if (n > 0) return read_result(buf, sz) == 0;
		if (n < 0 && errno != EINTR) return 0;
		reap_all();
		if (!alive[k]) {
			pf.revents = 0;
			if (poll(&pf, 1, 0) > 0) return read_result(buf, sz) == 0;   /* replied, then died */
			return 0;
		}
	}
}


/* what this kernel and mode allow (the "caps" command) */
enum { CAP_MACHINE = 1, CAP_SECRETMEM = 2, CAP_NUMA = 4, CAP_SWAP = 8, CAP_KSM = 16, CAP_HWPOISON = 32,
       CAP_RECLAIM = 64, CAP_HUGETLB = 128, CAP_VFIO = 256, CAP_PINLAB = 512, CAP_MOVABLE = 1024, CAP_P2PMEM = 2048 };
static long long caps(void)
{
	long long c = 0;
	if (machine_mode) c |= CAP_MACHINE;
	int fd = (int)syscall(__NR_memfd_secret, 0);
	if (fd >= 0) { c |= CAP_SECRETMEM; close(fd); }
	if (exists("/sys/devices/system/node/node1")) c |= CAP_NUMA;
	FILE *sw = fopen("/proc/swaps", "r");
	if (sw) {
		char l[256]; int n = 0;
		while (fgets(l, sizeof l, sw)) n++;
		fclose(sw);
		if (n > 1) c |= CAP_SWAP;
	}
	if (machine_mode && exists("/sys/kernel/mm/ksm/run")) c |= CAP_KSM;
	if (machine_mode && exists("/sys/kernel/debug/hwpoison/corrupt-pfn")) c |= CAP_HWPOISON;
	if (machine_mode && cgdir[0]) {
		char p[PATHLEN + 32];
		snprintf(p, sizeof p, "%s/memory.reclaim", cgdir);
		if (exists(p)) c |= CAP_RECLAIM;
	}
	if (exists("/proc/sys/vm/nr_hugepages")) c |= CAP_HUGETLB;
	if (vfio_container >= 0) c |= CAP_VFIO;
	if (pinlab_fd >= 0) c |= CAP_PINLAB;
	char p[PATHLEN];
	if (machine_mode && movable_block(p, sizeof p)) c |= CAP_MOVABLE;
	if (p2pmem_path(p, sizeof p)) c |= CAP_P2PMEM;
	return c;
}

/* --machine: whole-machine operations, for a throwaway guest only */
static void machine_cmd(struct cmd *c)
{
	long long seq = c->seq;
	int e;
	if (!machine_mode) return r_err(seq, "refused: %s touches the whole machine (only in a guest)", c->op);
	if (!strcmp(c->op, "drop_caches")) {             /* sync; echo 3 > drop_caches */
		sync();
		if ((e = put("/proc/sys/vm/drop_caches", "3"))) return r_errno(seq, e);
		return r_ok(seq);
	}
	if (!strcmp(c->op, "compact")) {                 /* echo 1 > compact_memory */
		if ((e = put("/proc/sys/vm/compact_memory", "1"))) return r_errno(seq, e);
		return r_ok(seq);
	}
	if (!strcmp(c->op, "reclaim")) {                 /* every page cold (clear_refs), then memory.reclaim of our cgroup */
		char p[PATHLEN + 32];
		for (int k = 0; k < NACT; k++) {
			if (!alive[k]) continue;
			snprintf(p, sizeof p, "/proc/%d/clear_refs", (int)apid[k]);
			put(p, "1");                             /* test_and_clear young bits and PG_referenced */
		}
		snprintf(p, sizeof p, "%s/memory.reclaim", cgdir);
		for (int t = 0; t < 3; t++) {                /* until a pass finds nothing more to take */
			e = put(p, "1G");
			if (e && e != EAGAIN) return r_errno(seq, e);   /* EAGAIN: it reclaimed what it could */
		}
		return r_ok(seq);
	}
	if (!strcmp(c->op, "ksm_scan")) {                /* run ksmd for three full scans, then stop it */
		const char *k = "/sys/kernel/mm/ksm/";
		char p[128];
		snprintf(p, sizeof p, "%spages_to_scan", k); put(p, "100000");
		snprintf(p, sizeof p, "%ssleep_millisecs", k); put(p, "0");
		snprintf(p, sizeof p, "%sfull_scans", k);
		long long f0 = getnum(p), f = f0;
		char run[128];
		snprintf(run, sizeof run, "%srun", k);
		if ((e = put(run, "1"))) return r_errno(seq, e);
		for (int t = 0; t < 2000 && f < f0 + 3; t++) {   /* 20 s at most */
			struct timespec ts = { 0, 10 * 1000 * 1000 };
			nanosleep(&ts, NULL);
			f = getnum(p);
		}
		put(run, "0");
		if (f < f0 + 3) return r_err(seq, "ksmd did not finish three scans");
		return r_ok(seq);
	}
	if (!strcmp(c->op, "hugepages")) {               /* nr_hugepages = n; value: free huge pages */
		char v[32];
		snprintf(v, sizeof v, "%lld", N(0));
		if ((e = put("/proc/sys/vm/nr_hugepages", v))) return r_errno(seq, e);
		return r_val(seq, getnum("/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"));
	}
	r_err(seq, "op %s is not a machine operation", c->op);
}

static int ctl_file(const char *name, const char **path, long long *unit)
{
	for (int i = 0; i < sh->nfiles; i++)
		if (!strcmp(sh->files[i].name, name)) { *path = sh->files[i].path; *unit = sh->files[i].unit; return 0; }
	return -1;
}

static void controller_cmd(struct cmd *c)
{
	long long seq = c->seq, unit;
	const char *path;
	int err;
	if (!strcmp(c->op, "ping")) {                     /* uname(2) */
		struct utsname u;
		int maj, min;
		if (uname(&u) < 0) return r_errno(seq, errno);
		if (sscanf(u.release, "%d.%d", &maj, &min) != 2) return r_err(seq, "cannot parse %s", u.release);
		return r_val(seq, maj * 100 + min);
	}
	if (!strcmp(c->op, "caps")) return r_val(seq, caps());
	if (!strcmp(c->op, "zone_movable")) {             /* `memory movable`: online /init's spare block as ZONE_MOVABLE */
		char st[PATHLEN];
		if (!machine_mode) return r_err(seq, "refused: zone_movable touches the whole machine (only in a guest)");
		if (!movable_block(st, sizeof st)) return r_err(seq, "no spare memory block here");
		if ((err = put(st, "online_movable"))) return r_errno(seq, err);
		movable_online = 1;
		return r_ok(seq);
	}
	if (!strcmp(c->op, "dev_release") || !strcmp(c->op, "dev_dma")) {   /* the device's pins, whoever took them */
		if (pinlab_fd < 0) return r_err(seq, "no pinning test device here");
		struct dpin *dp = dpin_find(S(0));
		if (!dp || dp->pages < 0) return r_errno(seq, EINVAL);
		int small = dp->small;
		int nh = small ? 1 : dp->pages;
		if (!strcmp(c->op, "dev_release")) {          /* mode: 0 unpin_user_pages, 1 unpin_user_pages_dirty_lock, 2 put_pages */
			if (N(1) == 2 && dp->pinned) return r_errno(seq, EINVAL);
			int e = 0;
			for (int i = 0; i < (dp->pages ? nh : 1); i++) {
				int x = dev_release_handle(dp->handle[i], dp->pinned, N(1) == 1);
				if (x && !e) e = x;
			}
			dp->pages = -1;
			return e ? r_errno(seq, e) : r_ok(seq);
		}
		if (N(1) < 0 || N(1) >= dp->pages) return r_errno(seq, EINVAL);
		struct pinlab_dma d = { .handle = (unsigned)dp->handle[small ? 0 : N(1)], .index = (unsigned)(small ? N(1) : 0),
			.write = N(2) != 0, .value = (unsigned)N(3) };
		if (ioctl(pinlab_fd, PINLAB_IOC_DMA, &d) < 0) return r_errno(seq, errno);
		return d.write ? r_ok(seq) : r_val(seq, (int32_t)d.value);
	}
	if (!strcmp(c->op, "pfnflags")) {                 /* diagnostics: /proc/kpageflags of a pfn */
		int fd = open("/proc/kpageflags", O_RDONLY);
		if (fd < 0) return r_errno(seq, errno);
		uint64_t e = 0;
		ssize_t n = pread(fd, &e, 8, (off_t)(N(0) * 8));
		close(fd);
		if (n != 8) return r_errno(seq, n < 0 ? errno : EIO);
		return r_val(seq, (long long)(e & 0x7fffffffffffffffULL));
	}
	if (!strcmp(c->op, "getnum")) {                   /* diagnostics: the number a /proc or /sys file starts with */
		if (strncmp(S(0), "/proc/", 6) && strncmp(S(0), "/sys/", 5)) return r_err(seq, "only /proc and /sys");
		long long v = getnum(S(0));
		return v < 0 ? r_errno(seq, errno ? errno : EINVAL) : r_val(seq, v);
	}
	if (!strcmp(c->op, "drop_caches") || !strcmp(c->op, "compact") || !strcmp(c->op, "reclaim") ||
	    !strcmp(c->op, "ksm_scan") || !strcmp(c->op, "hugepages"))
		return machine_cmd(c);
	if (!strcmp(c->op, "file")) {                     /* open(O_CREAT|O_TRUNC), ftruncate, pwrite fills, fsync */
		long long len = span(N(2), N(3));
		int tmpfs = !strcmp(S(1), "tmpfs"), huge = !strcmp(S(1), "hugetlb");
		if (badname(S(0))) return r_err(seq, "bad name");
		if (!tmpfs && !huge && strcmp(S(1), "disk")) return r_err(seq, "kind must be disk, tmpfs or hugetlb");
		if (len < 0) return r_err(seq, "bad size");
		char p[PATHLEN];
		int fd;
		if (huge) {                                   /* memfd_create(MFD_HUGETLB): hugetlbfs without a mount */
			if ((N(3) & ((2 << 20) - 1)) || !N(3)) return r_err(seq, "a hugetlb file's unit is a multiple of 2 MiB");
			fd = memfd_create(S(0), MFD_HUGETLB);
			if (fd < 0) return r_errno(seq, errno);
			if (ftruncate(fd, len) < 0) goto fail;
			char *a = len ? mmap(NULL, (size_t)len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0) : NULL;
			if (a == MAP_FAILED) goto fail;
			for (long long i = 0; i < N(2); i++) {   /* hugetlbfs has no write(): fill through a mapping */
				int32_t v = (int32_t)N(4);
				if (access32((volatile int32_t *)(a + i * N(3)), &v, 1)) { munmap(a, (size_t)len); close(fd); return r_err(seq, "no huge page to fill (SIGBUS)"); }
			}
			if (a) munmap(a, (size_t)len);
			snprintf(p, sizeof p, "/proc/%d/fd/%d", (int)getpid(), fd);   /* kept open: actors open it here */
		} else {
			if (snprintf(p, sizeof p, "%s/%s", tmpfs ? shmdir : workdir, S(0)) >= (int)sizeof p) return r_err(seq, "path too long");
			fd = open(p, O_RDWR | O_CREAT | O_TRUNC, 0600);
			if (fd < 0) return r_errno(seq, errno);
			if (ftruncate(fd, len) < 0) goto fail;
			int32_t v = (int32_t)N(4);
			for (long long i = 0; i < N(2); i++) {
				ssize_t n = pwrite(fd, &v, 4, i * N(3));
				if (n < 0) goto fail;
				if (n != 4) { close(fd); return r_err(seq, "short"); }
			}
			if (fsync(fd) < 0) goto fail;
			close(fd);
		}
		struct regfile *rf = NULL;
		for (int i = 0; i < sh->nfiles; i++) if (!strcmp(sh->files[i].name, S(0))) rf = &sh->files[i];
		if (!rf && sh->nfiles < TABLE) rf = &sh->files[sh->nfiles];
		if (!rf) return r_err(seq, "too many files");
		memcpy(rf->name, S(0), strlen(S(0)) + 1);     /* badname() checked its length */
		snprintf(rf->path, PATHLEN, "%s", p);
		rf->unit = N(3); rf->tmpfs = tmpfs; rf->hugetlb = huge;
		if (rf == &sh->files[sh->nfiles]) sh->nfiles++;
		return r_ok(seq);
	fail:
		err = errno; close(fd);
		return r_errno(seq, err);
	}
	if (!strcmp(c->op, "writeback")) {               /* sync_file_range(WAIT_BEFORE|WRITE|WAIT_AFTER) + fdatasync */
		if (ctl_file(S(0), &path, &unit) < 0) return r_err(seq, "unknown file %s", S(0));
		int fd = open(path, O_RDWR);
		if (fd < 0) return r_errno(seq, errno);
		if (sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WAIT_BEFORE | SYNC_FILE_RANGE_WRITE | SYNC_FILE_RANGE_WAIT_AFTER) < 0 ||
		    fdatasync(fd) < 0) { err = errno; close(fd); return r_errno(seq, err); }
		close(fd);
		return r_ok(seq);
	}
	if (!strcmp(c->op, "disk")) {                    /* O_DIRECT pread: what the disk (or tmpfs) holds */
		if (ctl_file(S(0), &path, &unit) < 0) return r_err(seq, "unknown file %s", S(0));
		if (N(1) < 0 || N(1) > MAXIDX) return r_err(seq, "bad index");
		int fd = open(path, O_RDONLY | O_DIRECT);
		if (fd < 0) return r_errno(seq, errno);
		ssize_t n = pread(fd, iobuf, 4096, N(1) * unit);
		err = errno;
		close(fd);
		if (n < 0) return r_errno(seq, err);
		if (n != 4096) return r_err(seq, "short");
		int32_t v;
		memcpy(&v, iobuf, 4);
		return r_val(seq, v);
	}
	r_err(seq, "op %s is not handled by the controller", c->op);
}

/* run one command line; returns nothing, always writes exactly one reply */
static void dispatch(const char *line)
{
	struct cmd c;
	const char *e = parse(line, &c);
	if (e) return r_err(c.seq, "%s", e);
	timeout_len = (size_t)snprintf(timeout_line, sizeof timeout_line, "{\"seq\":%lld,\"error\":\"timeout\"}\n", c.seq);
	alarm(30);
	if (c.actor == -1) { controller_cmd(&c); alarm(0); return; }
	int k = c.actor;
	reap_all();
	if (!alive[k]) { alarm(0); return death[k][0] ? r_err(c.seq, "actor %d died: %s", k, death[k]) : r_err(c.seq, "actor %d is not running", k); }
	int child = -1;
	if (!strcmp(c.op, "fork")) {
		child = (int)c.v[3].n;
		if (child < 0 || child >= NACT) { alarm(0); return r_err(c.seq, "child must be 0..7"); }
		if (alive[child]) { alarm(0); return r_err(c.seq, "actor %d already exists", child); }
	}
	char buf[LINELEN + 2];
	size_t n = strlen(line);
	memcpy(buf, line, n);
	buf[n++] = '\n';
	if (write_all(cmdpipe[k][1], buf, n) < 0) { alarm(0); return r_errno(c.seq, errno); }
	char res[1024];
	if (!wait_result(k, res, sizeof res)) {
		alarm(0);
		return r_err(c.seq, "actor %d died: %s", k, death[k][0] ? death[k] : "unknown");
	}
	if (!strcmp(c.op, "exit") && alive[k]) {       /* it replied, now reap it */
		int st;
		if (waitpid(apid[k], &st, 0) == apid[k]) mark_dead(k, st);
		death[k][0] = 0;
	} else if (!strcmp(c.op, "exit")) {
		death[k][0] = 0;
	}
	static const char okval[] = "\"ok\":true,\"value\":";
	const char *okv = strstr(res, okval);
	if (child >= 0 && okv) {                       /* the fork worked: the child is actor C */
		long long pid = strtoll(okv + sizeof okval - 1, NULL, 10);
		apid[child] = (pid_t)pid; alive[child] = 1; death[child][0] = 0;
		sh->pids[child] = (pid_t)pid;
		note_pid((pid_t)pid);
	}
	alarm(0);
	if (write_all(1, res, strlen(res)) < 0) { cleanup(1); _exit(1); }
}

/* machine mode: put this controller (and so its actors) in a cgroup of its own,
 * so that "reclaim" can ask memory.reclaim for everything they use */
static void join_cgroup(void)
{
	if (!exists("/sys/fs/cgroup/cgroup.procs")) return;
	snprintf(cgdir, sizeof cgdir, "/sys/fs/cgroup/pinlab-%d", (int)getpid());
	char p[PATHLEN + 32], v[32];
	if (mkdir(cgdir, 0755) < 0) { cgdir[0] = 0; return; }
	snprintf(p, sizeof p, "%s/cgroup.procs", cgdir);
	snprintf(v, sizeof v, "%d", (int)getpid());
	if (put(p, v)) { rmdir(cgdir); cgdir[0] = 0; }
}
static void leave_cgroup(void)
{
	if (!cgdir[0]) return;
	char v[32];
	snprintf(v, sizeof v, "%d", (int)getpid());
	put("/sys/fs/cgroup/cgroup.procs", v);
	rmdir(cgdir);
}

/* one scenario: the controller reading commands on stdin until EOF */
static int controller_main(const char *wd)
{
	struct stat st;
	if (stat(wd, &st) < 0 || !S_ISDIR(st.st_mode)) { fprintf(stderr, "pinlab-real: %s is not a directory\n", wd); return 2; }
	if (!realpath(wd, workdir) || strlen(workdir) > PATHLEN - 80) { fprintf(stderr, "pinlab-real: bad WORKDIR\n"); return 2; }
	ctl_pid = getpid();
	snprintf(shmdir, sizeof shmdir, "/dev/shm/pinlab-%d", (int)ctl_pid);
	if (machine_mode) join_cgroup();

	struct rlimit rl = { 20, 20 };
	if (setrlimit(RLIMIT_CPU, &rl) < 0) perror("pinlab-real: RLIMIT_CPU");
	rl.rlim_cur = rl.rlim_max = 512;       /* per uid, and not enforced for root; 8 actors at most */
	if (setrlimit(RLIMIT_NPROC, &rl) < 0) perror("pinlab-real: RLIMIT_NPROC");
	rl.rlim_cur = rl.rlim_max = 64 << 20;
	if (setrlimit(RLIMIT_FSIZE, &rl) < 0) perror("pinlab-real: RLIMIT_FSIZE");

	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) { perror("pinlab-real: mmap"); return 2; }
	pinlab_fd = open("/sys/kernel/debug/pinlab", O_RDWR | O_CLOEXEC);   /* a test kernel's device; the actors inherit it */
	if (pinlab_fd >= 0 && ioctl(pinlab_fd, PINLAB_IOC_VERSION) != PINLAB_VERSION) { close(pinlab_fd); pinlab_fd = -1; }
	if (pinlab_fd >= 0) ioctl(pinlab_fd, PINLAB_IOC_RESET);
	for (int k = 0; k < NACT; k++)
		if (pipe(cmdpipe[k]) < 0) { perror("pinlab-real: pipe"); return 2; }
	if (pipe(respipe) < 0) { perror("pinlab-real: pipe"); return 2; }
	if (mkdir(shmdir, 0700) < 0) { perror("pinlab-real: mkdir /dev/shm"); return 2; }

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL); sigaction(SIGXFSZ, &sa, NULL);
	sa.sa_handler = on_chld; sigaction(SIGCHLD, &sa, NULL);
	sa.sa_handler = on_alarm; sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = on_term;
	sigaction(SIGTERM, &sa, NULL); sigaction(SIGINT, &sa, NULL); sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = fault_handler;                  /* the controller fills hugetlb files through a mapping */
	sigaction(SIGSEGV, &sa, NULL); sigaction(SIGBUS, &sa, NULL);
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);

	if (machine_mode) vfio_open();          /* inherited by every actor */
	pid_t p = fork();                       /* actor 0 */
	if (p < 0) { perror("pinlab-real: fork"); cleanup(0); return 2; }
	if (p == 0) {
		int dn = open("/dev/null", O_RDWR);
		if (dn >= 0) { dup2(dn, 0); dup2(dn, 1); close(dn); }
		become_actor(0);
		actor_loop();
	}
	apid[0] = p; alive[0] = 1; sh->pids[0] = p;
	note_pid(p);

	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, stdin)) >= 0) {
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = 0;
		if (!*skipws(line)) continue;
		if (n > LINELEN) { long long sq = -1; sscanf(line, " [ %lld", &sq); r_err(sq, "line too long"); continue; }
		dispatch(line);
	}
	free(line);
	cleanup(1);                                    /* stdin EOF: kill and reap */
	DIR *d = opendir(shmdir);                      /* anything else left in our /dev/shm dir */
	if (d) {
		struct dirent *de;
		while ((de = readdir(d)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
		rmdir(shmdir);
	}
	leave_cgroup();
	return 0;
}

/* ------------------------------------------------------------------ */
/* guest agent (--serve): sessions over a serial port                   */

static int rm_one(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p) < 0 ? 0 : 0;
}

static int tty_fd = -1;
static void tty_reply(const char *line)
{
	if (write_all(tty_fd, line, strlen(line)) < 0) _exit(1);
}
static void agent_reply(long long seq, const char *fmt, ...)
{
	char b[1024], m[900];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(m, sizeof m, fmt, ap);
	va_end(ap);
	snprintf(b, sizeof b, "{\"seq\":%lld,%s}\n", seq, m);
	tty_reply(b);
}

/* Run /selftests/NAME (a program the host appended to the initramfs: the
 * kernel's own selftests, for bench/selftests) and reply with its exit status
 * and its whole output as a JSON string. It runs in a fresh directory on the
 * ext4 disk, in a mount namespace of its own where /tmp is a directory of that
 * disk too (tmpfile() lands on ext4, as on the machine the selftests were read
 * on). No session may be open: the machine is the selftest's meanwhile. */
static void agent_selftest(long long seq, const char *name, const char *root)
{
	for (const char *q = name; *q; q++)
		if (!((*q >= 'a' && *q <= 'z') || *q == '_' || (*q >= '0' && *q <= '9'))) { agent_reply(seq, "\"error\":\"bad selftest name\""); return; }
	char prog[PATHLEN], dir[PATHLEN], tmp[PATHLEN + 8];
	snprintf(prog, sizeof prog, "/selftests/%s", name);
	snprintf(dir, sizeof dir, "%s/selftest", root);
	snprintf(tmp, sizeof tmp, "%s/tmp", dir);
	if (access(prog, X_OK) < 0) { agent_reply(seq, "\"errno\":\"%s\"", strerrorname_np(errno)); return; }
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	if (mkdir(dir, 0755) < 0 || mkdir(tmp, 01777) < 0) { agent_reply(seq, "\"errno\":\"%s\"", strerrorname_np(errno)); return; }
	int out[2];
	if (pipe(out) < 0) { agent_reply(seq, "\"errno\":\"%s\"", strerrorname_np(errno)); return; }
	pid_t pid = fork();
	if (pid == 0) {
		dup2(out[1], 1); dup2(out[1], 2);
		close(out[0]); close(out[1]); close(tty_fd);
		if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount(tmp, "/tmp", NULL, MS_BIND, NULL) < 0 || chdir(dir) < 0) { perror("pinlab-real: selftest setup"); _exit(126); }
		execl(prog, prog, (char *)NULL);
		perror("pinlab-real: exec");
		_exit(127);
	}
	close(out[1]);
	size_t cap = 1 << 16, len = 0;
	char *buf = malloc(cap);
	for (;;) {
		if (len + 4096 > cap) buf = realloc(buf, cap *= 2);
		ssize_t n = read(out[0], buf + len, 4096);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) break;
		len += n;
	}
	close(out[0]);
	int st = 0;
	if (pid > 0) waitpid(pid, &st, 0);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	/* {"seq":S,"ok":true,"value":STATUS,"output":"..."}: JSON-escape the output */
	char *js = malloc(len * 6 + 128), *w = js;
	w += sprintf(w, "{\"seq\":%lld,\"ok\":true,\"value\":%d,\"output\":\"", seq, pid < 0 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = buf[i];
		if (ch == '"' || ch == '\\') { *w++ = '\\'; *w++ = ch; }
		else if (ch == '\n') { *w++ = '\\'; *w++ = 'n'; }
		else if (ch < 0x20 || ch >= 0x7f) w += sprintf(w, "\\u%04x", ch);
		else *w++ = ch;
	}
	strcpy(w, "\"}\n");
	tty_reply(js);
	free(js);
	free(buf);
}

/* Read one line from fd into buf (without the newline); -1 on EOF. */
static int read_line(int fd, char *buf, size_t sz)
{
	size_t k = 0;
	for (;;) {
		char ch;
		ssize_t n = read(fd, &ch, 1);
		if (n < 0 && errno == EINTR) continue;
		if (n <= 0) return -1;
		if (ch == '\n') break;
		if (ch == '\r') continue;
		if (k + 1 < sz) buf[k++] = ch;
	}
	buf[k] = 0;
	return 0;
}

/* The agent reads commands from TTY. Actor -2 addresses the agent itself:
 * hello, open, close, poweroff; any other line goes to the open session (a
 * --machine controller in a fresh directory under WORKROOT) and its one reply
 * comes back. */
static int serve(const char *tty, const char *root)
{
	tty_fd = open(tty, O_RDWR | O_NOCTTY);
	if (tty_fd < 0) { perror("pinlab-real: open tty"); return 2; }
	struct termios t;
	if (tcgetattr(tty_fd, &t) == 0) {
		cfmakeraw(&t);
		cfsetspeed(&t, B115200);
		tcsetattr(tty_fd, TCSANOW, &t);
	}
	tcflush(tty_fd, TCIOFLUSH);                    /* whatever was typed before raw mode */
	signal(SIGPIPE, SIG_IGN);
	pid_t sess = 0;
	int to = -1, from = -1, nsess = 0;
	char sdir[PATHLEN];
	char line[LINELEN + 2], res[LINELEN + 2];
	for (;;) {
		if (read_line(tty_fd, line, sizeof line) < 0) { struct timespec ts = { 0, 100000000 }; nanosleep(&ts, NULL); continue; }
		if (!*skipws(line)) continue;
		struct cmd c;
		const char *e = parse(line, &c);
		if (e && !(c.n >= 3 && !c.v[1].isstr && c.v[1].n == -2)) {
			if (!sess) { agent_reply(c.seq, "\"error\":\"%s\"", e); continue; }
		}
		if (c.n >= 3 && !c.v[1].isstr && c.v[1].n == -2 && c.v[2].isstr) {
			const char *op = c.v[2].s;
			if (!strcmp(op, "hello")) {
				struct utsname u;
				uname(&u);
				agent_reply(c.seq, "\"ok\":true,\"release\":\"%s\",\"version\":\"%s\"", u.release, u.version);
			} else if (!strcmp(op, "open")) {
				if (sess) { agent_reply(c.seq, "\"error\":\"a session is open\""); continue; }
				snprintf(sdir, sizeof sdir, "%s/s%d", root, ++nsess);
				if (mkdir(sdir, 0700) < 0) { agent_reply(c.seq, "\"errno\":\"%s\"", strerrorname_np(errno)); continue; }
				int in[2], out[2];
				if (pipe(in) < 0 || pipe(out) < 0) { agent_reply(c.seq, "\"errno\":\"%s\"", strerrorname_np(errno)); continue; }
				sess = fork();
				if (sess == 0) {
					dup2(in[0], 0); dup2(out[1], 1);
					close(in[0]); close(in[1]); close(out[0]); close(out[1]); close(tty_fd);
					machine_mode = 1;
					_exit(controller_main(sdir));
				}
				close(in[0]); close(out[1]);
				to = in[1]; from = out[0];
				if (sess < 0) { sess = 0; close(to); close(from); agent_reply(c.seq, "\"errno\":\"%s\"", strerrorname_np(errno)); continue; }
				agent_reply(c.seq, "\"ok\":true,\"value\":%d", nsess);
			} else if (!strcmp(op, "close")) {
				int st = 0;
				if (sess) {
					close(to);
					char junk[LINELEN];
					while (read(from, junk, sizeof junk) > 0) {}
					close(from);
					waitpid(sess, &st, 0);
					sess = 0;
					nftw(sdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
				}
				agent_reply(c.seq, "\"ok\":true,\"value\":%d", WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
			} else if (!strcmp(op, "selftest") && c.n >= 4 && c.v[3].isstr) {
				if (sess) agent_reply(c.seq, "\"error\":\"a session is open\"");
				else agent_selftest(c.seq, c.v[3].s, root);
			} else if (!strcmp(op, "poweroff")) {
				agent_reply(c.seq, "\"ok\":true");
				tcdrain(tty_fd);
				sync();
				reboot(RB_POWER_OFF);
				_exit(0);
			} else {
				agent_reply(c.seq, "\"error\":\"unknown agent op\"");
			}
			continue;
		}
		if (!sess) { agent_reply(c.seq, "\"error\":\"no session is open\""); continue; }
		size_t n = strlen(line);
		line[n++] = '\n'; line[n] = 0;
		if (write_all(to, line, n) < 0 || read_line(from, res, sizeof res - 1) < 0) {
			int st = 0;
			close(to); close(from);
			waitpid(sess, &st, 0);
			sess = 0;
			nftw(sdir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
			agent_reply(c.seq, "\"error\":\"the session ended (%s %d)\"", WIFSIGNALED(st) ? "signal" : "status", WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
			continue;
		}
		n = strlen(res);
		res[n++] = '\n'; res[n] = 0;
		tty_reply(res);
	}
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "--pdeathsig")) {   /* exec argv[2..] to die with our parent */
		pid_t parent = getppid();
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent) return 1;
		execvp(argv[2], argv + 2);
		perror("pinlab-real: exec");
		return 127;
	}
	if (argc == 4 && !strcmp(argv[1], "--serve")) return serve(argv[2], argv[3]);
	if (argc == 3 && !strcmp(argv[1], "--machine")) { machine_mode = 1; return controller_main(argv[2]); }
	if (argc != 2) { fprintf(stderr, "usage: %s [--machine] WORKDIR | --serve TTY WORKROOT | --pdeathsig PROG ARGS...\n", argv[0]); return 2; }
	return controller_main(argv[1]);
}
