/* Our loader client against the virtual chip (esp-virtual-chip subprocess).
 *   test_device_loader basic  : every chip, ROM-only and stub, 115200 (pty) and 921600 (RFC 2217):
 *                               detect, flash id/size, 1+ MB compressed write with MD5 verify,
 *                               read back, erase region, MD5 of a region, backing file check.
 *   test_device_loader faults : every fault the chip offers, stub and ROM; prints the fault
 *                               matrix; fails if any run reports success with wrong flash.
 * The chip program comes from $MP_VCHIP (set by ctest); firmware data from $MP_SHARED_DIR. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "loader/loader.h"
#include "vchip_proc.h"

#define FLASH_SIZE (4u << 20)

static const char *vchip_program;
static char tmpdir[256];
static int failures;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Deterministic test data of realistic compressibility: the MicroPython firmware when the
 * shared folder has it, otherwise text-like runs mixed with pseudo-random bytes. */
static uint8_t *make_data(uint32_t len, uint32_t seed)
{
    uint8_t *d = malloc(len);
    const char *shared = getenv("MP_SHARED_DIR");
    uint32_t got = 0;
    if (shared) {
        char path[512];
        snprintf(path, sizeof path, "%s/firmware/ESP32_GENERIC-20240602-v1.23.0.bin", shared);
        FILE *f = fopen(path, "rb");
        if (f) {
            got = (uint32_t)fread(d, 1, len, f);
            fclose(f);
        }
    }
    uint32_t x = seed * 2654435761u + 1;
    for (uint32_t i = got; i < len; i++) {
        x = x * 1103515245u + 12345u;
        d[i] = (i / 64) % 3 == 0 ? (uint8_t)(x >> 16) : (uint8_t)("micropython firmware "[i % 21]);
    }
    /* Make each run's data differ from what is already in flash. */
    for (uint32_t i = 0; i < len; i += 4096)
        d[i] ^= (uint8_t)(seed + 1);
    return d;
}

static int file_region_equals(const char *path, uint32_t addr, const uint8_t *want, uint32_t len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    uint8_t *buf = malloc(len);
    int ok = fseek(f, addr, SEEK_SET) == 0 && fread(buf, 1, len, f) == len &&
             memcmp(buf, want, len) == 0;
    free(buf);
    fclose(f);
    return ok;
}

static void md5_of(const uint8_t *d, size_t n, uint8_t out[16])
{
    unsigned int k = 16;
    EVP_Digest(d, n, out, &k, EVP_md5(), NULL);
}

#define CHECK(cond, ...)                                                                        \
    do {                                                                                       \
        if (!(cond)) {                                                                         \
            printf("  FAIL %s:%d: ", __FILE__, __LINE__);                                      \
            printf(__VA_ARGS__);                                                               \
            printf("\n");                                                                      \
            failures++;                                                                        \
            goto out;                                                                          \
        }                                                                                      \
    } while (0)

