/* SPDX-License-Identifier: MIT */
/*
 * The content ID: a child records its parent's CID, so the CID must change the first
 * time an image is modified after it is opened. Only the CID line is rewritten; QEMU
 * instead rewrites everything from "CID" on, dropping lines in between and, for
 * embedded descriptors, assuming a fixed 10 KiB window.
 */
#include "vmdk_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <time.h>

uint32_t vmdk_random_cid(void)
{
    uint32_t v;
    do {
        if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v))
            v = (uint32_t)time(NULL) * 2654435761u ^ (uint32_t)clock();
        /* ffffffff means "no parent" and fffffffe is special to some VMware tools. */
    } while (v >= 0xfffffffeu);
    return v;
}

/* Finds the line "CID = ..." (any case, any spacing); returns its start and end. */
static bool find_cid_line(const char *text, size_t len, size_t *start, size_t *end)
{
    size_t p = 0;
    while (p < len) {
        size_t eol = p;
        while (eol < len && text[eol] != '\n' && text[eol] != '\r')
            eol++;
        size_t k = p;
        while (k < eol && (text[k] == ' ' || text[k] == '\t'))
            k++;
        if (eol - k >= 3 && strncasecmp(text + k, "CID", 3) == 0) {
            size_t q = k + 3;
            while (q < eol && (text[q] == ' ' || text[q] == '\t'))
                q++;
            if (q < eol && text[q] == '=') {
                *start = p;
                *end = eol;
                return true;
            }
        }
        p = eol;
        while (p < len && (text[p] == '\n' || text[p] == '\r'))
            p++;
    }
    return false;
}

int vmdk_cid_update(struct vmdk_image *img, struct vmdk_error *err)
{
    size_t start, end;
    img->cid_updated = true;
    if (!img->desc_text || !find_cid_line(img->desc_text, img->desc_len, &start, &end))
        return 0; /* a split extent's empty descriptor, or no CID: nothing to keep current */
    uint32_t cid;
    do
        cid = vmdk_random_cid();
    while (cid == img->desc.cid);
    char line[16];
    int n = snprintf(line, sizeof(line), "CID=%08x", cid);
    size_t new_len = img->desc_len - (end - start) + (size_t)n;
    if (img->desc_embedded && new_len >= img->desc_area_size)
        return vmdk_fail(err, ENOSPC, "%s: no room in the embedded descriptor for a new CID",
                         img->path);
    char *text = malloc(new_len + 1);
    if (!text)
        return vmdk_fail(err, ENOMEM, "%s: out of memory", img->path);
    memcpy(text, img->desc_text, start);
    memcpy(text + start, line, (size_t)n);
    memcpy(text + start + n, img->desc_text + end, img->desc_len - end);
    text[new_len] = '\0';

    /* Write from the CID line on; a shorter text leaves NULs (embedded) or is cut
     * (descriptor file). Same-length updates, the usual case, touch only the line. */
    size_t span = (new_len > img->desc_len ? new_len : img->desc_len) - start;
    char *chunk = calloc(1, span);
    if (!chunk) {
        free(text);
        return vmdk_fail(err, ENOMEM, "%s: out of memory", img->path);
    }
    memcpy(chunk, text + start, new_len - start);
    int r = vmdk_file_write(img->file, chunk, span, img->desc_area_offset + start, err);
    free(chunk);
    if (r == 0 && !img->desc_embedded && new_len < img->desc_len)
        r = vmdk_file_truncate(img->file, new_len, err);
    if (r < 0) {
        free(text);
        return r;
    }
    free(img->desc_text);
    img->desc_text = text;
    img->desc_len = new_len;
    img->desc.cid = cid;
    img->desc.has_cid = true;
    return 0;
}
