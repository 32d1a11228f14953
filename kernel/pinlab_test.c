// SPDX-License-Identifier: GPL-2.0
/*
 * pinlab's pinning test device, built into pinlab's test kernels (6.1 and
 * 6.12; `pinlab vm build`). Through /sys/kernel/debug/pinlab the native runner
 * can do what a driver does and user space cannot:
 *
 *  - take pages with get_user_pages(), get_user_pages_fast(),
 *    get_user_pages_remote(), pin_user_pages(), pin_user_pages_fast() or
 *    pin_user_pages_remote(), with the FOLL_* flags it asks for, and hold them
 *    in a numbered handle;
 *  - read and write a held page as a device would, through a kernel mapping of
 *    the page (kmap_local_page), never through the process's page tables;
 *  - release a handle with unpin_user_pages(), unpin_user_pages_dirty_lock(),
 *    put_page(), or set_page_dirty_lock() + put_page() (the FOLL_GET era);
 *  - run a secondary MMU on mmu_interval_notifier the way KVM does: a fault
 *    looks the page up by GUP (GUP-fast for writing first, as
 *    hva_to_pfn_fast()), keeps no reference, retries when an invalidation ran
 *    meanwhile; an invalidation drops the SPTE and, if the SPTE was written,
 *    SetPageDirty() as kvm_set_page_dirty() does;
 *  - make the kernel do work user space has no door for: memory_failure() of
 *    one page, reclaim of one page, migration of one page, writeback of a file.
 *
 * The only users are pinlab's test kernels under QEMU: this is a test device,
 * it trusts its caller (root) and is not meant for any other kernel.
 */

#include <linux/debugfs.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/init.h>
#include <linux/migrate.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/mutex.h>
#include <linux/pagemap.h>
#include <linux/sched/mm.h>
#include <linux/spinlock.h>
#include <linux/swap.h>
#include <linux/uaccess.h>
#include <linux/version.h>
#include "internal.h"
#include "pinlab_test.h"

struct pinlab_handle {
	bool used;
	bool pinned;		/* FOLL_PIN (unpin) or FOLL_GET (put_page) */
	unsigned int nr;
	struct page *pages[PINLAB_PAGES];
};

struct pinlab_spte {
	unsigned long addr;	/* page-aligned user address; 0: free */
	struct page *page;	/* no reference held: the notifier guards it */
	bool writable;
	bool dirty;
};

struct pinlab_smmu_state {
	bool active;
	struct mmu_interval_notifier notifier;
	spinlock_t lock;	/* the "mmu_lock": SPTEs and their pages */
	struct pinlab_spte sptes[PINLAB_SPTES];
	unsigned int invalidations, faults;
};

static DEFINE_MUTEX(pinlab_mutex);
static struct pinlab_handle pinlab_handles[PINLAB_HANDLES];
static struct pinlab_smmu_state pinlab_smmus[PINLAB_SMMUS];

/* pinlab's flag bits to this kernel's FOLL_* values */
static int pinlab_foll(u32 f, unsigned int *out)
{
	unsigned int r = 0;

	if (f & PINLAB_FOLL_WRITE)
		r |= FOLL_WRITE;
	if (f & PINLAB_FOLL_FORCE)
		r |= FOLL_FORCE;
	if (f & PINLAB_FOLL_LONGTERM)
		r |= FOLL_LONGTERM;
	if (f & PINLAB_FOLL_ANON)
		r |= FOLL_ANON;
	if (f & PINLAB_FOLL_TOUCH)
		r |= FOLL_TOUCH;
	if (f & PINLAB_FOLL_REMOTE)
		r |= FOLL_REMOTE;
	if (f & PINLAB_FOLL_GET)
		r |= FOLL_GET;
	if (f & PINLAB_FOLL_PCI_P2PDMA) {
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
		r |= FOLL_PCI_P2PDMA;
#else
		return -EOPNOTSUPP;
#endif
	}
	*out = r;
	return 0;
}

static struct mm_struct *pinlab_task_mm(pid_t pid)
{
	struct task_struct *t;
	struct mm_struct *mm;

	rcu_read_lock();
	t = find_task_by_vpid(pid);
	if (t)
		get_task_struct(t);
	rcu_read_unlock();
	if (!t)
		return NULL;
	mm = get_task_mm(t);
	put_task_struct(t);
	return mm;
}

