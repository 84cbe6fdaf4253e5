/* SPDX-License-Identifier: MIT */
/*
 * Configuration files; see configfile.h.
 *
 * libconfuse does the parsing, with two gaps this file fills with a light pre-pass over
 * the text (conf_scan), which tokenizes just enough to know where sections and keys are:
 *   - libconfuse 3.3 miscounts lines after comments, and free-form (CFGF_KEYSTRVAL) keys
 *     carry no line at all. The pre-pass blanks comments (keeping newlines, so every
 *     line number stays put) and records the line of every section and key.
 *   - A titled section cannot also be untitled; "device { ... }" and "drive { ... }"
 *     have optional ids, so the pre-pass gives untitled ones a placeholder title that no
 *     user id can spell (ids start with a letter) and the conversion drops it again.
 */
#include "config/configfile.h"

#include <confuse.h>
#include <errno.h>
#include <string.h>

#include "util/error.h"

#define ANON_PREFIX ".anon"

typedef struct scan_key {
    char *name;
    int line;
} scan_key;

typedef struct scan_section {
    char *name;
    char *title; /* NULL when untitled */
    int line;
    GPtrArray *keys; /* scan_key *, in order written, repeats included */
} scan_section;

static void scan_key_free(gpointer p)
{
    scan_key *k = p;
    g_free(k->name);
    g_free(k);
}

static void scan_section_free(gpointer p)
{
    scan_section *s = p;
    g_free(s->name);
    g_free(s->title);
    g_ptr_array_free(s->keys, TRUE);
    g_free(s);
}

typedef struct scanner {
    const char *p;
    int line;
    GString *out;       /* the text handed to libconfuse */
    GPtrArray *sections; /* scan_section * */
    int depth;
    char *head[2]; /* up to two words before a top-level '{' */
    int head_n, head_line;
    char *last;    /* last word or string inside a section, and its line */
    int last_line;
    int anon;
} scanner;

/* Copies a comment as blanks, newlines kept; p points at its first character. */
static void scan_comment(scanner *s, bool block)
{
    while (*s->p) {
        if (block && s->p[0] == '*' && s->p[1] == '/') {
            g_string_append(s->out, "  ");
            s->p += 2;
            return;
        }
        if (*s->p == '\n') {
            if (!block)
                return;
            s->line++;
        }
        g_string_append_c(s->out, *s->p == '\n' ? '\n' : ' ');
        s->p++;
    }
}

/* Copies a quoted string verbatim and returns its unescaped value. */
static char *scan_quoted(scanner *s)
{
    char q = *s->p;
    GString *v = g_string_new(NULL);
    g_string_append_c(s->out, *s->p++);
    while (*s->p && *s->p != q) {
        if (*s->p == '\\' && s->p[1]) {
            g_string_append_c(s->out, *s->p++);
            g_string_append_c(v, *s->p == 'n' ? '\n' : *s->p);
        } else {
            g_string_append_c(v, *s->p);
        }
        if (*s->p == '\n')
            s->line++;
        g_string_append_c(s->out, *s->p++);
    }
    if (*s->p)
        g_string_append_c(s->out, *s->p++);
    return g_string_free(v, FALSE);
}

static bool word_char(char c)
{
    return c && !g_ascii_isspace(c) && !strchr("{}=,()\"'#", c);
}

static void scan_token(scanner *s, char *tok, int line)
{
    if (s->depth == 0) {
        if (s->head_n < 2) {
            if (!s->head_n)
                s->head_line = line;
            s->head[s->head_n++] = tok;
            return;
        }
    } else {
        g_free(s->last);
        s->last = tok;
        s->last_line = line;
        return;
    }
    g_free(tok);
}

static void scan_open(scanner *s)
{
    if (s->depth++ == 0 && s->head_n > 0) {
        scan_section *sec = g_new0(scan_section, 1);
        sec->name = s->head[0];
        sec->title = s->head_n > 1 ? s->head[1] : NULL;
        sec->line = s->head_line;
        sec->keys = g_ptr_array_new_with_free_func(scan_key_free);
        if (!sec->title && (strcmp(sec->name, "device") == 0 || strcmp(sec->name, "drive") == 0)) {
            sec->title = g_strdup_printf(ANON_PREFIX "%d", s->anon++);
            g_string_append_printf(s->out, "\"%s\" ", sec->title);
        }
        g_ptr_array_add(s->sections, sec);
        s->head[0] = s->head[1] = NULL;
        s->head_n = 0;
    }
    g_string_append_c(s->out, '{');
}

