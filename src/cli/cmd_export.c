/*
 * cmd_export.c — `logrisk export -m model.lrm --onnx out.onnx [--opset 14|17]`:
 * parses the flags and calls lr_export_onnx (convert/onnx.c), which builds
 * and writes the graph.
 */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char export_usage[] =
    "usage: logrisk export -m MODEL.lrm --onnx OUT.onnx [--opset 14|17]\n"
    "\n"
    "Writes the model as an ONNX file for ONNX Runtime and other ONNX tools.\n"
    "Inputs input_ids and attention_mask (int64 [batch, sequence]; ids of\n"
    "[CLS] line [SEP] as `logrisk tokenize` gives them, mask 1 for tokens and\n"
    "0 for padding), output logits (float [batch, labels]). The labels, max\n"
    "length, vocabulary and rules travel in the file's metadata_props.\n"
    "\n"
    "  -m, --model FILE  the .lrm model to export (required)\n"
    "  --onnx FILE       the ONNX file to write (required)\n"
    "  --opset N         14 (default: LayerNorm and GELU as the subgraphs ONNX\n"
    "                    Runtime fuses) or 17 (LayerNormalization nodes)\n";

int lr_cmd_export(int argc, char **argv) {
    const char *model = NULL, *out = NULL, *opset = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return lr_cli_usage(export_usage, 1);
        const char **slot = NULL;
        if (strcmp(a, "-m") == 0 || strcmp(a, "--model") == 0) slot = &model;
        else if (strcmp(a, "--onnx") == 0) slot = &out;
        else if (strcmp(a, "--opset") == 0) slot = &opset;
        if (!slot) {
            fprintf(stderr, "logrisk export: unknown argument '%s'\n\n", a);
            return lr_cli_usage(export_usage, 0);
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "logrisk export: %s needs a value\n\n", a);
            return lr_cli_usage(export_usage, 0);
        }
        *slot = argv[++i];
    }
    if (!model || !out) {
        fprintf(stderr, "logrisk export: %s is required\n\n", !model ? "-m MODEL" : "--onnx FILE");
        return lr_cli_usage(export_usage, 0);
    }
    lr_onnx_options opts = {0};
    if (opset) {
        if (strcmp(opset, "14") != 0 && strcmp(opset, "17") != 0) {
            fprintf(stderr, "logrisk export: --opset must be 14 or 17, not '%s'\n\n", opset);
            return lr_cli_usage(export_usage, 0);
        }
        opts.opset = atoi(opset);
    }
    lr_error err = {0};
    if (lr_export_onnx(model, out, &opts, &err) != 0) return lr_cli_error("export", &err);
    return 0;
}
