#define _POSIX_C_SOURCE 200809L
#include "process.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_INPUT (16 * 1024 * 1024)
#define MAX_KEY 256

static void die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* Read all of stdin into a NUL-terminated buffer; *len gets its length. */
static char *read_all(size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf)
        die("out of memory");
    for (;;) {
        if (n + 1 >= cap) {
            if (cap >= MAX_INPUT)
                die("input too large (more than %d bytes)", MAX_INPUT);
            cap *= 2;
            char *bigger = realloc(buf, cap);
            if (!bigger)
                die("out of memory");
            buf = bigger;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, stdin);
        n += got;
        if (got == 0) {
            if (ferror(stdin))
                die("error reading stdin: %s", strerror(errno));
            break;
        }
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

struct parser {
    const char *start;
    const char *p;
    const char *end;
};

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && is_ws(*ps->p))
        ps->p++;
}

static void expect(struct parser *ps, char c)
{
    skip_ws(ps);
    if (ps->p >= ps->end)
        die("invalid JSON: expected '%c' but input ended", c);
    if (*ps->p != c)
        die("invalid JSON: expected '%c' at offset %ld", c, (long)(ps->p - ps->start));
    ps->p++;
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Parse a JSON string into key (at most MAX_KEY-1 bytes, UTF-8). */
static void parse_string(struct parser *ps, char *key)
{
    size_t n = 0;
    expect(ps, '"');
    for (;;) {
        if (ps->p >= ps->end)
            die("invalid JSON: unterminated string");
        unsigned char c = (unsigned char)*ps->p++;
        unsigned long cp;
        if (c == '"')
            break;
        if (c < 0x20)
            die("invalid JSON: control character in string");
        if (c != '\\') {
            if (n + 1 >= MAX_KEY)
                die("invalid input: key longer than %d bytes", MAX_KEY - 1);
            key[n++] = (char)c;
            continue;
        }
        if (ps->p >= ps->end)
            die("invalid JSON: unterminated string");
        c = (unsigned char)*ps->p++;
        switch (c) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u': {
            if (ps->end - ps->p < 4)
                die("invalid JSON: bad \\u escape");
            cp = 0;
            for (int i = 0; i < 4; i++) {
                int h = hexval(*ps->p++);
                if (h < 0)
                    die("invalid JSON: bad \\u escape");
                cp = cp * 16 + (unsigned long)h;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                /* High surrogate: must be followed by \uDC00-\uDFFF. */
                unsigned long lo = 0;
                if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u')
                    die("invalid JSON: unpaired surrogate in \\u escape");
                ps->p += 2;
                for (int i = 0; i < 4; i++) {
                    int h = hexval(*ps->p++);
                    if (h < 0)
                        die("invalid JSON: bad \\u escape");
                    lo = lo * 16 + (unsigned long)h;
                }
                if (lo < 0xDC00 || lo > 0xDFFF)
                    die("invalid JSON: unpaired surrogate in \\u escape");
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                die("invalid JSON: unpaired surrogate in \\u escape");
            }
            break;
        }
        default:
            die("invalid JSON: bad escape '\\%c' in string", c);
        }
        /* Encode cp as UTF-8. */
        char tmp[4];
        size_t k;
        if (cp < 0x80) {
            tmp[0] = (char)cp;
            k = 1;
        } else if (cp < 0x800) {
            tmp[0] = (char)(0xC0 | (cp >> 6));
            tmp[1] = (char)(0x80 | (cp & 0x3F));
            k = 2;
        } else if (cp < 0x10000) {
            tmp[0] = (char)(0xE0 | (cp >> 12));
            tmp[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
            tmp[2] = (char)(0x80 | (cp & 0x3F));
            k = 3;
        } else {
            tmp[0] = (char)(0xF0 | (cp >> 18));
            tmp[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
            tmp[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
            tmp[3] = (char)(0x80 | (cp & 0x3F));
            k = 4;
        }
        if (cp == 0)
            die("invalid input: NUL character in key");
        if (n + k >= MAX_KEY)
            die("invalid input: key longer than %d bytes", MAX_KEY - 1);
        memcpy(key + n, tmp, k);
        n += k;
    }
    key[n] = '\0';
}

/* Parse a JSON number (strict JSON grammar), converted with strtod. */
static double parse_number(struct parser *ps, const char *key)
{
    skip_ws(ps);
    const char *start = ps->p, *q = ps->p;
    if (q < ps->end && *q == '-')
        q++;
    if (q >= ps->end || !(*q >= '0' && *q <= '9'))
        die("input \"%s\" must be a number", key);
    if (*q == '0') {
        q++;
    } else {
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < ps->end && *q == '.') {
        q++;
        if (q >= ps->end || !(*q >= '0' && *q <= '9'))
            die("invalid JSON: bad number for \"%s\"", key);
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < ps->end && (*q == '+' || *q == '-'))
            q++;
        if (q >= ps->end || !(*q >= '0' && *q <= '9'))
            die("invalid JSON: bad number for \"%s\"", key);
        while (q < ps->end && *q >= '0' && *q <= '9')
            q++;
    }
    /* The grammar check above bounds the number; strtod converts it. */
    size_t len = (size_t)(q - start);
    char *copy = malloc(len + 1);
    if (!copy)
        die("out of memory");
    memcpy(copy, start, len);
    copy[len] = '\0';
    char *endp;
    errno = 0;
    double v = strtod(copy, &endp);
    if (endp != copy + len)
        die("invalid JSON: bad number for \"%s\"", key);
    if (errno == ERANGE && isinf(v))
        die("input \"%s\" is out of range: %s", key, copy);
    free(copy);
    ps->p = q;
    return v;
}

/* Format v as a JSON number with the fewest digits that round-trip
 * (at most %.17g), keeping a decimal point so it reads back as a float. */
static void format_number(double v, char *out, size_t size)
{
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(out, size, "%.*g", prec, v);
        if (strtod(out, 0) == v)
            break;
    }
    if (!strpbrk(out, ".e"))
        strncat(out, ".0", size - strlen(out) - 1);
}