static void scan_equals(scanner *s)
{
    if (s->depth == 1 && s->last && s->sections->len) {
        scan_section *sec = g_ptr_array_index(s->sections, s->sections->len - 1);
        scan_key *k = g_new0(scan_key, 1);
        k->name = g_steal_pointer(&s->last);
        k->line = s->last_line;
        g_ptr_array_add(sec->keys, k);
    }
    g_string_append_c(s->out, '=');
}

static void conf_scan(scanner *s, const char *text)
{
    s->p = text;
    s->line = 1;
    s->out = g_string_new(NULL);
    s->sections = g_ptr_array_new_with_free_func(scan_section_free);
    while (*s->p) {
        char c = *s->p;
        if (c == '#' || (c == '/' && (s->p[1] == '/' || s->p[1] == '*'))) {
            scan_comment(s, c == '/' && s->p[1] == '*');
        } else if (c == '"' || c == '\'') {
            int line = s->line;
            scan_token(s, scan_quoted(s), line);
        } else if (c == '{') {
            scan_open(s);
            s->p++;
        } else if (c == '}') {
            if (s->depth > 0)
                s->depth--;
            g_string_append_c(s->out, *s->p++);
        } else if (c == '=') {
            scan_equals(s);
            s->p++;
        } else if (word_char(c)) {
            const char *start = s->p;
            while (word_char(*s->p))
                s->p++;
            g_string_append_len(s->out, start, s->p - start);
            scan_token(s, g_strndup(start, s->p - start), s->line);
        } else {
            if (c == '\n')
                s->line++;
            g_string_append_c(s->out, *s->p++);
        }
    }
}

static void scanner_clear(scanner *s)
{
    g_string_free(s->out, TRUE);
    g_ptr_array_free(s->sections, TRUE);
    g_free(s->head[0]);
    g_free(s->head[1]);
    g_free(s->last);
}

/* libconfuse reports through a callback; keep the last message (the fatal one) and its line. */
typedef struct parse_report {
    char *message;
    int line;
} parse_report;

static parse_report *current_report;

static void record_error(cfg_t *cfg, const char *fmt, va_list ap)
{
    if (!current_report)
        return;
    g_free(current_report->message);
    current_report->message = g_strdup_vprintf(fmt, ap);
    current_report->line = cfg ? cfg->line : 0;
}

/* libconfuse's wording, made to speak about this file format. */
static char *reword(const char *msg)
{
    char name[128];
    if (sscanf(msg, "no such option '%127[^']'", name) == 1)
        return g_strdup_printf("unknown section '%s' (sections are machine, object, chardev, "
                               "drive, device and serial)", name);
    if (sscanf(msg, "missing title for section '%127[^']'", name) == 1)
        return g_strdup_printf("section '%s' needs an id: %s ID { ... }", name, name);
    if (sscanf(msg, "found duplicate title '%127[^']'", name) == 1)
        return g_strdup_printf("duplicate id '%s'", name);
    return g_strdup(msg);
}

static int section_class(const char *name, md_class *cls)
{
    static const md_class all[] = { MD_MACHINE, MD_OBJECT, MD_CHARDEV, MD_DRIVE, MD_DEVICE, MD_SERIAL };
    for (size_t i = 0; i < G_N_ELEMENTS(all); i++) {
        if (strcmp(md_class_name(all[i]), name) == 0) {
            *cls = all[i];
            return 0;
        }
    }
    return -ENOENT;
}

static int conf_error(GError **err, const char *name, int line, const char *fmt, ...) G_GNUC_PRINTF(4, 5);
static int conf_error(GError **err, const char *name, int line, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_autofree char *what = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_set_error(err, TS_ERROR, TS_ERROR_INVALID, "%s:%d: %s", name, line, what);
    return -EINVAL;
}

/* The line of the last time key was written in sec (the value libconfuse kept). */
static int key_line(const scan_section *sec, const char *key)
{
    int line = sec->line;
    for (guint i = 0; i < sec->keys->len; i++) {
        const scan_key *k = sec->keys->pdata[i];
        if (strcmp(k->name, key) == 0)
            line = k->line;
    }
    return line;
}

