/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * pinlab's pinning test device: the interface shared by the driver
 * (kernel/pinlab_test.c, built into pinlab's test kernels) and the native
 * runner (native/pinlab-real.c). One debugfs file, /sys/kernel/debug/pinlab,
 * and one ioctl per operation. See native/PROTOCOL.md.
 */
#ifndef PINLAB_TEST_H
#define PINLAB_TEST_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define PINLAB_VERSION 1
#define PINLAB_HANDLES 64 /* pin handles: pages held on behalf of a "driver" */
#define PINLAB_PAGES 16	  /* pages per handle */
#define PINLAB_SMMUS 4	  /* secondary MMUs */
#define PINLAB_SPTES 64	  /* pages one secondary MMU maps */

/* How pages are taken (struct pinlab_gup.kind) */
#define PINLAB_GET_USER_PAGES 0
#define PINLAB_GET_USER_PAGES_FAST 1
#define PINLAB_GET_USER_PAGES_REMOTE 2
#define PINLAB_PIN_USER_PAGES 3
#define PINLAB_PIN_USER_PAGES_FAST 4
#define PINLAB_PIN_USER_PAGES_REMOTE 5

/*
 * pinlab's own flag bits (struct pinlab_gup.flags). The driver maps them to
 * the kernel's FOLL_* values, which differ between versions; a flag this
 * kernel does not have (FOLL_PCI_P2PDMA before 6.2) fails with EOPNOTSUPP.
 */
#define PINLAB_FOLL_WRITE 0x01
#define PINLAB_FOLL_FORCE 0x02
#define PINLAB_FOLL_LONGTERM 0x04
#define PINLAB_FOLL_ANON 0x08
#define PINLAB_FOLL_TOUCH 0x10
#define PINLAB_FOLL_REMOTE 0x20
#define PINLAB_FOLL_PCI_P2PDMA 0x40
#define PINLAB_FOLL_GET 0x80 /* passed as is: lets a scenario ask for FOLL_GET|FOLL_PIN */

struct pinlab_gup {
	__u32 handle;	/* in: 0 .. PINLAB_HANDLES-1, must be free */
	__u32 kind;	/* in: PINLAB_GET_USER_PAGES ... */
	__u32 flags;	/* in: PINLAB_FOLL_* */
	__u32 nr;	/* in: pages, 1 .. PINLAB_PAGES */
	__s32 pid;	/* in: the target process of the _remote kinds */
	__u32 pad;
	__u64 addr;	/* in: user address */
	__s64 ret;	/* out: what the GUP call returned (pages taken, or -errno) */
};

/* Release modes (struct pinlab_release.mode) */
#define PINLAB_UNPIN 0		  /* unpin_user_pages() */
#define PINLAB_UNPIN_DIRTY_LOCK 1 /* unpin_user_pages_dirty_lock(.., true) */
#define PINLAB_PUT_PAGE 2	  /* put_page() on each */
#define PINLAB_SET_DIRTY_PUT 3	  /* set_page_dirty_lock() then put_page() */

struct pinlab_release {
	__u32 handle;
	__u32 mode;
	__s64 ret;
};

/* A device access through a held page (a kernel mapping of it, not the process's). */
struct pinlab_dma {
	__u32 handle;
	__u32 index;	/* page of the handle */
	__u32 write;	/* 1: store value; 0: load it */
	__u32 value;	/* in (write) / out (read): the 4 bytes at offset */
	__u64 offset;	/* byte offset in the page */
	__s64 ret;
};

/* A KVM-like secondary MMU on mmu_interval_notifier, in the calling process's mm. */
#define PINLAB_SMMU_MAP 0   /* fault the page in (as KVM: writable if it can be) */
#define PINLAB_SMMU_READ 1  /* read through the SPTE, faulting first if there is none */
#define PINLAB_SMMU_WRITE 2 /* write through it, faulting for write if it is read-only */
#define PINLAB_SMMU_STATS 3 /* out: invalidations, faults */
#define PINLAB_SMMU_FREE 4  /* drop every SPTE and the notifier */

struct pinlab_smmu {
	__u32 id;	/* 0 .. PINLAB_SMMUS-1 */
	__u32 op;
	__u64 addr;	/* user address of the page (offset within it for read/write) */
	__u32 value;	/* in (write) / out (read) */
	__u32 invalidations; /* out: notifier invalidations that hit an SPTE */
	__u32 faults;	/* out: secondary faults taken */
	__u32 pad;
	__s64 ret;
};

/* Kernel work with no user-space door, on the calling process's page at addr. */
#define PINLAB_SYS_MEMORY_FAILURE 0 /* memory_failure(pfn, 0) */
#define PINLAB_SYS_RECLAIM 1	    /* isolate the folio, reclaim_pages() */
#define PINLAB_SYS_MIGRATE 2	    /* isolate the folio, migrate_pages() within its node */
#define PINLAB_SYS_WRITEBACK 3	    /* fd: filemap_write_and_wait() of the file */

struct pinlab_sys {
	__u32 op;
	__s32 fd;
	__u64 addr;
	__s64 ret;
};

#define PINLAB_IOC_GUP _IOWR('P', 1, struct pinlab_gup)
#define PINLAB_IOC_RELEASE _IOWR('P', 2, struct pinlab_release)
#define PINLAB_IOC_DMA _IOWR('P', 3, struct pinlab_dma)
#define PINLAB_IOC_SMMU _IOWR('P', 4, struct pinlab_smmu)
#define PINLAB_IOC_SYS _IOWR('P', 5, struct pinlab_sys)
#define PINLAB_IOC_VERSION _IO('P', 6)
#define PINLAB_IOC_RESET _IO('P', 7) /* release every handle (unpin or put_page) and free every secondary MMU */

#endif
