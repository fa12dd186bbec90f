/* containerdag runner: a resident process in a warm container that runs commands for the host.
 *
 * Started once per container (one long-lived exec), it reads request frames on stdin and
 * writes reply frames on stdout. Every frame is a 9-byte header, then the payload:
 *
 *     type (1 byte), call id (u32, big-endian), payload length (u32, big-endian)
 *
 * Requests:
 *   'S'  start a one-shot command. Payload: argc, envc, instances (u32 each), then argc argv
 *        strings and envc "KEY=VALUE" strings, each NUL-terminated, then the stdin bytes
 *        (stdin is closed once they are written). Run with fork/execvp, no shell.
 *   'L'  a call of a keep-loaded server: the same layout (argv/env name the server command,
 *        instances how many servers of that command may run at once), then one request
 *        line. The line goes to an idle server (started if none); the server's next stdout
 *        line is the answer.
 *   'K'  kill that call: its process group gets SIGKILL, then every process it started
 *        (a queued keep-loaded call is dropped). Nothing else is touched.
 * Replies:
 *   'H'  hello (call 0): the version text, sent once at start.
 *   'O'  stdout bytes of the call (for a server: its answer line, without the newline).
 *   'E'  stderr bytes of the call, as they come.
 *   'X'  the call ended: exit code (i32, 128 + signal when killed by one); a killed call's
 *        once no process of its group is left.
 *   'D'  a keep-loaded call ended because its server exited or could not start: the reason.
 *
 * End of stdin (the host went away) kills every process this runner started, then exits.
 *
 * A call ends with every process it started. Each one-shot command runs under a shepherd of
 * its own: a fork of the runner that makes a new session and becomes a child subreaper
 * (PR_SET_CHILD_SUBREAPER), so whatever the command starts stays its descendant however it
 * detaches (setsid, a double fork, nohup). When the command exits, the shepherd kills every
 * descendant left (read from /proc), reaps them, and exits with the command's code: the call
 * ends only then. The runner is a subreaper too: what a killed shepherd or server leaves
 * becomes the runner's child and is killed at once, and so is, at start, what a runner that
 * died left in the container (orphans of PID 1 but the warm container's keep-alive).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define VERSION "containerdag-runner 2"
#define HEADER 9
#define CHUNK 65536
#define MAX_FRAME (1u << 30)

typedef struct {
    unsigned char *p;
    size_t len, cap, off;
} buf_t;

typedef struct pending {
    uint32_t id;
    unsigned char *line;
    size_t len;
    struct pending *next;
} pending_t;

typedef struct group { /* the servers of one keep-loaded command */
    unsigned char *key; /* the argv/env strings: the command's identity */
    size_t keylen;
    char **argv, **env;
    unsigned max;
    pending_t *head, *tail;
    struct group *next;
} group_t;

typedef struct proc {
    pid_t pid;
    int in, out, err;
    buf_t inq;
    int close_in; /* close stdin once inq is written (one-shot commands) */
    uint32_t call; /* 0: an idle server */
    group_t *group; /* NULL: a one-shot command */
    int reaped, status, killed;
    struct proc *next;
} proc_t;

static proc_t *procs;
static group_t *groups;
static int sigpipe_r = -1, sigpipe_w = -1;
static int strangers; /* a child the runner did not start may be there: sweep */

/* ---- the processes of the container, from /proc ----------------------------------------- */

typedef struct {
    pid_t pid, ppid;
    unsigned long long start;
    int mark;
} pinfo_t;

/* Every process in /proc (this container's PID namespace); the count, or -1. */
static long read_procs(pinfo_t **out) {
    DIR *dir = opendir("/proc");
    if (!dir) return -1;
    size_t n = 0, cap = 64;
    pinfo_t *all = malloc(cap * sizeof *all);
    struct dirent *e;
    while (all && (e = readdir(dir))) {
        char *end;
        long pid = strtol(e->d_name, &end, 10);
        if (*end || pid <= 0) continue;
        char path[64], text[1024];
        snprintf(path, sizeof path, "/proc/%ld/stat", pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) continue;
        ssize_t got = read(fd, text, sizeof text - 1);
        close(fd);
        if (got <= 0) continue;
        text[got] = 0;
        char *close_paren = strrchr(text, ')'); /* the name may hold spaces and parens */
        if (!close_paren) continue;
        int ppid;
        unsigned long long start = 0;
        /* state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime
           cutime cstime priority nice threads itrealvalue starttime */
        if (sscanf(close_paren + 1, " %*c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d "
                   "%*d %*d %*d %*d %*d %llu", &ppid, &start) < 1)
            continue;
        if (n == cap) {
            pinfo_t *more = realloc(all, (cap *= 2) * sizeof *all);
            if (!more) break;
            all = more;
        }
        all[n++] = (pinfo_t){(pid_t)pid, (pid_t)ppid, start, 0};
    }
    closedir(dir);
    if (!all) return -1;
    *out = all;
    return (long)n;
}