/* Adds one parsed section to d: the item, then its keys in the order written. */
static int convert_section(machine_desc *d, const scan_section *ss, cfg_t *sec, const char *name,
                           GError **err)
{
    md_class cls;
    if (section_class(ss->name, &cls) < 0)
        return conf_error(err, name, ss->line, "unknown section '%s'", ss->name);
    md_origin at = { .file = (char *)name, .line = ss->line };
    const char *title = ss->title && !g_str_has_prefix(ss->title, ANON_PREFIX) ? ss->title : NULL;
    const char *id = title ? title : cfg_getstr(sec, "id");
    bool typed = cls == MD_OBJECT || cls == MD_CHARDEV || cls == MD_DEVICE;
    const char *type = typed ? cfg_getstr(sec, "type") : md_class_name(cls);
    if (title && cfg_getstr(sec, "id"))
        return conf_error(err, name, key_line(ss, "id"), "%s '%s': the id is given twice (once "
                          "after '%s', once as id = ...)", ss->name, title, ss->name);
    if (!type)
        return conf_error(err, name, ss->line, "%s%s%s%s: missing type (add type = NAME)", ss->name,
                          id ? " '" : "", id ? id : "", id ? "'" : "");
    md_item *it;
    if (cls == MD_MACHINE) {
        it = machine_desc_machine(d);
        if (!it->origin.file && !it->origin.option)
            md_origin_copy(&it->origin, &at);
    } else {
        it = md_item_add(d, cls, type, id, &at);
    }
    for (guint i = 0; i < ss->keys->len; i++) {
        const scan_key *k = ss->keys->pdata[i];
        if ((typed && strcmp(k->name, "type") == 0) || strcmp(k->name, "id") == 0)
            continue;
        const char *value = cfg_getstr(sec, k->name);
        md_origin kat = { .file = (char *)name, .line = key_line(ss, k->name) };
        md_item_set(it, k->name, value, &kat);
    }
    return 0;
}

/* The libconfuse section that the pre-pass section ss became. */
static cfg_t *find_section(cfg_t *cfg, const scan_section *ss, unsigned *serial_index)
{
    if (strcmp(ss->name, "machine") == 0)
        return cfg_getsec(cfg, "machine");
    if (strcmp(ss->name, "serial") == 0)
        return *serial_index < cfg_size(cfg, "serial") ? cfg_getnsec(cfg, "serial", (*serial_index)++)
                                                        : NULL;
    return ss->title ? cfg_gettsec(cfg, ss->name, ss->title) : NULL;
}

int configfile_parse_text(machine_desc *d, const char *text, const char *name, GError **err)
{
    const cfg_flag_t titled = CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES | CFGF_KEYSTRVAL;
    cfg_opt_t opts[] = {
        CFG_SEC("machine", NULL, CFGF_KEYSTRVAL),
        CFG_SEC("object", NULL, titled),
        CFG_SEC("chardev", NULL, titled),
        CFG_SEC("drive", NULL, titled),
        CFG_SEC("device", NULL, titled),
        CFG_SEC("serial", NULL, CFGF_MULTI | CFGF_KEYSTRVAL),
        CFG_END(),
    };
    scanner s = { 0 };
    conf_scan(&s, text);
    cfg_t *cfg = cfg_init(opts, CFGF_NONE);
    parse_report report = { 0 };
    int r = 0;
    /* libconfuse quietly closes sections left open at the end of the file; a cut file is an error. */
    if (s.depth > 0 && s.sections->len) {
        const scan_section *open = s.sections->pdata[s.sections->len - 1];
        r = conf_error(err, name, open->line, "section '%s' is not closed (missing '}')", open->name);
        goto out;
    }
    if (!cfg) {
        r = -ENOMEM;
        g_set_error(err, TS_ERROR, TS_ERROR_FAILED, "%s: cannot initialize the parser", name);
        goto out;
    }
    cfg_set_error_function(cfg, record_error);
    current_report = &report; /* libconfuse's callback has no user pointer; parsing is single-threaded */
    int rc = cfg_parse_buf(cfg, s.out->str);
    current_report = NULL;
    if (rc != CFG_SUCCESS) {
        g_autofree char *msg = reword(report.message ? report.message : "syntax error");
        r = conf_error(err, name, report.line > 0 ? report.line : 1, "%s", msg);
        goto out;
    }
    unsigned serial_index = 0;
    for (guint i = 0; i < s.sections->len && r == 0; i++) {
        const scan_section *ss = s.sections->pdata[i];
        cfg_t *sec = find_section(cfg, ss, &serial_index);
        if (sec)
            r = convert_section(d, ss, sec, name, err);
    }
out:
    g_free(report.message);
    if (cfg)
        cfg_free(cfg);
    scanner_clear(&s);
    return r;
}

int configfile_load(machine_desc *d, const char *path, GError **err)
{
    g_autofree char *text = NULL;
    GError *e = NULL;
    if (!g_file_get_contents(path, &text, NULL, &e)) {
        g_set_error(err, TS_ERROR, TS_ERROR_NOT_FOUND, "cannot read config file '%s': %s", path,
                    e->message);
        g_error_free(e);
        return -ENOENT;
    }
    return configfile_parse_text(d, text, path, err);
}
