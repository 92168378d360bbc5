/*
 * files.c — opening trusted input files safely and writing files
 * atomically (the contracts are in files.h).
 *
 * Design
 *  - One place decides what "a safe open" and "an atomic write" are, so
 *    every reader of models, rules and configs and every writer of models,
 *    checkpoints, metrics and ONNX files behave the same.
 *  - The temporary's name carries 64 random bits (getrandom, else the
 *    clock, pid and a counter mixed): a name cannot be guessed ahead, and
 *    O_EXCL | O_NOFOLLOW make a guessed one harmless anyway (the open fails
 *    and the next name is tried).
 *  - The directory's fsync is best effort: some file systems refuse it,
 *    and the rename has been done by then.
 */
#include "files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

/* ------------------------------------------------------------ reading */

static const char *kind_of(mode_t m) {
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISDIR(m)) return "a directory";
    if (S_ISSOCK(m)) return "a socket";
    return "another kind of file";
}

int lr__file_open_regular(const char *path, const char *what, lr_error *err) {
    const char *sp = what ? " " : "";
    if (!what) what = "";
    if (!path) return lr__err(err, LR_EINVAL, "no path for the %s", what);
    /* O_NONBLOCK: opening a FIFO that has no writer returns at once */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) return lr__err(err, LR_EIO, "cannot open %s%s'%s': %s", what, sp, path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return lr__err(err, LR_EIO, "cannot stat %s%s'%s': %s", what, sp, path, strerror(e));
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        return lr__err(err, LR_EIO, "%s%s'%s' is not a regular file (%s)", what, sp, path, kind_of(st.st_mode));
    }
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        int e = errno;
        close(fd);
        return lr__err(err, LR_EIO, "%s%s'%s': %s", what, sp, path, strerror(e));
    }
    return fd;
}

int lr__file_read_all(const char *path, const char *what, size_t max_bytes, char **out, size_t *len,
                      lr_error *err) {
    *out = NULL;
    *len = 0;
    int fd = lr__file_open_regular(path, what, err);
    if (fd < 0) return fd;
    if (!what) what = "file";
    struct stat st;
    int rc = LR_OK;
    if (fstat(fd, &st) != 0) rc = lr__err(err, LR_EIO, "cannot stat %s '%s': %s", what, path, strerror(errno));
    else if ((uint64_t)st.st_size > max_bytes)
        rc = lr__err(err, LR_ERANGE, "%s '%s' is %lld bytes, more than the %zu allowed", what, path,
                     (long long)st.st_size, max_bytes);
    lr__buf b;
    lr__buf_init(&b);
    /* the size is only a hint (the file may grow while it is read): read to
     * the end, never past the limit */
    if (!rc && lr__buf_reserve(&b, (size_t)st.st_size + 1))
        rc = lr__err(err, LR_ENOMEM, "out of memory reading %s '%s'", what, path);
    while (!rc) {
        if (b.cap - b.len < 2 && lr__buf_reserve(&b, 65536)) {
            rc = lr__err(err, LR_ENOMEM, "out of memory reading %s '%s'", what, path);
            break;
        }
        ssize_t n = read(fd, b.data + b.len, b.cap - b.len - 1);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            rc = lr__err(err, LR_EIO, "error reading %s '%s': %s", what, path, strerror(errno));
            break;
        }
        if (n == 0) break;
        b.len += (size_t)n;
        if (b.len > max_bytes)
            rc = lr__err(err, LR_ERANGE, "%s '%s' is more than the %zu bytes allowed", what, path, max_bytes);
    }
    close(fd);
    if (rc) {
        lr__buf_free(&b);
        return rc;
    }
    if (!b.data && lr__buf_reserve(&b, 1)) return lr__err(err, LR_ENOMEM, "out of memory reading '%s'", path);
    b.data[b.len] = '\0';
    *out = b.data;
    *len = b.len;
    return LR_OK;
}

/* ------------------------------------------------------------ writing */

