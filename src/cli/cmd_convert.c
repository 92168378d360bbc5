/*
 * cmd_convert.c — `logrisk convert --from-safetensors DIR -o model.lrm`:
 * parses the flags and calls lr_convert_safetensors, which does the work
 * (validation, head detection, labels, vocabulary, rules).
 */
#include "cli.h"
#include "opts.h"

int lr_cmd_convert(int argc, char **argv) {
    const char *dir = NULL, *out = NULL;
    lr_convert_options opts = {0};
    const lr_cli_opt table[] = {
        LR_OPT("--from-safetensors", NULL, LR_OPT_STR, &dir, "DIR", "the Hugging Face model directory (required)",
               .flags = LR_OPT_REQUIRED),
        LR_OPT("--output", "-o", LR_OPT_STR, &out, "MODEL.lrm", "the .lrm file to write (required)",
               .flags = LR_OPT_REQUIRED),
        LR_OPT("--vocab", NULL, LR_OPT_STR, &opts.vocab_path, "FILE", "vocab.txt to store (default DIR/vocab.txt)"),
        LR_OPT("--rules", NULL, LR_OPT_STR, &opts.rules_path, "FILE", "rules YAML to store with the model"),
        LR_OPT("--labels", NULL, LR_OPT_STR, &opts.labels, "a,b,c",
               "label names (default: config id2label, else 0..C-1)"),
    };
    const lr_cli_spec spec = {
        "convert",
        table,
        LR_CLI_N(table),
        .about = "Converts a Hugging Face BERT classifier directory to a logrisk model file.\n"
                 "DIR holds model.safetensors (F32, F16 or BF16 weights with BertModel names\n"
                 "under `bert.`), config.json (BertConfig keys) and vocab.txt. The head is\n"
                 "found from the tensor names: classifier.1.* + classifier.4.* (the seed MLP\n"
                 "head), classifier.* (one Linear on [CLS]), or bert.pooler.dense.* +\n"
                 "classifier.* (BertForSequenceClassification).\n",
    };
    int rc = lr_cli_parse(&spec, argc, argv, NULL, NULL);
    if (rc != LR_CLI_GO) return rc;
    lr_error err = {0};
    if (lr_convert_safetensors(dir, out, &opts, &err) != 0) return lr_cli_error("convert", &err);
    return 0;
}