/* The GUP call itself, as a driver makes it; the mmap lock is held where the API wants it held. */
static long pinlab_do_gup(struct pinlab_gup *g, unsigned int foll, struct page **pages)
{
	struct mm_struct *mm;
	long ret;

	switch (g->kind) {
	case PINLAB_GET_USER_PAGES_FAST:
		return get_user_pages_fast(g->addr, g->nr, foll, pages);
	case PINLAB_PIN_USER_PAGES_FAST:
		return pin_user_pages_fast(g->addr, g->nr, foll, pages);
	case PINLAB_GET_USER_PAGES:
	case PINLAB_PIN_USER_PAGES:
		mmap_read_lock(current->mm);
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
		if (g->kind == PINLAB_GET_USER_PAGES)
			ret = get_user_pages(g->addr, g->nr, foll, pages);
		else
			ret = pin_user_pages(g->addr, g->nr, foll, pages);
#else
		if (g->kind == PINLAB_GET_USER_PAGES)
			ret = get_user_pages(g->addr, g->nr, foll, pages, NULL);
		else
			ret = pin_user_pages(g->addr, g->nr, foll, pages, NULL);
#endif
		mmap_read_unlock(current->mm);
		return ret;
	case PINLAB_GET_USER_PAGES_REMOTE:
	case PINLAB_PIN_USER_PAGES_REMOTE:
		mm = pinlab_task_mm(g->pid);
		if (!mm)
			return -ESRCH;
		mmap_read_lock(mm);
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
		if (g->kind == PINLAB_GET_USER_PAGES_REMOTE)
			ret = get_user_pages_remote(mm, g->addr, g->nr, foll, pages, NULL);
		else
			ret = pin_user_pages_remote(mm, g->addr, g->nr, foll, pages, NULL);
#else
		if (g->kind == PINLAB_GET_USER_PAGES_REMOTE)
			ret = get_user_pages_remote(mm, g->addr, g->nr, foll, pages, NULL, NULL);
		else
			ret = pin_user_pages_remote(mm, g->addr, g->nr, foll, pages, NULL, NULL);
#endif
		mmap_read_unlock(mm);
		mmput(mm);
		return ret;
	}
	return -EINVAL;
}

static long pinlab_gup(struct pinlab_gup *g)
{
	struct pinlab_handle *h;
	unsigned int foll;
	long ret;

	if (g->handle >= PINLAB_HANDLES || !g->nr || g->nr > PINLAB_PAGES || g->kind > PINLAB_PIN_USER_PAGES_REMOTE)
		return -EINVAL;
	h = &pinlab_handles[g->handle];
	if (h->used)
		return -EBUSY;
	ret = pinlab_foll(g->flags, &foll);
	if (ret)
		return ret;
	memset(h->pages, 0, sizeof(h->pages));
	ret = pinlab_do_gup(g, foll, h->pages);
	g->ret = ret;
	if (ret > 0) {
		h->used = true;
		h->nr = ret;
		h->pinned = g->kind >= PINLAB_PIN_USER_PAGES;
	} else if (ret == 0) {
		/* no pages and no error (pin_user_pages() on bad flags, 6.3+): an empty handle */
		h->used = true;
		h->nr = 0;
		h->pinned = g->kind >= PINLAB_PIN_USER_PAGES;
	}
	return 0;
}

static long pinlab_release(struct pinlab_release *r)
{
	struct pinlab_handle *h;
	unsigned int i;

	if (r->handle >= PINLAB_HANDLES || r->mode > PINLAB_SET_DIRTY_PUT)
		return -EINVAL;
	h = &pinlab_handles[r->handle];
	if (!h->used)
		return -ENOENT;
	if (h->pinned && r->mode >= PINLAB_PUT_PAGE)
		return -EINVAL; /* a pin is never put_page()d */
	if (!h->pinned && r->mode <= PINLAB_UNPIN_DIRTY_LOCK)
		return -EINVAL;
	switch (r->mode) {
	case PINLAB_UNPIN:
		unpin_user_pages(h->pages, h->nr);
		break;
	case PINLAB_UNPIN_DIRTY_LOCK:
		unpin_user_pages_dirty_lock(h->pages, h->nr, true);
		break;
	case PINLAB_SET_DIRTY_PUT:
		for (i = 0; i < h->nr; i++)
			set_page_dirty_lock(h->pages[i]);
		fallthrough;
	case PINLAB_PUT_PAGE:
		for (i = 0; i < h->nr; i++)
			put_page(h->pages[i]);
		break;
	}
	h->used = false;
	h->nr = 0;
	r->ret = 0;
	return 0;
}

