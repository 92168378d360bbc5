/*
 * icount.c — one forward pass of a model, isolated for instruction
 * counting (bench/callgrind.bench.sh runs it under valgrind's callgrind).
 *
 *   icount MODEL.lrm [--lines N]          (N = 1..8, default 8)
 *
 * Loads the model, preprocesses (the model's rules, as `logrisk score`
 * does) and tokenizes the first N of the eight real log lines below (from
 * models/samples/sample_logs.log, picked for their different lengths and
 * formats), packs them into one batch, runs one warm-up lr_model_logits
 * (first-call work: kernel dispatch, lazy state) and then one more inside
 * measured_forward(), a function of its own that is never inlined, so that
 * `valgrind --tool=callgrind --toggle-collect='measured_forward*'` counts
 * exactly one forward pass and nothing else. Single thread (pool NULL):
 * the count does not depend on scheduling.
 *
 * Prints one line of key=value pairs on stdout, which the script parses:
 * the model's dtype, lines, tokens, the fp32 kernel path (lr_kernel_path),
 * the low-precision table (lr__qkern_get()->name: an internal of the
 * library, like the other bench programs use; no public API for it),
 * LOGRISK_ISA as given, `gemm` (which kernels run the encoder's Linear
 * layers for this dtype) and a checksum of the logits, so the work cannot
 * be optimised away. The warm-up and the measured pass must give the same
 * logits bit for bit (one thread, same input), or it fails.
 *
 * Run without arguments it only says how to run it (bench/run.sh runs
 * bench binaries bare only when they are named bench_*; this one is not).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "logrisk.h"
#include "qkern.h"
#include "util.h"

/* Real lines of different lengths and formats (kubelet, klog, containerd,
 * nginx, Java, zap JSON, Go panic, kernel). The first four are the ones
 * the slow reference path is counted on. */
static const char *const g_lines[] = {
    "2024-03-11T08:01:50.231Z node-a kernel: [12345.678901] EXT4-fs error (device nvme0n1p2): "
    "ext4_find_entry:1463: inode #1835012: comm kubelet: reading directory lblock 0",
    "2024-03-11T08:00:08.115Z node-a kubelet[1187]: INFO Created container web",
    "E0311 08:01:05.123456    1187 kubelet.go:2862] \"Error syncing pod, skipping\" "
    "err=\"failed to \\\"StartContainer\\\" for \\\"api\\\" with CrashLoopBackOff\"",
    "2024/03/11 08:02:21 [notice] 1#1: signal process started",
    "2024-03-11T08:01:33.517Z node-a containerd[902]: time=\"2024-03-11T08:01:33.517210Z\" "
    "level=error msg=\"RunPodSandbox for &PodSandboxMetadata{Name:api-6d4cf56db6-jk2lm} failed\" "
    "error=\"failed to create containerd task\"",
    "2024-03-11 08:03:02,330 WARN  [http-nio-8080-exec-2] com.zaxxer.hikari.pool.HikariPool: "
    "HikariPool-1 - Connection is not available, request timed out after 30000ms",
    "{\"level\":\"error\",\"ts\":\"2024-03-11T08:03:13.423Z\",\"caller\":\"grpc/client.go:77\","
    "\"msg\":\"rpc failed\",\"error\":\"rpc error: code = Unavailable desc = connection error: "
    "dial tcp 10.0.6.2:50051: i/o timeout\"}",
    "panic: runtime error: invalid memory address or nil pointer dereference",
};
enum { N_LINES = (int)LR_ARRAY_LEN(g_lines) };

/* The pass callgrind counts (--toggle-collect=measured_forward*): nothing
 * but the forward itself. Same contract as lr_model_logits. */
__attribute__((noinline)) static int measured_forward(lr_model_ctx *ctx, const int32_t *const *ids,
                                                      const int *lens, int n, float *logits,
                                                      lr_error *err) {
    return lr_model_logits(ctx, NULL, ids, lens, n, logits, err);
}

/* The sum of the logits with each one weighted by its position, in double:
 * a swapped row or label changes it too. */
static double checksum(const float *logits, int n) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)logits[i] * (double)(1 + i % 7);
    return s;
}

/* Which kernels run the encoder's Linear layers for this dtype (the
 * choice model.c/model_lowp.c make): f32 the fp32 path; q8 the int8
 * table; bf16 the bf16 table, or, when it has no bf16 kernel, the fp32
 * path on weights widened at load ("<path>-widened"). */
static void gemm_name(const char *dtype, char *out, size_t cap) {
    const lr__qkern *qk = lr__qkern_get();
    if (strcmp(dtype, "q8") == 0) snprintf(out, cap, "%s", qk->name);
    else if (strcmp(dtype, "bf16") == 0 && qk->bf16_nr > 0) snprintf(out, cap, "%s", qk->name);
    else if (strcmp(dtype, "bf16") == 0) snprintf(out, cap, "%s-widened", lr_kernel_path());
    else snprintf(out, cap, "%s", lr_kernel_path());
}

