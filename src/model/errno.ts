// errno values (include/uapi/asm-generic/errno-base.h, errno.h) and the
// signal outcomes of CPU accesses. Kernel paths return -errno on failure.

export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EIO = 5;
export const ENXIO = 6;
export const E2BIG = 7;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const ETXTBSY = 26;
export const EFBIG = 27;
export const ENOSPC = 28;
export const ESPIPE = 29;
export const EROFS = 30;
export const EMLINK = 31;
export const ERANGE = 34;
export const ENOSYS = 38;
export const EOPNOTSUPP = 95;
export const EREMOTEIO = 121;
export const EHWPOISON = 133;

export const ERRNO_BY_NAME: Record<string, number> = {
  EPERM, ENOENT, EINTR, EIO, ENXIO, E2BIG, EBADF, EAGAIN, ENOMEM, EACCES, EFAULT, EBUSY, EEXIST, ENODEV,
  EINVAL, ETXTBSY, EFBIG, ENOSPC, ESPIPE, EROFS, EMLINK, ERANGE, ENOSYS, EOPNOTSUPP, EREMOTEIO, EHWPOISON,
};
export const ERRNO_NAME: Record<number, string> = Object.fromEntries(
  Object.entries(ERRNO_BY_NAME).map(([n, v]) => [v, n]),
);

/** Signals a CPU access can raise (the model keeps the process running). */
export const SIGSEGV = 11;
export const SIGBUS = 7;
export const SIGNAL_NAME: Record<number, string> = { [SIGSEGV]: 'SIGSEGV', [SIGBUS]: 'SIGBUS' };
export const SIGNAL_BY_NAME: Record<string, number> = { SIGSEGV, SIGBUS };
