/*
 * cmd_export.c — `logrisk export -m model.lrm --onnx out.onnx [--opset 14|17]`:
 * parses the flags and calls lr_export_onnx (convert/onnx.c), which builds
 * and writes the graph.
 */
#include <stdlib.h>

#include "cli.h"
#include "opts.h"

static const char *const OPSETS[] = {"14", "17", NULL};

int lr_cmd_export(int argc, char **argv) {
    const char *model = NULL, *out = NULL;
    int opset = 0;
    const lr_cli_opt opts[] = {
        LR_OPT("--model", "-m", LR_OPT_STR, &model, "MODEL.lrm", "the .lrm model to export (required)",
               .flags = LR_OPT_REQUIRED),
        LR_OPT("--onnx", NULL, LR_OPT_STR, &out, "OUT.onnx", "the ONNX file to write (required)",
               .flags = LR_OPT_REQUIRED),
        LR_OPT("--opset", NULL, LR_OPT_CHOICE, &opset, "14|17",
               "14 (default: LayerNorm and GELU as the subgraphs ONNX "
               "Runtime fuses) or 17 (LayerNormalization nodes)",
               .choices = OPSETS),
    };
    const lr_cli_spec spec = {
        "export",
        opts,
        LR_CLI_N(opts),
        .about = "Writes the model as an ONNX file for ONNX Runtime and other ONNX tools.\n"
                 "Inputs input_ids and attention_mask (int64 [batch, sequence]; ids of\n"
                 "[CLS] line [SEP] as `logrisk tokenize` gives them, mask 1 for tokens and\n"
                 "0 for padding), output logits (float [batch, labels]). The labels, max\n"
                 "length, vocabulary and rules travel in the file's metadata_props.\n",
    };
    int rc = lr_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc != LR_CLI_GO) return rc;
    lr_onnx_options onnx = {0};
    onnx.opset = atoi(OPSETS[opset]);
    lr_error err = {0};
    if (lr_export_onnx(model, out, &onnx, &err) != 0) return lr_cli_error("export", &err);
    return 0;
}