int run_process(const char *description, binary_op op)
{
    size_t len;
    char *text = read_all(&len);
    struct parser ps = {text, text, text + len};

    if (memchr(text, '\0', len))
        die("invalid input: NUL byte in stdin");

    skip_ws(&ps);
    if (ps.p == ps.end) {
        printf("{\"description\": \"%s\", \"inputs\": {\"a\": 1.0, \"b\": 1.0}, "
               "\"outputs\": {\"z\": 1.0}}\n",
               description);
        free(text);
        return fflush(stdout) == 0 ? 0 : 1;
    }

    int have_a = 0, have_b = 0;
    double a = 0.0, b = 0.0;
    char key[MAX_KEY];

    if (*ps.p != '{')
        die("stdin must be a JSON object");
    ps.p++;
    skip_ws(&ps);
    if (ps.p < ps.end && *ps.p == '}') {
        ps.p++;
    } else {
        for (;;) {
            parse_string(&ps, key);
            expect(&ps, ':');
            double v = parse_number(&ps, key);
            if (strcmp(key, "a") == 0) {
                if (have_a)
                    die("invalid input: duplicate key \"a\"");
                a = v;
                have_a = 1;
            } else if (strcmp(key, "b") == 0) {
                if (have_b)
                    die("invalid input: duplicate key \"b\"");
                b = v;
                have_b = 1;
            }
            skip_ws(&ps);
            if (ps.p >= ps.end)
                die("invalid JSON: object not closed");
            if (*ps.p == ',') {
                ps.p++;
                continue;
            }
            if (*ps.p == '}') {
                ps.p++;
                break;
            }
            die("invalid JSON: expected ',' or '}' after value of \"%s\"", key);
        }
    }
    skip_ws(&ps);
    if (ps.p != ps.end)
        die("invalid JSON: extra data after the object");
    if (!have_a)
        die("missing input: \"a\"");
    if (!have_b)
        die("missing input: \"b\"");

    double z;
    const char *err = op(a, b, &z);
    if (err)
        die("%s", err);
    if (!isfinite(z))
        die("result is not a finite number");

    char num[64];
    format_number(z, num, sizeof num);
    printf("{\"z\": %s}\n", num);
    free(text);
    return fflush(stdout) == 0 ? 0 : 1;
}