static void run_basic(const char *chip, int stub, uint32_t baud, int rfc, int plain)
{
    char flash[300], msg[300];
    snprintf(flash, sizeof flash, "%s/%s-%d-%u.bin", tmpdir, chip, stub, baud);
    unlink(flash);
    struct vchip_proc vp;
    struct loader *l = NULL;
    struct error err = {0};
    uint32_t len = 0x110000; /* 1 MB + 64 KB */
    uint32_t addr = 0x10000;
    uint8_t *data = make_data(len, (uint32_t)baud + (uint32_t)stub);
    uint8_t *back = malloc(len);
    uint8_t *pat = make_data(0x2000, 7);
    double t0 = now_s();
    printf("%-8s %-4s %7u %-7s %-5s ", chip, stub ? "stub" : "rom", baud,
           rfc ? "rfc2217" : "pty", plain ? "plain" : "defl");
    fflush(stdout);
    if (vchip_start(&vp, vchip_program, chip, flash, rfc, NULL, msg, sizeof msg) != 0) {
        printf("FAIL: %s\n", msg);
        failures++;
        free(data);
        free(back);
        free(pat);
        return;
    }
    struct loader_options opt = {0};
    opt.baud = baud;
    opt.no_stub = !stub;
    opt.no_compress = plain;
    opt.expect_chip = chip;
    int r = loader_open(vp.port, &opt, &l, &err);
    CHECK(r == 0, "connect: %s", err.msg);
    CHECK(strcmp(l->chip->name, chip) == 0, "detected %s", l->chip->name);
    CHECK(l->stub == stub, "stub running = %d", l->stub);
    CHECK(l->flash_size == FLASH_SIZE, "flash size %u (id 0x%06x)", l->flash_size, l->flash_id);
    CHECK(l->port->baud == baud, "baud %u", l->port->baud);
    r = loader_write_flash(l, addr, data, len, &err);
    CHECK(r == 0, "write: %s", err.msg);
    /* The ROM reads 64 bytes per command: read back the edges of the image only. */
    uint32_t rlen = stub ? len : 0x2000;
    r = loader_read_flash(l, addr, back, rlen, &err);
    CHECK(r == 0, "read: %s", err.msg);
    CHECK(memcmp(back, data, rlen) == 0, "read-back differs");
    if (!stub) {
        uint64_t tx = l->wire_tx;
        r = loader_read_flash(l, addr + len - 0x1000 - 100, back, 0x1000 + 100, &err);
        CHECK(r == 0, "read tail: %s", err.msg);
        CHECK(memcmp(back, data + len - 0x1000 - 100, 0x1000 + 100) == 0, "tail differs");
        /* one READ_FLASH_SLOW (18 bytes framed) per 64 bytes, as esptool --no-stub; the SPI
         * register engine would take ~18 commands */
        CHECK(l->wire_tx - tx < 66 * 40, "ROM read sent %llu bytes for 66 blocks",
              (unsigned long long)(l->wire_tx - tx));
    }
    uint8_t md_chip[16], md_want[16];
    r = loader_flash_md5(l, addr + 0x1000, 0x3000, md_chip, &err);
    CHECK(r == 0, "md5: %s", err.msg);
    md5_of(data + 0x1000, 0x3000, md_want);
    CHECK(memcmp(md_chip, md_want, 16) == 0, "md5 of region differs");
    /* Erase one sector of a two-sector pattern. */
    r = loader_write_flash(l, 0x300000, pat, 0x2000, &err);
    CHECK(r == 0, "write pattern: %s", err.msg);
    r = loader_erase_region(l, 0x300000, 0x1000, &err);
    CHECK(r == 0, "erase: %s", err.msg);
    r = loader_flash_md5(l, 0x301000, 0x1000, md_chip, &err);
    CHECK(r == 0, "md5 after erase: %s", err.msg);
    md5_of(pat + 0x1000, 0x1000, md_want);
    CHECK(memcmp(md_chip, md_want, 16) == 0, "erase touched the next sector");
    /* An unaligned small write keeps its neighbours. */
    r = loader_write_flash(l, 0x301010, (const uint8_t *)"hello", 5, &err);
    CHECK(r == 0, "unaligned write: %s", err.msg);
    loader_close(l, 1);
    l = NULL;
    vchip_stop(&vp);
    CHECK(file_region_equals(flash, addr, data, len), "backing file differs from the image");
    {
        uint8_t ff[0x1000];
        memset(ff, 0xFF, sizeof ff);
        CHECK(file_region_equals(flash, 0x300000, ff, 0x1000), "erased sector not blank");
        uint8_t sec[0x1000];
        memcpy(sec, pat + 0x1000, 0x1000);
        memcpy(sec + 0x10, "hello", 5);
        CHECK(file_region_equals(flash, 0x301000, sec, 0x1000), "unaligned write damaged data");
    }
    printf("ok  %.2f s\n", now_s() - t0);
out:
    loader_close(l, 0);
    vchip_stop(&vp);
    unlink(flash);
    free(data);
    free(back);
    free(pat);
}

/* The chip boots from flash on an RFC 2217 port until a reset sequence puts it in download
 * mode: the USB-Serial/JTAG sequence (§4.4) for a USB-JTAG port, the classic one otherwise. */