static uint64_t mix64(uint64_t x) {
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t random64(void) {
    static uint64_t counter;
    uint64_t v;
    if (getrandom(&v, sizeof v, GRND_NONBLOCK) == (ssize_t)sizeof v) return v;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t c = __atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
    return mix64((uint64_t)ts.tv_nsec ^ ((uint64_t)ts.tv_sec << 30) ^ ((uint64_t)getpid() << 16) ^ mix64(c));
}

static void atomic_release(lr__atomic *a) {
    lr__free(a->path);
    lr__free(a->tmp);
    a->path = a->tmp = NULL;
    a->fd = -1;
    a->fp = NULL;
}

/* Create tmp for path into a; *eno gets open's errno on failure. */
static int open_tmp(lr__atomic *a, const char *path, const char *tmp, int *eno, lr_error *err) {
    a->fd = -1;
    a->fp = NULL;
    a->path = lr__strdup(path);
    a->tmp = lr__strdup(tmp);
    *eno = 0;
    if (!a->path || !a->tmp) {
        atomic_release(a);
        return lr__err(err, LR_ENOMEM, "out of memory writing '%s'", path);
    }
    /* the rename would replace a device, FIFO or directory at path with a
     * regular file (run as root on /dev/null, it breaks the machine) */
    struct stat st;
    if (stat(path, &st) == 0 && !S_ISREG(st.st_mode)) {
        atomic_release(a);
        return lr__err(err, LR_EIO, "'%s' is not a regular file: a file is written to a regular file or a new path",
                       path);
    }
    a->fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (a->fd < 0) {
        *eno = errno;
        atomic_release(a);
        return lr__err(err, LR_EIO, "cannot create the temporary file '%s': %s", tmp, strerror(*eno));
    }
    return LR_OK;
}

int lr__atomic_open_named(lr__atomic *a, const char *path, const char *tmp, lr_error *err) {
    int eno;
    return open_tmp(a, path, tmp, &eno, err);
}

int lr__atomic_open(lr__atomic *a, const char *path, lr_error *err) {
    size_t n = strlen(path);
    char *tmp = lr__malloc(n + 32);
    if (!tmp) return lr__err(err, LR_ENOMEM, "out of memory writing '%s'", path);
    int rc = LR_EIO, eno = 0;
    for (int attempt = 0; attempt < 64; attempt++) {
        snprintf(tmp, n + 32, "%s.tmp-%016llx", path, (unsigned long long)random64());
        rc = open_tmp(a, path, tmp, &eno, err);
        if (rc != LR_EIO || eno != EEXIST) break; /* only a taken name is worth another try */
    }
    lr__free(tmp);
    return rc;
}

int lr__atomic_write(lr__atomic *a, const void *data, size_t len, lr_error *err) {
    const unsigned char *p = data;
    while (len) {
        ssize_t n = write(a->fd, p, len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0)
            return lr__err(err, LR_EIO, "error writing '%s': %s", a->tmp, n < 0 ? strerror(errno) : "no progress");
        p += n;
        len -= (size_t)n;
    }
    return LR_OK;
}

FILE *lr__atomic_stdio(lr__atomic *a, lr_error *err) {
    if (a->fp) return a->fp;
    a->fp = fdopen(a->fd, "wb");
    if (!a->fp) lr__err(err, errno == ENOMEM ? LR_ENOMEM : LR_EIO, "cannot write '%s': %s", a->tmp, strerror(errno));
    return a->fp;
}

/* Make a rename durable: fsync the directory holding `path`. */
static void fsync_dir_of(const char *path) {
    const char *slash = strrchr(path, '/');
    char *dir = slash == path ? lr__strdup("/") : slash ? lr__strndup(path, (size_t)(slash - path)) : lr__strdup(".");
    if (!dir) return;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        (void)fsync(fd);
        close(fd);
    }
    lr__free(dir);
}

/* Close the temporary (the stream if there is one); 0 or an errno. */
static int close_tmp(lr__atomic *a, int flush_and_sync) {
    int e = 0;
    if (a->fp) {
        if (flush_and_sync && fflush(a->fp) != 0) e = errno ? errno : EIO;
        if (flush_and_sync && !e && fsync(a->fd) != 0) e = errno;
        if (fclose(a->fp) != 0 && !e) e = errno ? errno : EIO;
    } else if (a->fd >= 0) {
        if (flush_and_sync && fsync(a->fd) != 0) e = errno;
        if (close(a->fd) != 0 && !e) e = errno;
    }
    a->fp = NULL;
    a->fd = -1;
    return e;
}

