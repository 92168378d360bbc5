/*
 * cmd_convert.c — `logrisk convert --from-safetensors DIR -o model.lrm`:
 * parses the flags and calls lr_convert_safetensors, which does the work
 * (validation, head detection, labels, vocabulary, rules).
 */
#include <string.h>

#include "cli.h"

static const char convert_usage[] =
    "usage: logrisk convert --from-safetensors DIR -o MODEL.lrm [--vocab FILE]\n"
    "                       [--rules FILE] [--labels a,b,c]\n"
    "\n"
    "Converts a Hugging Face BERT classifier directory to a logrisk model file.\n"
    "DIR holds model.safetensors (F32, F16 or BF16 weights with BertModel names\n"
    "under `bert.`), config.json (BertConfig keys) and vocab.txt. The head is\n"
    "found from the tensor names: classifier.1.* + classifier.4.* (the seed MLP\n"
    "head), classifier.* (one Linear on [CLS]), or bert.pooler.dense.* +\n"
    "classifier.* (BertForSequenceClassification).\n"
    "\n"
    "  --from-safetensors DIR  the Hugging Face model directory (required)\n"
    "  -o, --output FILE       the .lrm file to write (required)\n"
    "  --vocab FILE            vocab.txt to store (default DIR/vocab.txt)\n"
    "  --rules FILE            rules YAML to store with the model\n"
    "  --labels a,b,c          label names (default: config id2label, else 0..C-1)\n";

int lr_cmd_convert(int argc, char **argv) {
    const char *dir = NULL, *out = NULL;
    lr_convert_options opts = {0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) return lr_cli_usage(convert_usage, 1);
        const char **slot = NULL;
        if (strcmp(a, "--from-safetensors") == 0) slot = &dir;
        else if (strcmp(a, "-o") == 0 || strcmp(a, "--output") == 0) slot = &out;
        else if (strcmp(a, "--vocab") == 0) slot = &opts.vocab_path;
        else if (strcmp(a, "--rules") == 0) slot = &opts.rules_path;
        else if (strcmp(a, "--labels") == 0) slot = &opts.labels;
        if (!slot) {
            fprintf(stderr, "logrisk convert: unknown argument '%s'\n\n", a);
            return lr_cli_usage(convert_usage, 0);
        }
        if (i + 1 >= argc) {
            fprintf(stderr, "logrisk convert: %s needs a value\n\n", a);
            return lr_cli_usage(convert_usage, 0);
        }
        *slot = argv[++i];
    }
    if (!dir || !out) {
        fprintf(stderr, "logrisk convert: %s is required\n\n", !dir ? "--from-safetensors DIR" : "-o FILE");
        return lr_cli_usage(convert_usage, 0);
    }
    lr_error err = {0};
    if (lr_convert_safetensors(dir, out, &opts, &err) != 0) return lr_cli_error("convert", &err);
    return 0;
}