static void run_reset(const char *chip, int usb_jtag, enum loader_reset how, int expect_ok)
{
    char flash[300], msg[300];
    snprintf(flash, sizeof flash, "%s/reset.bin", tmpdir);
    unlink(flash);
    struct vchip_proc vp;
    const char *extra[] = {usb_jtag ? "--usb-jtag" : NULL, NULL};
    printf("reset %-8s %-9s port, %-9s sequence: ", chip, usb_jtag ? "USB-JTAG" : "UART",
           how == LOADER_RESET_USB_JTAG ? "USB-JTAG" : how == LOADER_RESET_NONE ? "no" : "classic");
    if (vchip_start(&vp, vchip_program, chip, flash, 1, extra, msg, sizeof msg) != 0) {
        printf("FAIL: %s\n", msg);
        failures++;
        return;
    }
    struct loader_options opt = {0};
    opt.before = how;
    opt.connect_attempts = 2;
    struct loader *l = NULL;
    struct error err = {0};
    int r = loader_open(vp.port, &opt, &l, &err);
    if ((r == 0) != expect_ok) {
        printf("FAIL: %s\n", r == 0 ? "connected without a proper reset" : err.msg);
        failures++;
    } else {
        printf("%s\n", r == 0 ? "connected" : "no sync, as expected");
    }
    loader_close(l, 1);
    vchip_stop(&vp);
    unlink(flash);
}

/* Whole-chip erase: the stub's ERASE_FLASH, or the ROM's FLASH_BEGIN over the whole flash. */
static void run_erase_all(const char *chip, int stub)
{
    char flash[300], msg[300];
    snprintf(flash, sizeof flash, "%s/erase.bin", tmpdir);
    unlink(flash);
    struct vchip_proc vp;
    printf("erase-flash %-8s %-4s: ", chip, stub ? "stub" : "rom");
    if (vchip_start(&vp, vchip_program, chip, flash, 0, NULL, msg, sizeof msg) != 0) {
        printf("FAIL: %s\n", msg);
        failures++;
        return;
    }
    struct loader_options opt = {0};
    opt.no_stub = !stub;
    opt.baud = 921600;
    struct loader *l = NULL;
    struct error err = {0};
    uint8_t *data = make_data(0x8000, 3);
    uint8_t *ff = malloc(FLASH_SIZE);
    memset(ff, 0xFF, FLASH_SIZE);
    int r = loader_open(vp.port, &opt, &l, &err);
    if (r == 0)
        r = loader_write_flash(l, 0x3F8000, data, 0x8000, &err);
    if (r == 0)
        r = loader_erase_flash(l, &err);
    loader_close(l, 0);
    vchip_stop(&vp);
    if (r != 0) {
        printf("FAIL: %s\n", err.msg);
        failures++;
    } else if (!file_region_equals(flash, 0, ff, FLASH_SIZE)) {
        printf("FAIL: flash not blank\n");
        failures++;
    } else {
        printf("ok\n");
    }
    unlink(flash);
    free(data);
    free(ff);
}

/* A ROM that takes CHANGE_BAUDRATE and then stops answering (an emulator's UART model, a
 * bridge that loses the switch): with reset lines the loader resets the chip, uploads the stub
 * at 115200 and changes speed through the stub; on a port without reset lines it never asks
 * the ROM (stub first); ROM-only there, the failure is a clear error naming the way out. */