static long pinlab_dma(struct pinlab_dma *d)
{
	struct pinlab_handle *h;
	void *k;

	if (d->handle >= PINLAB_HANDLES || d->offset > PAGE_SIZE - sizeof(u32))
		return -EINVAL;
	h = &pinlab_handles[d->handle];
	if (!h->used)
		return -ENOENT;
	if (d->index >= h->nr)
		return -EINVAL;
	k = kmap_local_page(h->pages[d->index]);
	if (d->write)
		memcpy(k + d->offset, &d->value, sizeof(u32));
	else
		memcpy(&d->value, k + d->offset, sizeof(u32));
	kunmap_local(k);
	d->ret = 0;
	return 0;
}

/* ---- the secondary MMU */

static bool pinlab_invalidate(struct mmu_interval_notifier *mni, const struct mmu_notifier_range *range, unsigned long cur_seq)
{
	struct pinlab_smmu_state *s = container_of(mni, struct pinlab_smmu_state, notifier);
	unsigned int i;

	spin_lock(&s->lock);
	mmu_interval_set_seq(mni, cur_seq);
	for (i = 0; i < PINLAB_SPTES; i++) {
		struct pinlab_spte *e = &s->sptes[i];

		if (!e->addr || e->addr < range->start || e->addr >= range->end)
			continue;
		/* kvm_unmap_gfn_range(): a written SPTE dirties its page (kvm_set_page_dirty: SetPageDirty) */
		if (e->dirty)
			SetPageDirty(e->page);
		e->addr = 0;
		e->page = NULL;
		s->invalidations++;
	}
	spin_unlock(&s->lock);
	return true;
}

static const struct mmu_interval_notifier_ops pinlab_mni_ops = {
	.invalidate = pinlab_invalidate,
};

static struct pinlab_spte *pinlab_spte_find(struct pinlab_smmu_state *s, unsigned long addr)
{
	unsigned int i;

	for (i = 0; i < PINLAB_SPTES; i++)
		if (s->sptes[i].addr == addr)
			return &s->sptes[i];
	return NULL;
}

/*
 * The secondary fault (kvm_faultin_pfn + the SPTE install under mmu_lock):
 * GUP-fast for writing first (hva_to_pfn_fast), else the slow path, writable
 * only if asked to write; no reference kept; retried if an invalidation ran.
 * Called with s->lock not held. Returns 0 or -errno.
 */
static int pinlab_smmu_fault(struct pinlab_smmu_state *s, unsigned long addr, bool write)
{
	struct pinlab_spte *e;
	struct page *page;
	unsigned long seq;
	bool writable;
	long n;
	unsigned int i;

	for (;;) {
		seq = mmu_interval_read_begin(&s->notifier);
		writable = true;
		n = get_user_pages_fast(addr, 1, FOLL_WRITE, &page);
		if (n != 1) {
			writable = write;
			mmap_read_lock(current->mm);
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
			n = get_user_pages(addr, 1, write ? FOLL_WRITE | FOLL_HWPOISON : FOLL_HWPOISON, &page);
#else
			n = get_user_pages(addr, 1, write ? FOLL_WRITE | FOLL_HWPOISON : FOLL_HWPOISON, &page, NULL);
#endif
			mmap_read_unlock(current->mm);
			if (n != 1)
				return n < 0 ? (int)n : -EFAULT;
		}
		s->faults++;
		spin_lock(&s->lock);
		if (mmu_interval_read_retry(&s->notifier, seq)) {
			spin_unlock(&s->lock);
			put_page(page);
			continue;
		}
		e = pinlab_spte_find(s, addr);
		if (!e) {
			for (i = 0; i < PINLAB_SPTES && s->sptes[i].addr; i++)
				;
			if (i == PINLAB_SPTES) {
				spin_unlock(&s->lock);
				put_page(page);
				return -ENOSPC;
			}
			e = &s->sptes[i];
		}
		e->addr = addr;
		e->page = page;
		e->writable = writable;
		e->dirty = false;
		spin_unlock(&s->lock);
		put_page(page); /* kvm_release_pfn_clean(): the SPTE holds no reference */
		return 0;
	}
}

