/*
 * /bin/true and /bin/false for the kernel-matrix initramfs (-DSTATUS=1 for false).
 *
 * Busybox would provide both as symlinks to itself, but a busybox applet picks
 * what to run from its own name: a test that copies /bin/true to another name
 * (an unlinked or a memfd executable) gets "applet not found" instead of a clean
 * exit. A real, tiny ELF behaves as /bin/true does on a host. No libc, no
 * loader: it only makes the exit_group system call.
 */
#ifndef STATUS
#define STATUS 0
#endif

void _start(void);

void _start(void)
{
	__asm__ volatile("syscall" : : "a"(231), "D"(STATUS) : "rcx", "r11", "memory");
	__builtin_unreachable();
}