static void run_rom_baud_hang(int rfc, int stub)
{
    char flash[300], msg[300];
    snprintf(flash, sizeof flash, "%s/hang.bin", tmpdir);
    unlink(flash);
    struct vchip_proc vp;
    const char *extra[] = {"--fault", "hang-cmd=0x0F@1", NULL};
    printf("ROM baud change hangs the ROM, %-4s %-7s: ", stub ? "stub" : "rom",
           rfc ? "rfc2217" : "pty");
    if (vchip_start(&vp, vchip_program, "esp32", flash, rfc, extra, msg, sizeof msg) != 0) {
        printf("FAIL: %s\n", msg);
        failures++;
        return;
    }
    struct loader_options opt = {0};
    opt.baud = 921600;
    opt.no_stub = !stub;
    opt.connect_attempts = 3;
    struct loader *l = NULL;
    struct error err = {0};
    uint8_t *data = make_data(0x8000, 5), back[0x100];
    int r = loader_open(vp.port, &opt, &l, &err);
    int expect_ok = stub || rfc;
    if (r == 0)
        r = loader_write_flash(l, 0x20000, data, 0x8000, &err);
    if (r == 0)
        r = loader_read_flash(l, 0x20000, back, sizeof back, &err);
    if (expect_ok && r == 0 && (l->port->baud != 921600 || memcmp(back, data, sizeof back))) {
        printf("FAIL: baud %u after connect, data %s\n", l->port->baud,
               memcmp(back, data, sizeof back) ? "differs" : "ok");
        failures++;
    } else if (expect_ok && r != 0) {
        printf("FAIL: %s\n", err.msg);
        failures++;
    } else if (!expect_ok && (r == 0 || !strstr(err.msg, "no reset lines"))) {
        printf("FAIL: %s\n", r == 0 ? "connected through a hung ROM" : err.msg);
        failures++;
    } else if (expect_ok) {
        printf("ok (%s)\n",
               l->rom_baud_failed ? "reset, stub changed the speed" : "stub changed the speed");
    } else {
        printf("ok: %s\n", err.msg);
    }
    loader_close(l, 0);
    vchip_stop(&vp);
    unlink(flash);
    free(data);
}

/* A pty has no reset lines: whether the session ends asking for a hard reset or not, the
 * chip is left in its ROM loader at 115200 and the next session connects (a board that stays
 * in download mode). */
static void run_pty_sessions(void)
{
    char flash[300], msg[300];
    snprintf(flash, sizeof flash, "%s/sessions.bin", tmpdir);
    unlink(flash);
    struct vchip_proc vp;
    printf("pty: three sessions in a row at 921600: ");
    if (vchip_start(&vp, vchip_program, "esp32c3", flash, 0, NULL, msg, sizeof msg) != 0) {
        printf("FAIL: %s\n", msg);
        failures++;
        return;
    }
    uint8_t *data = make_data(0x4000, 9), back[0x4000];
    struct loader_options opt = {0};
    opt.baud = 921600;
    opt.connect_attempts = 2;
    struct error err = {0};
    const char *what = "ok";
    for (int session = 0; session < 3; session++) {
        struct loader *l = NULL;
        if (loader_open(vp.port, &opt, &l, &err) != 0) {
            what = err.msg;
            break;
        }
        int r = session == 0 ? loader_write_flash(l, 0x30000, data, sizeof back, &err)
                             : loader_read_flash(l, 0x30000, back, sizeof back, &err);
        if (r == 0 && session > 0 && memcmp(back, data, sizeof back) != 0) {
            r = -1;
            snprintf(err.msg, sizeof err.msg, "session %d read different data", session + 1);
        }
        loader_close(l, session == 0); /* hard reset asked, then not */
        if (r != 0) {
            what = err.msg;
            break;
        }
    }
    if (strcmp(what, "ok") != 0) {
        printf("FAIL: %s\n", what);
        failures++;
    } else {
        printf("ok\n");
    }
    vchip_stop(&vp);
    unlink(flash);
    free(data);
}

/* ---------------------------------------------------------------- faults */

struct fault_case {
    const char *spec;  /* --fault argument */
    const char *what;  /* label */
    int plain;         /* uncompressed write (FLASH_BEGIN/DATA) */
    int zeros;         /* 256 KiB of zeros (one compressed block) instead of 64 KiB of data,
                          with the flash's erase and program times */
};

