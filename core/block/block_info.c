/* SPDX-License-Identifier: MIT */
/*
 * The format-specific information builder (ts_block_api.info_*): a stack of GVariant
 * builders, a{sv} for dictionaries and av for lists, so keys keep the order the format
 * added them in (qemu-img prints them in that order).
 */
#include "block/block_internal.h"

typedef struct frame {
    GVariantBuilder b;
    bool is_list;
    char *key; /* key of this container in its parent (NULL in lists and at the root) */
} frame;

struct ts_block_info_builder {
    GPtrArray *stack; /* frame * */
    guint added;      /* values added to the root */
};

static frame *frame_new(bool is_list, const char *key)
{
    frame *f = g_new0(frame, 1);
    g_variant_builder_init(&f->b, is_list ? G_VARIANT_TYPE("av") : G_VARIANT_TYPE("a{sv}"));
    f->is_list = is_list;
    f->key = g_strdup(key);
    return f;
}

static void frame_free(frame *f)
{
    g_variant_builder_clear(&f->b);
    g_free(f->key);
    g_free(f);
}

ts_block_info_builder *block_info_builder_new(void)
{
    ts_block_info_builder *b = g_new0(ts_block_info_builder, 1);
    b->stack = g_ptr_array_new();
    g_ptr_array_add(b->stack, frame_new(false, NULL));
    return b;
}

void block_info_builder_free(ts_block_info_builder *b)
{
    if (!b)
        return;
    for (guint i = 0; i < b->stack->len; i++)
        frame_free(b->stack->pdata[i]);
    g_ptr_array_free(b->stack, TRUE);
    g_free(b);
}

/* Adds value (floating or not) to the innermost container; a dictionary needs a key. */
static void add(ts_block_info_builder *b, const char *key, GVariant *value)
{
    frame *top = b->stack->pdata[b->stack->len - 1];
    g_variant_ref_sink(value);
    if (top->is_list)
        g_variant_builder_add(&top->b, "v", value);
    else
        g_variant_builder_add(&top->b, "{sv}", key ? key : "", value);
    g_variant_unref(value);
    if (b->stack->len == 1)
        b->added++;
}

void block_info_add_string(ts_block_info_builder *b, const char *key, const char *value);
void block_info_add_string(ts_block_info_builder *b, const char *key, const char *value)
{
    if (b)
        add(b, key, g_variant_new_string(value ? value : ""));
}

void block_info_add_int(ts_block_info_builder *b, const char *key, int64_t value);
void block_info_add_int(ts_block_info_builder *b, const char *key, int64_t value)
{
    if (b)
        add(b, key, g_variant_new_int64(value));
}

void block_info_add_uint(ts_block_info_builder *b, const char *key, uint64_t value);
void block_info_add_uint(ts_block_info_builder *b, const char *key, uint64_t value)
{
    if (b)
        add(b, key, g_variant_new_uint64(value));
}

void block_info_add_bool(ts_block_info_builder *b, const char *key, bool value);
void block_info_add_bool(ts_block_info_builder *b, const char *key, bool value)
{
    if (b)
        add(b, key, g_variant_new_boolean(value));
}

void block_info_begin_dict(ts_block_info_builder *b, const char *key);
void block_info_begin_dict(ts_block_info_builder *b, const char *key)
{
    if (b)
        g_ptr_array_add(b->stack, frame_new(false, key));
}

void block_info_begin_list(ts_block_info_builder *b, const char *key);
void block_info_begin_list(ts_block_info_builder *b, const char *key)
{
    if (b)
        g_ptr_array_add(b->stack, frame_new(true, key));
}

void block_info_end(ts_block_info_builder *b);
void block_info_end(ts_block_info_builder *b)
{
    if (!b || b->stack->len <= 1)
        return; /* an unbalanced end is ignored rather than corrupting the tree */
    frame *f = g_ptr_array_steal_index(b->stack, b->stack->len - 1);
    GVariant *v = g_variant_builder_end(&f->b);
    add(b, f->key, v);
    g_free(f->key);
    g_free(f);
}

GVariant *block_info_builder_finish(ts_block_info_builder *b)
{
    while (b->stack->len > 1) /* close what the format left open */
        block_info_end(b);
    frame *root = b->stack->pdata[0];
    GVariant *v = b->added ? g_variant_ref_sink(g_variant_builder_end(&root->b)) : NULL;
    block_info_builder_free(b);
    return v;
}