static long pinlab_smmu(struct pinlab_smmu *m)
{
	struct pinlab_smmu_state *s;
	unsigned long addr = m->addr & PAGE_MASK;
	unsigned long off = m->addr & ~PAGE_MASK;
	struct pinlab_spte *e;
	unsigned int i;
	void *k;
	int err;

	if (m->id >= PINLAB_SMMUS || off > PAGE_SIZE - sizeof(u32))
		return -EINVAL;
	s = &pinlab_smmus[m->id];
	if (m->op == PINLAB_SMMU_STATS) {
		m->invalidations = s->invalidations;
		m->faults = s->faults;
		m->ret = 0;
		return 0;
	}
	if (m->op == PINLAB_SMMU_FREE) {
		if (s->active) {
			mmu_interval_notifier_remove(&s->notifier);
			s->active = false;
		}
		memset(s->sptes, 0, sizeof(s->sptes));
		s->invalidations = s->faults = 0;
		m->ret = 0;
		return 0;
	}
	if (!s->active) {
		spin_lock_init(&s->lock);
		memset(s->sptes, 0, sizeof(s->sptes));
		s->invalidations = s->faults = 0;
		err = mmu_interval_notifier_insert(&s->notifier, current->mm, PAGE_SIZE, TASK_SIZE - PAGE_SIZE, &pinlab_mni_ops);
		if (err)
			return err;
		s->active = true;
	} else if (s->notifier.mm != current->mm) {
		return -EXDEV; /* a secondary MMU follows one process */
	}
	for (i = 0; i < 8; i++) {
		bool write = m->op == PINLAB_SMMU_WRITE;

		spin_lock(&s->lock);
		e = pinlab_spte_find(s, addr);
		if (m->op != PINLAB_SMMU_MAP && e && (!write || e->writable)) {
			k = kmap_local_page(e->page);
			if (write) {
				memcpy(k + off, &m->value, sizeof(u32));
				e->dirty = true;
			} else {
				memcpy(&m->value, k + off, sizeof(u32));
			}
			kunmap_local(k);
			spin_unlock(&s->lock);
			m->ret = 0;
			return 0;
		}
		if (m->op == PINLAB_SMMU_MAP && e) {
			spin_unlock(&s->lock);
			m->ret = 0;
			return 0;
		}
		spin_unlock(&s->lock);
		err = pinlab_smmu_fault(s, addr, write);
		if (err) {
			m->ret = err;
			return 0;
		}
		if (m->op == PINLAB_SMMU_MAP) {
			m->ret = 0;
			return 0;
		}
	}
	m->ret = -EAGAIN;
	return 0;
}

/* ---- kernel work without a user-space door */

static struct page *pinlab_page_at(unsigned long addr)
{
	struct page *page;
	long n;

	mmap_read_lock(current->mm);
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
	n = get_user_pages(addr, 1, 0, &page);
#else
	n = get_user_pages(addr, 1, 0, &page, NULL);
#endif
	mmap_read_unlock(current->mm);
	return n == 1 ? page : NULL;
}

/* Take the folio off the LRU for reclaim or migration; drops the lookup's reference. */
static bool pinlab_isolate(struct page *page, struct list_head *list)
{
	struct folio *folio = page_folio(page);
	bool ok;

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 5, 0)
	ok = folio_isolate_lru(folio);
#else
	ok = folio_isolate_lru(folio) == 0;
#endif
	if (ok)
		list_add(&folio->lru, list);
	put_page(page);
	return ok;
}