static const struct fault_case fault_cases[] = {
    {"drop-byte@120", "drop chip byte (sync/detect)", 0, 0},
    {"drop-byte@700", "drop chip byte (write/verify)", 0, 0},
    {"drop-byte@30000", "drop chip byte (read stream)", 0, 0},
    {"corrupt-byte@700", "corrupt chip byte (write/verify)", 0, 0},
    {"corrupt-byte@30000", "corrupt chip byte (read stream)", 0, 0},
    {"drop-rx-byte@12000", "drop host byte (stub upload/write)", 0, 0},
    {"drop-rx-byte@30000", "drop host byte (write data)", 0, 0},
    {"stall@700:4000", "chip stalls 4 s (write)", 0, 0},
    {"stall@700", "chip stalls until reset", 0, 0},
    {"disconnect@700", "disconnect (write)", 0, 0},
    {"disconnect@30000", "disconnect (read)", 0, 0},
    {"reset@700", "chip reset (write)", 0, 0},
    {"reset@30000", "chip reset (read)", 0, 0},
    {"fail-cmd=0x11@2", "FLASH_DEFL_DATA fails once", 0, 0},
    {"noreply-cmd=0x11@2", "FLASH_DEFL_DATA reply lost", 0, 0},
    {"noreply-cmd=0x13@1", "SPI_FLASH_MD5 reply lost", 0, 0},
    {"noreply-cmd=0x10@1", "FLASH_DEFL_BEGIN reply lost", 0, 0},
    {"noreply-cmd=0x03@3", "FLASH_DATA reply lost", 1, 0},
    {"fail-cmd=0x03@2", "FLASH_DATA fails once", 1, 0},
    {"drop-rx-byte@30000", "drop host byte (plain write data)", 1, 0},
    /* a lost reply after a block standing for 256 KiB: noticed within seconds */
    {"noreply-cmd=0x11@1", "compressible block reply lost", 0, 1},
    {"noreply-cmd=0x12@1", "FLASH_DEFL_END reply lost (compressible)", 0, 1},
};

