#include "symbolize.h"

#include <elfutils/libdwfl.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct symbolizer {
	Dwfl *dwfl;
	int pid;
};

/* libdwfl's find_elf callback has no context argument and loads modules
 * lazily (at the first lookup), so the process whose root to use is set
 * around every libdwfl call. faultlined is single-threaded. */
static int current_pid;

static int find_elf(Dwfl_Module *mod, void **userdata, const char *name, Dwarf_Addr base, char **file_name,
		    Elf **elfp)
{
	char path[4200];
	int fd;

	if (name[0] == '/' && current_pid > 0) {
		snprintf(path, sizeof(path), "/proc/%d/root%s", current_pid, name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			*file_name = strdup(path);
			return fd;
		}
	}
	/* Gone with its process, or not allowed: the same path in our own
	 * namespace (right for most processes), or the vDSO. */
	return dwfl_linux_proc_find_elf(mod, userdata, name, base, file_name, elfp);
}

static char *debuginfo_path;
static const Dwfl_Callbacks callbacks = {
	.find_elf = find_elf,
	.find_debuginfo = dwfl_standard_find_debuginfo,
	.debuginfo_path = &debuginfo_path,
};

int symbolizer_open(struct symbolizer **out, int pid, const char *maps)
{
	struct symbolizer *s = calloc(1, sizeof(*s));
	FILE *f;
	int r;

	if (!s)
		return -ENOMEM;
	s->pid = pid;
	s->dwfl = dwfl_begin(&callbacks);
	f = fmemopen((void *)maps, strlen(maps), "r");
	if (!s->dwfl || !f) {
		if (f)
			fclose(f);
		symbolizer_close(s);
		return -ENOMEM;
	}
	current_pid = pid;
	dwfl_report_begin(s->dwfl);
	r = dwfl_linux_proc_maps_report(s->dwfl, f);
	dwfl_report_end(s->dwfl, NULL, NULL);
	fclose(f);
	if (r) {
		symbolizer_close(s);
		return r > 0 ? -r : -EINVAL;
	}
	*out = s;
	return 0;
}

void symbolizer_close(struct symbolizer *s)
{
	if (!s)
		return;
	if (s->dwfl)
		dwfl_end(s->dwfl);
	free(s);
}

bool symbolizer_follows_call(struct symbolizer *s, uint64_t addr)
{
	const unsigned char *img, *b;
	Dwfl_Module *mod;
	GElf_Addr bias;
	GElf_Phdr ph;
	size_t n, size;
	Elf *elf;

	if (!s || addr < 8)
		return false;
	current_pid = s->pid;
	mod = dwfl_addrmodule(s->dwfl, addr - 1);
	elf = mod ? dwfl_module_getelf(mod, &bias) : NULL;
	if (!elf || elf_getphdrnum(elf, &n))
		return false;
	img = (const unsigned char *)elf_rawfile(elf, &size);
	if (!img)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint64_t v = addr - bias, off;

		if (!gelf_getphdr(elf, (int)i, &ph) || ph.p_type != PT_LOAD || !(ph.p_flags & PF_X))
			continue;
		if (v < ph.p_vaddr + 7 || v > ph.p_vaddr + ph.p_filesz)
			continue;
		off = ph.p_offset + (v - ph.p_vaddr);
		if (off > size)
			return false;
		b = img + off;
#if defined(__x86_64__)
		/* call rel32; call *disp32(%rip); call *%reg; call *disp8(%reg) */
		return b[-5] == 0xe8 || (b[-6] == 0xff && b[-5] == 0x15) || (b[-2] == 0xff && (b[-1] & 0xf8) == 0xd0) ||
		       (b[-3] == 0xff && (b[-2] & 0xf8) == 0x50);
#else
		return true; /* in code: the best this build can tell */
#endif
	}
	return false;
}

void symbolizer_frame_raw(uint64_t addr, struct sym_frame *f)
{
	memset(f, 0, sizeof(*f));
	f->addr = addr;
	snprintf(f->label, sizeof(f->label), "0x%llx", (unsigned long long)addr);
}

static void module_build_id(Dwfl_Module *mod, char *hex, size_t len)
{
	const unsigned char *bits;
	GElf_Addr vaddr;
	int n = dwfl_module_build_id(mod, &bits, &vaddr);

	hex[0] = 0;
	for (int i = 0; i < n && (size_t)(2 * i + 2) < len; i++)
		snprintf(hex + 2 * i, 3, "%02x", bits[i]);
}

void symbolizer_frame(struct symbolizer *s, uint64_t addr, bool return_addr, struct sym_frame *f)
{
	uint64_t look = return_addr && addr ? addr - 1 : addr;
	Dwfl_Module *mod;
	Dwarf_Addr start = 0;
	const char *name, *sym_name, *base;
	GElf_Off off;
	GElf_Sym sym;

	symbolizer_frame_raw(addr, f);
	if (!s)
		return;
	current_pid = s->pid;
	mod = dwfl_addrmodule(s->dwfl, look);
	if (!mod)
		return;
	name = dwfl_module_info(mod, NULL, &start, NULL, NULL, NULL, NULL, NULL);
	base = name ? strrchr(name, '/') : NULL;
	snprintf(f->module, sizeof(f->module), "%s", base ? base + 1 : name ? name : "?");
	f->has_module = true;
	f->offset = addr - start;
	module_build_id(mod, f->build_id, sizeof(f->build_id));
	sym_name = dwfl_module_addrinfo(mod, look, &off, &sym, NULL, NULL, NULL);
	/* Only functions: a stripped binary's nearest symbol is often data. */
	if (sym_name && (GELF_ST_TYPE(sym.st_info) == STT_FUNC || GELF_ST_TYPE(sym.st_info) == STT_GNU_IFUNC)) {
		snprintf(f->symbol, sizeof(f->symbol), "%s", sym_name);
		f->has_symbol = true;
		snprintf(f->label, sizeof(f->label), "%s", sym_name);
	} else {
		snprintf(f->label, sizeof(f->label), "%s+0x%llx", f->module, (unsigned long long)f->offset);
	}
}
