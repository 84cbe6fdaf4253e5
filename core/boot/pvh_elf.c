/* SPDX-License-Identifier: MIT */
/*
 * Reading a PVH kernel's ELF headers. The file is untrusted: every offset and size is
 * checked against the buffer before use, with arithmetic that cannot wrap, and headers
 * are copied out with memcpy so no unaligned structure is ever dereferenced.
 */
#include <elf.h>
#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include "boot/pvh.h"
#include "boot/start_info.h"
#include "util/error.h"

/* The fields we need from either ELF class. */
typedef struct elf_phdr {
    uint32_t type;
    uint64_t offset;
    uint64_t paddr;
    uint64_t filesz;
    uint64_t memsz;
} elf_phdr;

/* Does [off, off + size) lie inside a buffer of len bytes? */
static bool in_bounds(size_t len, uint64_t off, uint64_t size)
{
    return off <= len && size <= len - off;
}

static int fail(GError **err, const char *name, const char *what)
{
    g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "%s: %s", name, what);
    return -EINVAL;
}

static void read_phdr(const uint8_t *p, bool is64, elf_phdr *out)
{
    if (is64) {
        Elf64_Phdr ph;
        memcpy(&ph, p, sizeof(ph));
        *out = (elf_phdr){ ph.p_type, ph.p_offset, ph.p_paddr, ph.p_filesz, ph.p_memsz };
    } else {
        Elf32_Phdr ph;
        memcpy(&ph, p, sizeof(ph));
        *out = (elf_phdr){ ph.p_type, ph.p_offset, ph.p_paddr, ph.p_filesz, ph.p_memsz };
    }
}

/*
 * Looks for the PHYS32_ENTRY note in one PT_NOTE segment (already bounds-checked).
 * Returns 1 when found, 0 when not, -EINVAL on a malformed note.
 */
static int find_entry_note(const uint8_t *notes, uint64_t size, const char *name,
                           uint32_t *entry, GError **err)
{
    uint64_t pos = 0;

    while (size - pos >= 12) {
        uint32_t namesz, descsz, type;
        memcpy(&namesz, notes + pos, 4);
        memcpy(&descsz, notes + pos + 4, 4);
        memcpy(&type, notes + pos + 8, 4);
        pos += 12;
        /* Name and descriptor are each padded to 4 bytes; sizes are 32-bit so no wrap in 64. */
        uint64_t name_room = ((uint64_t)namesz + 3) & ~3ull;
        uint64_t desc_room = ((uint64_t)descsz + 3) & ~3ull;
        if (name_room > size - pos || desc_room > size - pos - name_room)
            return fail(err, name, "ELF note runs past its segment (the file is corrupt)");
        const uint8_t *n = notes + pos, *d = notes + pos + name_room;
        pos += name_room + desc_room;
        if (type != XEN_ELFNOTE_PHYS32_ENTRY || namesz != 4 || memcmp(n, "Xen", 4))
            continue;
        if (descsz == 4) {
            memcpy(entry, d, 4);
        } else if (descsz == 8) {
            uint64_t e;
            memcpy(&e, d, 8);
            if (e > UINT32_MAX)
                return fail(err, name, "PVH entry point lies above 4 GiB; it must be a 32-bit address");
            *entry = (uint32_t)e;
        } else {
            return fail(err, name, "PVH entry note has a descriptor that is neither 4 nor 8 bytes");
        }
        return 1;
    }
    return 0;
}

int pvh_parse(const void *buf, size_t len, const char *name, pvh_image *img, GError **err)
{
    const uint8_t *b = buf;
    bool is64, have_entry = false;
    uint64_t phoff;
    unsigned phnum, phentsize, phdr_size;
    uint16_t machine, type;

    memset(img, 0, sizeof(*img));
    if (len < EI_NIDENT || memcmp(b, ELFMAG, SELFMAG))
        return fail(err, name, "not an ELF file; -kernel takes a PVH ELF image (or a bzImage)");
    if (b[EI_CLASS] != ELFCLASS32 && b[EI_CLASS] != ELFCLASS64)
        return fail(err, name, "unknown ELF class; expected a 32- or 64-bit x86 ELF");
    if (b[EI_DATA] != ELFDATA2LSB || b[EI_VERSION] != EV_CURRENT)
        return fail(err, name, "not a little-endian ELF version 1 file; expected an x86 ELF");
    is64 = b[EI_CLASS] == ELFCLASS64;

    if (is64) {
        Elf64_Ehdr eh;
        if (len < sizeof(eh))
            return fail(err, name, "truncated ELF header");
        memcpy(&eh, b, sizeof(eh));
        type = eh.e_type, machine = eh.e_machine;
        phoff = eh.e_phoff, phnum = eh.e_phnum, phentsize = eh.e_phentsize;
        phdr_size = sizeof(Elf64_Phdr);
    } else {
        Elf32_Ehdr eh;
        if (len < sizeof(eh))
            return fail(err, name, "truncated ELF header");
        memcpy(&eh, b, sizeof(eh));
        type = eh.e_type, machine = eh.e_machine;
        phoff = eh.e_phoff, phnum = eh.e_phnum, phentsize = eh.e_phentsize;
        phdr_size = sizeof(Elf32_Phdr);
    }
    if (type != ET_EXEC)
        return fail(err, name, "ELF file is not an executable (ET_EXEC); link the kernel statically");
    if (machine != EM_X86_64 && machine != EM_386)
        return fail(err, name, "ELF file is not for x86; tessera boots x86 kernels only");
    if (phnum == 0 || phentsize < phdr_size)
        return fail(err, name, "ELF file has no usable program headers");
    if (!in_bounds(len, phoff, (uint64_t)phnum * phentsize))
        return fail(err, name, "ELF program headers lie outside the file (truncated or corrupt)");

    for (unsigned i = 0; i < phnum; i++) {
        elf_phdr ph;
        read_phdr(b + phoff + (uint64_t)i * phentsize, is64, &ph);
        if (ph.type != PT_LOAD && ph.type != PT_NOTE)
            continue;
        if (!in_bounds(len, ph.offset, ph.filesz))
            return fail(err, name, "an ELF segment lies outside the file (truncated or corrupt)");
        if (ph.type == PT_NOTE) {
            if (!have_entry) {
                int r = find_entry_note(b + ph.offset, ph.filesz, name, &img->entry, err);
                if (r < 0)
                    return r;
                have_entry = r == 1;
            }
            continue;
        }
        if (ph.memsz == 0)
            continue;
        if (ph.filesz > ph.memsz)
            return fail(err, name, "an ELF segment's file size exceeds its memory size");
        if (ph.paddr + ph.memsz < ph.paddr)
            return fail(err, name, "an ELF segment wraps around the address space");
        if (img->nr_segments == PVH_MAX_SEGMENTS)
            return fail(err, name, "too many loadable ELF segments (at most 16)");
        img->segments[img->nr_segments++] =
            (pvh_segment){ ph.paddr, ph.offset, ph.filesz, ph.memsz };
    }
    if (!have_entry)
        return fail(err, name,
                    "no PVH entry (Xen ELF note PHYS32_ENTRY); build the kernel with PVH support");
    if (img->nr_segments == 0)
        return fail(err, name, "ELF file has no loadable segments");
    return 0;
}
