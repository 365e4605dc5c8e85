/*
 * libgrowpaths.so: a shared library of the grow_paths workload's own, so a
 * trace must symbolize a function in a library loaded at a random address.
 */
#include <stddef.h>
#include <sys/mman.h>

/* Maps BYTES of anonymous memory and writes one byte per page. */
__attribute__((noipa)) void *lib_fill_pages(size_t bytes, size_t page)
{
	char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	madvise(p, bytes, MADV_NOHUGEPAGE); /* one fault per page, exactly */
	for (size_t off = 0; off < bytes; off += page)
		((volatile char *)p)[off] = 1;
	return p;
}