static long pinlab_sys(struct pinlab_sys *y)
{
	struct page *page;
	LIST_HEAD(list);
	struct file *f;
	int nid;

	switch (y->op) {
	case PINLAB_SYS_MEMORY_FAILURE:
		page = pinlab_page_at(y->addr);
		if (!page)
			return -EFAULT;
		{
			unsigned long pfn = page_to_pfn(page);

			put_page(page);
			y->ret = memory_failure(pfn, 0);
		}
		return 0;
	case PINLAB_SYS_RECLAIM:
		page = pinlab_page_at(y->addr);
		if (!page)
			return -EFAULT;
		if (!pinlab_isolate(page, &list)) {
			y->ret = -EBUSY;
			return 0;
		}
		y->ret = reclaim_pages(&list) ? 0 : -EAGAIN;
		return 0;
	case PINLAB_SYS_MIGRATE: {
		struct migration_target_control mtc = {
			.gfp_mask = GFP_HIGHUSER_MOVABLE | __GFP_THISNODE,
		};

		page = pinlab_page_at(y->addr);
		if (!page)
			return -EFAULT;
		nid = page_to_nid(page);
		mtc.nid = nid;
		if (!pinlab_isolate(page, &list)) {
			y->ret = -EBUSY;
			return 0;
		}
		y->ret = migrate_pages(&list, alloc_migration_target, NULL, (unsigned long)&mtc, MIGRATE_SYNC, MR_SYSCALL, NULL);
		if (y->ret) {
			putback_movable_pages(&list);
			if (y->ret > 0)
				y->ret = -EAGAIN;
		}
		return 0;
	}
	case PINLAB_SYS_WRITEBACK:
		f = fget(y->fd);
		if (!f)
			return -EBADF;
		y->ret = filemap_write_and_wait(f->f_mapping);
		fput(f);
		return 0;
	}
	return -EINVAL;
}

/* Between two scenarios: give back whatever the last one left held. */
static void pinlab_reset(void)
{
	unsigned int i;

	mutex_lock(&pinlab_mutex);
	for (i = 0; i < PINLAB_HANDLES; i++) {
		struct pinlab_handle *h = &pinlab_handles[i];
		unsigned int j;

		if (!h->used)
			continue;
		if (h->pinned)
			unpin_user_pages(h->pages, h->nr);
		else
			for (j = 0; j < h->nr; j++)
				put_page(h->pages[j]);
		h->used = false;
		h->nr = 0;
	}
	for (i = 0; i < PINLAB_SMMUS; i++) {
		struct pinlab_smmu_state *s = &pinlab_smmus[i];

		if (s->active)
			mmu_interval_notifier_remove(&s->notifier);
		s->active = false;
		memset(s->sptes, 0, sizeof(s->sptes));
		s->invalidations = s->faults = 0;
	}
	mutex_unlock(&pinlab_mutex);
}

static long pinlab_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *u = (void __user *)arg;
	union {
		struct pinlab_gup gup;
		struct pinlab_release release;
		struct pinlab_dma dma;
		struct pinlab_smmu smmu;
		struct pinlab_sys sys;
	} a;
	size_t size = _IOC_SIZE(cmd);
	long ret;

	if (cmd == PINLAB_IOC_VERSION)
		return PINLAB_VERSION;
	if (cmd == PINLAB_IOC_RESET) {
		pinlab_reset();
		return 0;
	}
	if (size > sizeof(a))
		return -EINVAL;
	if (copy_from_user(&a, u, size))
		return -EFAULT;
	mutex_lock(&pinlab_mutex);
	switch (cmd) {
	case PINLAB_IOC_GUP:
		ret = pinlab_gup(&a.gup);
		break;
	case PINLAB_IOC_RELEASE:
		ret = pinlab_release(&a.release);
		break;
	case PINLAB_IOC_DMA:
		ret = pinlab_dma(&a.dma);
		break;
	case PINLAB_IOC_SMMU:
		ret = pinlab_smmu(&a.smmu);
		break;
	case PINLAB_IOC_SYS:
		ret = pinlab_sys(&a.sys);
		break;
	default:
		ret = -ENOTTY;
	}
	mutex_unlock(&pinlab_mutex);
	if (!ret && copy_to_user(u, &a, size))
		ret = -EFAULT;
	return ret;
}

static const struct file_operations pinlab_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = pinlab_ioctl,
};

static int __init pinlab_test_init(void)
{
	debugfs_create_file("pinlab", 0600, NULL, NULL, &pinlab_fops);
	return 0;
}
late_initcall(pinlab_test_init);