/* SIGKILL the processes marked in ``all`` and all their descendants; how many. */
static long kill_marked(pinfo_t *all, long n) {
    for (int grew = 1; grew;) { /* the descendants of marked processes are marked too */
        grew = 0;
        for (long i = 0; i < n; i++)
            if (!all[i].mark)
                for (long j = 0; j < n; j++)
                    if (all[j].mark && all[j].pid == all[i].ppid) {
                        all[i].mark = grew = 1;
                        break;
                    }
    }
    long killed = 0;
    for (long i = 0; i < n; i++)
        if (all[i].mark) {
            kill(all[i].pid, SIGKILL);
            killed++;
        }
    return killed;
}

static int is_known(pid_t pid) {
    for (proc_t *p = procs; p; p = p->next)
        if (p->pid == pid && !p->reaped) return 1;
    return 0;
}

/* Kill the children of ``parent`` (``skip``: those to keep) and their descendants. */
static long kill_children(pid_t parent, int (*skip)(pid_t)) {
    pinfo_t *all;
    long n = read_procs(&all);
    if (n < 0) return -1;
    for (long i = 0; i < n; i++)
        all[i].mark = all[i].ppid == parent && !(skip && skip(all[i].pid));
    long killed = kill_marked(all, n);
    free(all);
    return killed;
}

/* The runner's children it did not start (what a killed shepherd or server left): killed. */
static void sweep_strangers(void) {
    strangers = 0;
    kill_children(getpid(), is_known);
}

/* At start: what a runner that died left running (orphans of PID 1 but its first child, the
   warm container's keep-alive) is killed, with its descendants. */
static void sweep_orphans_of_init(void) {
    pinfo_t *all;
    long n = read_procs(&all);
    if (n < 0) return;
    long keep = -1;
    for (long i = 0; i < n; i++)
        if (all[i].ppid == 1 && (keep < 0 || all[i].start < all[keep].start ||
                                 (all[i].start == all[keep].start && all[i].pid < all[keep].pid)))
            keep = i;
    for (long i = 0; i < n; i++)
        all[i].mark = all[i].ppid == 1 && i != keep && all[i].pid != getpid();
    kill_marked(all, n);
    free(all);
}

/* Kill and reap every descendant of this process; give up after about 5 s. */
static void end_descendants(void) {
    for (int round = 0; round < 5000; round++) {
        int status;
        pid_t w;
        while ((w = waitpid(-1, &status, WNOHANG)) > 0) {
        }
        if (w < 0 && errno == ECHILD) return; /* no child left: no descendant left */
        kill_children(getpid(), NULL);
        struct timespec pause = {0, 1000000};
        nanosleep(&pause, NULL);
    }
}

static void kill_all(void) {
    for (proc_t *p = procs; p; p = p->next)
        if (!p->reaped) {
            kill(-p->pid, SIGKILL);
            kill(p->pid, SIGKILL);
        }
    end_descendants(); /* what the shepherds left comes to the runner: killed too */
}

static void die(const char *what) {
    dprintf(2, "containerdag-runner: %s: %s\n", what, strerror(errno));
    kill_all();
    exit(1);
}

static void *xalloc(void *old, size_t n) {
    void *p = realloc(old, n ? n : 1);
    if (!p) die("out of memory");
    return p;
}

static void buf_add(buf_t *b, const void *data, size_t n) {
    if (b->off && b->off == b->len) b->off = b->len = 0;
    if (b->len + n > b->cap) {
        if (b->off) { /* compact before growing */
            memmove(b->p, b->p + b->off, b->len - b->off);
            b->len -= b->off;
            b->off = 0;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n) cap *= 2;
        if (cap != b->cap) {
            b->p = xalloc(b->p, cap);
            b->cap = cap;
        }
    }
    memcpy(b->p + b->len, data, n);
    b->len += n;
}

static void put32(unsigned char *p, uint32_t v) {
    p[0] = v >> 24; p[1] = v >> 16; p[2] = v >> 8; p[3] = v;
}

