/*
 * reseal.h — shared by the .lrm fuzz targets: recompute both checksums of
 * a mutated model image where its header allows, so that mutations reach
 * the structural checks and the loader behind the checksums.
 */
#ifndef LR_FUZZ_RESEAL_H
#define LR_FUZZ_RESEAL_H

#include <stdint.h>
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

#endif /* LR_FUZZ_RESEAL_H */
