/*
 * reseal.h — shared by the .lrm fuzz targets: the input as an aligned model
 * image, with both checksums recomputed where its header allows, so that
 * mutations reach the structural checks and the loader behind them.
 */
#ifndef LR_FUZZ_RESEAL_H
#define LR_FUZZ_RESEAL_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"

static void reseal(uint8_t *img, size_t size) {
    if (size < 64) return;
    uint64_t d;
    memcpy(&d, img + 40, 8);
    if (d < 64 || d > size) return;
    uint64_t dsum = lr__lrm_hash(img + d, size - (size_t)d);
    memcpy(img + 24, &dsum, 8);
    uint64_t hsum = lr__lrm_hash(img + 24, (size_t)d - 24);
    memcpy(img + 16, &hsum, 8);
}

/* The fuzz input as a model image: an exactly sized, 64-byte aligned copy
 * (the reader needs the alignment; the exact size lets ASan see any read
 * past the end), resealed when its last byte is even (odd: the checksum
 * paths themselves get exercised). NULL when out of memory; free() it. */
static uint8_t *lrm_image(const uint8_t *data, size_t size) {
    void *buf = NULL;
    if (posix_memalign(&buf, 64, size ? size : 1) != 0) return NULL;
    if (size) memcpy(buf, data, size);
    if (size && !(data[size - 1] & 1)) reseal(buf, size);
    return buf;
}

#endif /* LR_FUZZ_RESEAL_H */