static uint32_t get32(const unsigned char *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void write_all(const void *data, size_t n) {
    const unsigned char *p = data;
    while (n) {
        ssize_t w = write(1, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            die("writing to the host");
        }
        p += w;
        n -= (size_t)w;
    }
}

static void send_frame(char type, uint32_t id, const void *data, size_t n) {
    unsigned char head[HEADER];
    head[0] = (unsigned char)type;
    put32(head + 1, id);
    put32(head + 5, (uint32_t)n);
    write_all(head, HEADER);
    if (n) write_all(data, n);
}

static void send_text(char type, uint32_t id, const char *text) {
    send_frame(type, id, text, strlen(text));
}

static void send_exit(uint32_t id, int code) {
    unsigned char v[4];
    put32(v, (uint32_t)code);
    send_frame('X', id, v, 4);
}

static int exit_code(int status) {
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
    return 255;
}

static void on_sigchld(int sig) {
    (void)sig;
    int saved = errno;
    ssize_t ignored = write(sigpipe_w, "c", 1);
    (void)ignored;
    errno = saved;
}

static void nonblocking(int fd) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void close_fd(int *fd) {
    if (*fd >= 0) close(*fd);
    *fd = -1;
}

static void exec_command(char **argv, char **env) {
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL); /* an ignored signal would stay ignored across exec */
    signal(SIGCHLD, SIG_DFL);
    for (char **e = env; *e; e++) putenv(*e);
    execvp(argv[0], argv);
    int code = errno == ENOENT ? 127 : 126;
    dprintf(2, "containerdag-runner: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(code);
}

static void close_from(int lowest) {
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)lowest, ~0u, 0) == 0) return;
#endif
    long most = sysconf(_SC_OPEN_MAX);
    if (most < 0 || most > 65536) most = 65536;
    for (int fd = lowest; fd < most; fd++) close(fd);
}

/* The shepherd of one call (in its own session, stdin/stdout/stderr the call's pipes): runs
   the command as its child, and when it exits kills and reaps every process it left; exits
   with the command's code (128 + signal when killed by one). Never returns. */
static void shepherd(char **argv, char **env) {
    close_from(3); /* the runner's other fds: the host stream, the other calls' pipes */
    signal(SIGCHLD, SIG_DFL);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    pid_t cmd = fork();
    if (cmd < 0) {
        dprintf(2, "containerdag-runner: cannot start a process: %s\n", strerror(errno));
        _exit(126);
    }
    if (cmd == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        exec_command(argv, env);
    }
    int null = open("/dev/null", O_RDWR); /* the call's pipes are its processes' alone */
    for (int fd = 0; fd < 3; fd++) {
        if (null >= 0) dup2(null, fd);
        else close(fd);
    }
    if (null > 2) close(null);
    int status = 255 << 8;
    for (;;) {
        int got;
        pid_t w = waitpid(-1, &got, 0);
        if (w == cmd) {
            status = got;
            break;
        }
        if (w < 0 && errno != EINTR) break;
    }
    end_descendants();
    _exit(exit_code(status));
}

/* Start argv (no shell), under a shepherd when ``shepherded`` (a one-shot call); NULL with
   errno set if it cannot be forked. */
static proc_t *spawn(char **argv, char **env, int shepherded) {
    int in[2], out[2], err[2];
    if (pipe2(in, O_CLOEXEC)) return NULL;
    if (pipe2(out, O_CLOEXEC)) {
        close(in[0]); close(in[1]);
        return NULL;
    }
    if (pipe2(err, O_CLOEXEC)) {
        close(in[0]); close(in[1]); close(out[0]); close(out[1]);
        return NULL;
    }
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        close(in[0]); close(in[1]); close(out[0]); close(out[1]); close(err[0]); close(err[1]);
        errno = saved;
        return NULL;
    }
    if (pid == 0) {
        if (shepherded) setsid(); /* its own session and group */
        else setpgid(0, 0); /* its own group: a kill reaches what it started, and nothing else */
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(in[0], 0);
        dup2(out[1], 1);
        dup2(err[1], 2);
        if (shepherded) shepherd(argv, env);
        exec_command(argv, env);
    }
    setpgid(pid, pid); /* (fails harmlessly once the child made its session) */
    close(in[0]);
    close(out[1]);
    close(err[1]);
    nonblocking(in[1]);
    nonblocking(out[0]);
    nonblocking(err[0]);
    proc_t *p = xalloc(NULL, sizeof *p);
    memset(p, 0, sizeof *p);
    p->pid = pid;
    p->in = in[1];
    p->out = out[0];
    p->err = err[0];
    p->next = procs;
    procs = p;
    return p;
}