static int run_fault(const struct fault_case *fc, int stub, int rfc, char *outcome, size_t olen)
{
    char flash[300], msg[300];
    snprintf(flash, sizeof flash, "%s/fault.bin", tmpdir);
    unlink(flash);
    struct vchip_proc vp;
    const char *extra[] = {"--fault", fc->spec, fc->zeros ? "--flash-time" : NULL, NULL};
    const char *chip = "esp32c3";
    if (vchip_start(&vp, vchip_program, chip, flash, rfc, extra, msg, sizeof msg) != 0) {
        snprintf(outcome, olen, "harness: %.200s", msg);
        return -1;
    }
    uint32_t len = fc->zeros ? 0x40000 : 0x10000, addr = 0x40000;
    uint8_t *data = make_data(len, 99);
    if (fc->zeros)
        memset(data, 0, len);
    uint8_t *back = malloc(len);
    struct loader_options opt = {0};
    opt.baud = 921600;
    opt.no_stub = !stub;
    opt.no_compress = fc->plain;
    opt.connect_attempts = 3;
    struct loader *l = NULL;
    struct error err = {0};
    int bad = 0;
    int r = loader_open(vp.port, &opt, &l, &err);
    const char *stage = "connect";
    if (r == 0) {
        stage = "write";
        r = loader_write_flash(l, addr, data, len, &err);
    }
    uint32_t rlen = stub ? len : 0x1000;
    if (r == 0) {
        stage = "read";
        r = loader_read_flash(l, addr, back, rlen, &err);
        if (r == 0 && memcmp(back, data, rlen) != 0) {
            bad = 1;
            snprintf(outcome, olen, "BAD: read reported success with wrong data");
        }
    }
    uint32_t retries = l ? l->retries : 0;
    loader_close(l, 0);
    vchip_stop(&vp);
    if (r == 0 && !bad) {
        if (!file_region_equals(flash, addr, data, len)) {
            bad = 1;
            snprintf(outcome, olen, "BAD: write reported success, flash differs");
        } else {
            snprintf(outcome, olen, "recovered (%u retr%s)", retries, retries == 1 ? "y" : "ies");
        }
    } else if (!bad) {
        if (!err.msg[0]) {
            bad = 1;
            snprintf(outcome, olen, "BAD: failed without a message");
        } else {
            snprintf(outcome, olen, "clear error in %s: %.110s", stage, err.msg);
        }
    }
    unlink(flash);
    free(data);
    free(back);
    return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
    vchip_program = getenv("MP_VCHIP");
    if (!vchip_program || access(vchip_program, X_OK) != 0) {
        printf("SKIP: the virtual chip program is not available (set MP_VCHIP)\n");
        return 77; /* ctest: skipped */
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/mp-loader-device-XXXXXX");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    const char *mode = argc > 1 ? argv[1] : "basic";
    printf("flasher stubs in this build: %s\n", loader_stubs_available() ? "yes" : "no (ROM only)");
    if (strcmp(mode, "basic") == 0) {
        static const char *chips[] = {"esp32", "esp32s2", "esp32s3", "esp32c3", "esp32c6"};
        for (size_t c = 0; c < sizeof chips / sizeof chips[0]; c++)
            for (int stub = 0; stub <= 1; stub++) {
                if (stub && !loader_stubs_available())
                    continue;
                run_basic(chips[c], stub, 115200, 0, 0);
                run_basic(chips[c], stub, 921600, 1, 0);
            }
        /* Uncompressed writes (FLASH_BEGIN/DATA), ROM and stub. */
        run_basic("esp32", 0, 921600, 1, 1);
        run_basic("esp32s3", 1, 921600, 0, 1);
        if (loader_stubs_available())
            run_erase_all("esp32c3", 1);
        run_erase_all("esp32s2", 0);
        run_reset("esp32", 0, LOADER_RESET_CLASSIC, 1);
        run_reset("esp32c3", 1, LOADER_RESET_USB_JTAG, 1);
        run_reset("esp32s3", 0, LOADER_RESET_NONE, 0);
        if (loader_stubs_available()) {
            run_rom_baud_hang(1, 1);
            run_rom_baud_hang(0, 1);
            run_pty_sessions();
        }
        run_rom_baud_hang(0, 0);
    } else if (strcmp(mode, "faults") == 0) {
        printf("\nfault matrix (esp32c3, 64 KiB write + read back, 921600 baud)\n");
        printf("%-40s %-8s | %s\n", "fault", "loader", "outcome");
        for (size_t i = 0; i < sizeof fault_cases / sizeof fault_cases[0]; i++)
            for (int stub = 1; stub >= 0; stub--) {
                if (stub && !loader_stubs_available())
                    continue;
                for (int rfc = 1; rfc >= 0; rfc--) {
                    /* Over a pty there are no modem lines: only the RFC 2217 runs can reset a
                     * stalled chip; pty runs cover the line faults. */
                    const char *spec = fault_cases[i].spec;
                    int line_fault = strncmp(spec, "drop", 4) == 0 ||
                                     strncmp(spec, "corrupt", 7) == 0;
                    if (fault_cases[i].zeros && !stub)
                        continue; /* the ROM ends a write without FLASH_DEFL_END */
                    /* ... and, with the stub, two faults a pty cannot recover from (no reset
                     * line; the chip's new pty path is unknown to us): they must end in a
                     * clear error. */
                    int pty_dead_end = stub && (!strcmp(spec, "stall@700") ||
                                                !strcmp(spec, "disconnect@700"));
                    if (!rfc && !line_fault && !pty_dead_end)
                        continue;
                    char outcome[256];
                    double t0 = now_s();
                    int bad = run_fault(&fault_cases[i], stub, rfc, outcome, sizeof outcome);
                    char label[64];
                    snprintf(label, sizeof label, "%s [%s%s]", fault_cases[i].spec,
                             rfc ? "rfc2217" : "pty", fault_cases[i].plain ? ", plain" : "");
                    double took = now_s() - t0;
                    printf("%-40s %-8s | %s (%.1f s)\n", label, stub ? "stub" : "rom", outcome,
                           took);
                    /* bounded timeouts: every recovery within seconds, whatever the data */
                    if (took > 20) {
                        printf("  FAIL: took %.1f s\n", took);
                        bad = 1;
                    }
                    fflush(stdout);
                    if (bad)
                        failures++;
                }
            }
    } else {
        fprintf(stderr, "usage: %s basic|faults\n", argv[0]);
        return 2;
    }
    rmdir(tmpdir);
    printf("%s\n", failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