int lr__atomic_commit(lr__atomic *a, lr_error *err) {
    if (!a->tmp) return lr__err(err, LR_EINVAL, "lr__atomic_commit: nothing open");
    int rc = LR_OK;
    int e = close_tmp(a, 1);
    if (e) rc = lr__err(err, LR_EIO, "error writing '%s': %s", a->tmp, strerror(e));
    else if (rename(a->tmp, a->path) != 0)
        rc = lr__err(err, LR_EIO, "cannot rename '%s' to '%s': %s", a->tmp, a->path, strerror(errno));
    if (rc) {
        unlink(a->tmp);
    } else {
        fsync_dir_of(a->path);
    }
    atomic_release(a);
    return rc;
}

void lr__atomic_abort(lr__atomic *a) {
    if (!a->tmp) return;
    close_tmp(a, 0);
    unlink(a->tmp);
    atomic_release(a);
}

int lr__file_write_atomic(const char *path, const void *data, size_t len, lr_error *err) {
    lr__atomic a;
    int rc = lr__atomic_open(&a, path, err);
    if (rc) return rc;
    if ((rc = lr__atomic_write(&a, data, len, err))) {
        lr__atomic_abort(&a);
        return rc;
    }
    return lr__atomic_commit(&a, err);
}

/* ------------------------------------------------------------- inputs */

lr__input_kind lr__input_kind_of(const char *spec) {
    if (strpbrk(spec, "*?[")) return LR__INPUT_GLOB;
    struct stat st;
    if (stat(spec, &st) == 0 && S_ISDIR(st.st_mode)) return LR__INPUT_DIR;
    return LR__INPUT_FILE;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static int expand_dir(const char *dir, int (*fn)(void *, const char *), void *user, lr_error *err) {
    DIR *d = opendir(dir);
    if (!d) return lr__err(err, LR_EIO, "cannot read the directory '%s': %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    size_t dl = strlen(dir);
    int slash = dl > 0 && dir[dl - 1] == '/';
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno) rc = lr__err(err, LR_EIO, "cannot read the directory '%s': %s", dir, strerror(errno));
            break;
        }
        size_t nl = strlen(de->d_name);
        if (nl < 5 || strcmp(de->d_name + nl - 4, ".log") != 0) continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **nn = lr__realloc(names, nc * sizeof *nn);
            if (!nn) {
                rc = lr__err(err, LR_ENOMEM, "out of memory listing '%s'", dir);
                break;
            }
            names = nn;
            cap = nc;
        }
        char *p = lr__malloc(dl + nl + 2);
        if (!p) {
            rc = lr__err(err, LR_ENOMEM, "out of memory listing '%s'", dir);
            break;
        }
        memcpy(p, dir, dl);
        if (!slash) p[dl] = '/';
        memcpy(p + dl + !slash, de->d_name, nl + 1);
        names[n++] = p;
    }
    closedir(d);
    if (n > 1) qsort(names, n, sizeof *names, cmp_str);
    for (size_t i = 0; i < n; i++) {
        if (!rc) rc = fn(user, names[i]);
        lr__free(names[i]);
    }
    lr__free(names);
    return rc;
}

int lr__input_expand(const char *spec, int (*fn)(void *user, const char *path), void *user, lr_error *err) {
    switch (lr__input_kind_of(spec)) {
    case LR__INPUT_DIR:
        return expand_dir(spec, fn, user, err);
    case LR__INPUT_GLOB: {
        glob_t g;
        memset(&g, 0, sizeof g);
        int gr = glob(spec, 0, NULL, &g);
        int rc = 0;
        if (gr == GLOB_NOSPACE) rc = lr__err(err, LR_ENOMEM, "out of memory expanding '%s'", spec);
        else if (gr == GLOB_ABORTED) rc = lr__err(err, LR_EIO, "cannot read a directory of '%s'", spec);
        for (size_t i = 0; gr == 0 && i < g.gl_pathc && !rc; i++) rc = fn(user, g.gl_pathv[i]);
        if (gr == 0 || gr == GLOB_NOSPACE) globfree(&g);
        return rc;
    }
    default:
        return fn(user, spec);
    }
}

int lr__input_excluded(const char *path, const char *const *patterns, int n) {
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    for (int i = 0; i < n; i++)
        if (fnmatch(patterns[i], path, 0) == 0 || fnmatch(patterns[i], base, 0) == 0) return 1;
    return 0;
}