/* argc, envc, instances, then the strings: argv/env point into ``data``. */
static int parse_command(unsigned char *data, size_t n, char ***argv, char ***env,
                         unsigned *instances, size_t *used) {
    if (n < 12) return -1;
    uint32_t argc = get32(data), envc = get32(data + 4);
    *instances = get32(data + 8);
    if (argc == 0 || argc > 65536 || envc > 65536) return -1;
    char **a = xalloc(NULL, (argc + 1) * sizeof *a);
    char **e = xalloc(NULL, (envc + 1) * sizeof *e);
    size_t at = 12;
    for (uint32_t i = 0; i < argc + envc; i++) {
        unsigned char *end = at < n ? memchr(data + at, 0, n - at) : NULL;
        if (!end) {
            free(a);
            free(e);
            return -1;
        }
        if (i < argc) a[i] = (char *)data + at;
        else e[i - argc] = (char *)data + at;
        at = (size_t)(end - data) + 1;
    }
    a[argc] = NULL;
    e[envc] = NULL;
    *argv = a;
    *env = e;
    *used = at;
    return 0;
}

static void start_failed(uint32_t id, int code, const char *what) {
    char text[512];
    snprintf(text, sizeof text, "containerdag-runner: %s: %s\n", what, strerror(errno));
    send_text('E', id, text);
    send_exit(id, code);
}

static void start_one_shot(uint32_t id, unsigned char *data, size_t n) {
    char **argv, **env;
    unsigned instances;
    size_t used;
    if (parse_command(data, n, &argv, &env, &instances, &used)) {
        errno = EINVAL;
        start_failed(id, 126, "malformed start request");
        return;
    }
    proc_t *p = spawn(argv, env, 1);
    free(argv);
    free(env);
    if (!p) {
        start_failed(id, 126, "cannot start a process");
        return;
    }
    p->call = id;
    p->close_in = 1;
    if (n > used) buf_add(&p->inq, data + used, n - used);
    else close_fd(&p->in);
}

static unsigned live_servers(group_t *g) {
    unsigned n = 0;
    for (proc_t *p = procs; p; p = p->next)
        if (p->group == g && !p->reaped && !p->killed) n++;
    return n;
}

/* Hand queued calls to idle servers of ``g``, starting servers up to its limit. */
static void dispatch(group_t *g) {
    while (g->head) {
        proc_t *idle = NULL;
        for (proc_t *p = procs; p && !idle; p = p->next)
            if (p->group == g && !p->call && !p->reaped && !p->killed && p->in >= 0) idle = p;
        if (!idle) {
            if (live_servers(g) >= g->max) return;
            idle = spawn(g->argv, g->env, 0);
            if (!idle) {
                char text[512];
                snprintf(text, sizeof text, "the keep-loaded server could not be started: %s",
                         strerror(errno));
                pending_t *q = g->head;
                g->head = q->next;
                if (!g->head) g->tail = NULL;
                send_text('D', q->id, text);
                free(q->line);
                free(q);
                continue;
            }
            idle->group = g;
        }
        pending_t *q = g->head;
        g->head = q->next;
        if (!g->head) g->tail = NULL;
        idle->call = q->id;
        buf_add(&idle->inq, q->line, q->len);
        free(q->line);
        free(q);
    }
}

static void loaded_call(uint32_t id, unsigned char *data, size_t n) {
    char **argv, **env;
    unsigned instances;
    size_t used;
    if (parse_command(data, n, &argv, &env, &instances, &used)) {
        send_text('D', id, "malformed keep-loaded request");
        return;
    }
    free(argv);
    free(env);
    size_t keylen = used - 12;
    group_t *g = groups;
    while (g && !(g->keylen == keylen && !memcmp(g->key, data + 12, keylen))) g = g->next;
    if (!g) {
        g = xalloc(NULL, sizeof *g);
        memset(g, 0, sizeof *g);
        g->key = xalloc(NULL, used);
        memcpy(g->key, data, used); /* keep the counts in front, so the strings parse again */
        g->keylen = keylen;
        size_t again;
        parse_command(g->key, used, &g->argv, &g->env, &instances, &again);
        g->key += 12; /* (the 12 bytes stay allocated in front of it, never freed) */
        g->next = groups;
        groups = g;
    }
    g->max = instances ? instances : 1;
    pending_t *q = xalloc(NULL, sizeof *q);
    q->id = id;
    q->len = n - used;
    q->line = xalloc(NULL, q->len);
    memcpy(q->line, data + used, q->len);
    q->next = NULL;
    if (g->tail) g->tail->next = q;
    else g->head = q;
    g->tail = q;
    dispatch(g);
}

