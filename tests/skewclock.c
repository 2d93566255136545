/* Shift one process's wall clock, for tests of clock skew between hosts.
 *
 * Loaded with LD_PRELOAD. XS_SKEW_SECONDS=<n> adds n seconds to what the
 * process reads of the real-time clock (clock_gettime on CLOCK_REALTIME and
 * CLOCK_REALTIME_COARSE, gettimeofday, time). Monotonic and boot-time clocks,
 * sleeps and timed waits are left alone, so the process runs normally and
 * only its idea of the date is off. With XS_SKEW_STAMPS=1, setting a file's
 * times to "now" (utimensat / futimens with no times) stamps the shifted
 * time, as a file system whose clients stamp times would.
 *
 * Built by the tests: cc -shared -fPIC -O2 -o skewclock.so skewclock.c -ldl
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

typedef int (*gettime_fn)(clockid_t, struct timespec *);
typedef int (*tod_fn)(struct timeval *, void *);
typedef int (*utimensat_fn)(int, const char *, const struct timespec *, int);
typedef int (*futimens_fn)(int, const struct timespec *);

static long shift_seconds(void) {
    static int ready;
    static long shift;
    if (!ready) {
        const char *text = getenv("XS_SKEW_SECONDS");
        shift = text ? strtol(text, NULL, 10) : 0;
        ready = 1;
    }
    return shift;
}

static int stamps_shifted(void) {
    const char *text = getenv("XS_SKEW_STAMPS");
    return text != NULL && text[0] == '1';
}

int clock_gettime(clockid_t clock, struct timespec *out) {
    static gettime_fn real;
    if (!real) real = (gettime_fn)dlsym(RTLD_NEXT, "clock_gettime");
    int status = real(clock, out);
    if (status == 0 && out && (clock == CLOCK_REALTIME || clock == CLOCK_REALTIME_COARSE))
        out->tv_sec += shift_seconds();
    return status;
}

int gettimeofday(struct timeval *out, void *zone) {
    static tod_fn real;
    if (!real) real = (tod_fn)dlsym(RTLD_NEXT, "gettimeofday");
    int status = real(out, zone);
    if (status == 0 && out) out->tv_sec += shift_seconds();
    return status;
}

time_t time(time_t *out) {
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (out) *out = now.tv_sec;
    return now.tv_sec;
}

static const struct timespec *shifted_now(const struct timespec *asked, struct timespec pair[2]) {
    if (asked != NULL || !stamps_shifted()) return asked;
    clock_gettime(CLOCK_REALTIME, &pair[0]);
    pair[1] = pair[0];
    return pair;
}

int utimensat(int dir, const char *path, const struct timespec times[2], int flags) {
    static utimensat_fn real;
    struct timespec pair[2];
    if (!real) real = (utimensat_fn)dlsym(RTLD_NEXT, "utimensat");
    return real(dir, path, shifted_now(times, pair), flags);
}

int futimens(int fd, const struct timespec times[2]) {
    static futimens_fn real;
    struct timespec pair[2];
    if (!real) real = (futimens_fn)dlsym(RTLD_NEXT, "futimens");
    return real(fd, shifted_now(times, pair));
}