int main(int argc, char **argv) {
    if (argc < 2) {
        printf("icount: needs MODEL.lrm [--lines N]; bench/callgrind.bench.sh runs it under callgrind\n");
        return 0;
    }
    int n = N_LINES;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "--lines") == 0 && i + 1 < argc) {
            n = atoi(argv[++i]);
        } else {
            fprintf(stderr, "icount: unknown option %s\nusage: icount MODEL.lrm [--lines N]\n", argv[i]);
            return 2;
        }
    }
    if (n < 1 || n > N_LINES) {
        fprintf(stderr, "icount: --lines must be 1..%d\n", N_LINES);
        return 2;
    }

    lr_error err = {0};
    lr_model *model = lr_model_load(argv[1], &err);
    if (!model) {
        fprintf(stderr, "icount: %s\n", err.msg);
        return 1;
    }
    lr_model_info info;
    lr_model_get_info(model, &info);
    const int max_len = lr_model_max_len(model), n_labels = lr_model_n_labels(model);

    /* tokenizer and rules from the model, as lr_scorer_new takes them */
    size_t vlen = 0, ylen = 0;
    const char *vocab = lr_model_vocab_text(model, &vlen);
    const char *yaml = lr_model_rules_yaml(model, &ylen);
    lr_tok *tok = vocab ? lr_tok_from_text(vocab, vlen, &err) : NULL;
    lr_rules *rules = tok ? (yaml ? lr_rules_parse(yaml, ylen, "<model rules>", &err) : lr_rules_default(&err))
                          : NULL;
    lr_prep *prep = rules ? lr_prep_new(rules, &err) : NULL;
    if (!vocab) lr__err(&err, LR_EFORMAT, "%s has no vocabulary", argv[1]);
    int32_t *ids = lr__calloc((size_t)n * (size_t)max_len, sizeof *ids);
    const int32_t *rows[N_LINES];
    int lens[N_LINES];
    float *logits = lr__calloc((size_t)n * (size_t)n_labels, sizeof *logits);
    float *first = lr__calloc((size_t)n * (size_t)n_labels, sizeof *first);
    lr_model_ctx *ctx = prep ? lr_model_ctx_new(model, n * max_len, &err) : NULL;
    int rc = ctx && ids && logits && first ? 0 : 1;
    if (rc && !err.msg[0]) lr__err(&err, LR_ENOMEM, "out of memory");

    int tokens = 0;
    for (int i = 0; i < n && !rc; i++) {
        lr_line_info li;
        if (lr_prep_line(prep, g_lines[i], strlen(g_lines[i]), &li)) {
            lr__err(&err, LR_ENOMEM, "preprocessing: out of memory");
            rc = 1;
            break;
        }
        int32_t *row = ids + (size_t)i * (size_t)max_len;
        lens[i] = lr_tok_encode(tok, li.text, li.text_len, max_len, row);
        rows[i] = row;
        if (lens[i] < 2) {
            lr__err(&err, LR_EINVAL, "tokenizing line %d failed", i + 1);
            rc = 1;
        }
        tokens += lens[i];
    }
    const size_t n_out = (size_t)n * (size_t)n_labels;
    if (!rc) rc = lr_model_logits(ctx, NULL, rows, lens, n, first, &err) ? 1 : 0; /* warm-up */
    if (!rc) rc = measured_forward(ctx, rows, lens, n, logits, &err) ? 1 : 0;
    if (!rc && memcmp(first, logits, n_out * sizeof *logits) != 0) {
        lr__err(&err, LR_EINVAL, "the measured pass gave other logits than the warm-up");
        rc = 1;
    }
    if (rc) {
        fprintf(stderr, "icount: %s\n", err.msg);
    } else {
        const char *isa = getenv("LOGRISK_ISA");
        char gemm[64];
        gemm_name(info.dtype, gemm, sizeof gemm);
        printf("dtype=%s lines=%d tokens=%d kern=%s qkern=%s LOGRISK_ISA=%s gemm=%s checksum=%.6f\n",
               info.dtype, n, tokens, lr_kernel_path(), lr__qkern_get()->name, isa && *isa ? isa : "-",
               gemm, checksum(logits, (int)n_out));
    }
    lr_model_ctx_free(ctx);
    lr__free(first);
    lr__free(logits);
    lr__free(ids);
    lr_prep_free(prep);
    lr_rules_free(rules);
    lr_tok_free(tok);
    lr_model_free(model);
    return rc;
}