/* Whether no process is left in the process group a killed call ran in: its end is sent only
   then, so a cancelled call has ended with every process of its group (SIGKILL is delivered,
   not done, when kill returns; the last member's exit wakes the runner as a SIGCHLD). */
static int group_gone(pid_t group) {
    return kill(-group, 0) < 0 && errno == ESRCH;
}

static void kill_call(uint32_t id) {
    for (proc_t *p = procs; p; p = p->next)
        if (p->call == id && !p->killed) {
            p->killed = 1;
            if (!p->reaped) {
                kill(-p->pid, SIGKILL);
                kill(p->pid, SIGKILL);
            } else {
                kill(-p->pid, SIGKILL); /* what it left holding its pipes */
            }
            strangers = 1; /* what its shepherd or server leaves comes to the runner */
            return;
        }
    for (group_t *g = groups; g; g = g->next) {
        pending_t **at = &g->head, *prev = NULL;
        for (pending_t *q = g->head; q; prev = q, q = q->next) {
            if (q->id != id) {
                at = &q->next;
                continue;
            }
            *at = q->next;
            if (g->tail == q) g->tail = prev;
            free(q->line);
            free(q);
            send_exit(id, 128 + SIGKILL);
            return;
        }
    }
}

static void on_stdout(proc_t *p, unsigned char *data, size_t n) {
    if (!p->group) {
        send_frame('O', p->call, data, n);
        return;
    }
    if (!p->call) return; /* a server talking out of turn: dropped */
    unsigned char *nl = memchr(data, '\n', n);
    size_t part = nl ? (size_t)(nl - data) : n;
    if (part) send_frame('O', p->call, data, part);
    if (nl) { /* the answer is complete; what follows it in this chunk is dropped */
        unsigned char more[CHUNK]; /* what it logged before answering belongs to this call */
        ssize_t got;
        while (p->err >= 0 && (got = read(p->err, more, sizeof more)) > 0)
            send_frame('E', p->call, more, (size_t)got);
        send_exit(p->call, 0);
        p->call = 0;
        dispatch(p->group);
    }
}

static void on_stderr(proc_t *p, unsigned char *data, size_t n) {
    if (p->call) send_frame('E', p->call, data, n);
}

static void finish(proc_t *p) {
    if (p->call) {
        if (!p->group || p->killed) {
            send_exit(p->call, exit_code(p->status));
        } else {
            char text[256];
            if (WIFSIGNALED(p->status))
                snprintf(text, sizeof text, "the keep-loaded server was killed by signal %d",
                         WTERMSIG(p->status));
            else
                snprintf(text, sizeof text, "the keep-loaded server exited with code %d",
                         exit_code(p->status));
            send_text('D', p->call, text);
        }
    }
    close_fd(&p->in);
    close_fd(&p->out);
    close_fd(&p->err);
    free(p->inq.p);
    for (proc_t **at = &procs; *at; at = &(*at)->next)
        if (*at == p) {
            *at = p->next;
            break;
        }
    group_t *g = p->group;
    free(p);
    if (g) dispatch(g);
}

static void reap(void) {
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        proc_t *p = procs;
        while (p && p->pid != pid) p = p->next;
        if (!p) { /* a child it did not start died: others like it may live */
            strangers = 1;
            continue;
        }
        p->reaped = 1;
        p->status = status;
        /* A server, or a shepherd that was killed (a shepherd exits by itself otherwise),
           leaves its descendants to the runner. */
        if (p->group || WIFSIGNALED(status)) strangers = 1;
    }
    if (strangers) sweep_strangers();
}

static void pump_stdin(proc_t *p) {
    while (p->inq.off < p->inq.len) {
        ssize_t w = write(p->in, p->inq.p + p->inq.off, p->inq.len - p->inq.off);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN) return;
            p->inq.off = p->inq.len = 0; /* EPIPE: it stopped reading; drop the rest */
            close_fd(&p->in);
            return;
        }
        p->inq.off += (size_t)w;
    }
    p->inq.off = p->inq.len = 0;
    if (p->close_in) close_fd(&p->in);
}

static void pump_output(proc_t *p, int *fd, int is_err) {
    static unsigned char chunk[CHUNK];
    ssize_t n = read(*fd, chunk, sizeof chunk);
    if (n > 0) {
        if (is_err) on_stderr(p, chunk, (size_t)n);
        else on_stdout(p, chunk, (size_t)n);
    } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
        close_fd(fd);
    }
}

static void handle(char type, uint32_t id, unsigned char *data, size_t n) {
    if (type == 'S') start_one_shot(id, data, n);
    else if (type == 'L') loaded_call(id, data, n);
    else if (type == 'K') kill_call(id);
}

int main(int argc, char **argv) {
    if (argc > 1) {
        if (!strcmp(argv[1], "--version")) {
            puts(VERSION);
            return 0;
        }
        fprintf(stderr, "usage: %s [--version]  (requests on stdin, replies on stdout)\n",
                argv[0]);
        return 2;
    }
    int sp[2];
    if (pipe2(sp, O_CLOEXEC | O_NONBLOCK)) die("pipe");
    sigpipe_r = sp[0];
    sigpipe_w = sp[1];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigchld;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigaction(SIGCHLD, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    prctl(PR_SET_CHILD_SUBREAPER, 1); /* orphans of the calls come here, not to PID 1 */
    sweep_orphans_of_init();
    send_text('H', 0, VERSION);

    buf_t rx = {0};
    struct pollfd *fds = NULL;
    proc_t **owner = NULL;
    int *which = NULL;
    size_t room = 0;
    int host_open = 1;
    while (host_open) {
        size_t count = 0, need = 2;
        for (proc_t *p = procs; p; p = p->next) need += 3;
        if (need > room) {
            room = need * 2;
            fds = xalloc(fds, room * sizeof *fds);
            owner = xalloc(owner, room * sizeof *owner);
            which = xalloc(which, room * sizeof *which);
        }
        fds[count] = (struct pollfd){0, POLLIN, 0};
        owner[count++] = NULL;
        fds[count] = (struct pollfd){sigpipe_r, POLLIN, 0};
        owner[count++] = NULL;
        for (proc_t *p = procs; p; p = p->next) {
            int wanted[3] = {p->out, p->err, p->inq.len > p->inq.off ? p->in : -1};
            for (int k = 0; k < 3; k++)
                if (wanted[k] >= 0) {
                    fds[count] = (struct pollfd){wanted[k], k == 2 ? POLLOUT : POLLIN, 0};
                    owner[count] = p;
                    which[count++] = k;
                }
        }
        if (poll(fds, count, -1) < 0) {
            if (errno == EINTR) continue;
            die("poll");
        }
        if (fds[1].revents) {
            char drain[64];
            while (read(sigpipe_r, drain, sizeof drain) > 0) {
            }
            reap();
        }
        for (size_t i = 2; i < count; i++) {
            proc_t *p = owner[i];
            if (!fds[i].revents) continue;
            if (which[i] == 0 && p->out >= 0) pump_output(p, &p->out, 0);
            else if (which[i] == 1 && p->err >= 0) pump_output(p, &p->err, 1);
            else if (which[i] == 2 && p->in >= 0) pump_stdin(p);
        }
        if (fds[0].revents) {
            unsigned char chunk[CHUNK];
            ssize_t n = read(0, chunk, sizeof chunk);
            if (n == 0) host_open = 0;
            else if (n < 0 && errno != EINTR && errno != EAGAIN) host_open = 0;
            else if (n > 0) buf_add(&rx, chunk, (size_t)n);
            while (rx.len - rx.off >= HEADER) {
                unsigned char *h = rx.p + rx.off;
                uint32_t size = get32(h + 5);
                if (size > MAX_FRAME) {
                    errno = EMSGSIZE;
                    die("request frame too large");
                }
                if (rx.len - rx.off < HEADER + (size_t)size) break;
                rx.off += HEADER + size;
                handle((char)h[0], get32(h + 1), h + HEADER, size);
            }
        }
        for (proc_t *p = procs, *next; p; p = next) {
            next = p->next;
            if (p->reaped && p->killed) { /* killed: do not wait for what it left behind */
                close_fd(&p->out);
                close_fd(&p->err);
            }
            if (p->reaped && p->out < 0 && p->err < 0 && (!p->killed || group_gone(p->pid))) {
                finish(p);
                next = procs; /* finish may have started servers: walk again from the top */
            }
        }
        for (proc_t *p = procs; p; p = p->next)
            if (p->inq.len > p->inq.off && p->in >= 0) pump_stdin(p);
    }
    kill_all();
    return 0;
}
