// ort_check.mjs — runs an ONNX file exported by `logrisk export` in ONNX
// Runtime (npm onnxruntime-node) and compares its logits with logrisk's.
//
//   node tools/ort_check.mjs --ort DIR --model m.onnx --tokens tok.jsonl
//        --ref score.jsonl [--batch 1,32] [--optimized out.onnx]
//        [--threads N] [--reps N]
//
// --ort DIR       a directory whose node_modules holds onnxruntime-node
// --tokens FILE   `logrisk tokenize` output: one {"ids":[...]} per line
// --ref FILE      `logrisk score --logits` output for the same lines
// --batch LIST    batch sizes; lines are taken in input order, each batch
//                 padded to its longest line (id 0, attention_mask 0)
// --optimized F   also save ORT's optimised graph (level 'all') to F
// --sort 1        batch the lines sorted by length (as logrisk's scorer
//                 does) instead of in input order
// --reps N        timed passes over all lines per batch size after the
//                 checked one (best is kept; 0: time the checked pass)
//
// Prints one JSON object: per batch size the max |logit difference|, the
// tokens, and the best wall time of a pass over all lines.
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, "")] = process.argv[i + 1];
for (const k of ["ort", "model", "tokens", "ref"]) {
  if (!args[k]) {
    console.error(`ort_check: --${k} is required`);
    process.exit(2);
  }
}
const require = createRequire(path.resolve(args.ort) + "/");
const ort = require("onnxruntime-node");

const readJsonl = (f) =>
  readFileSync(f, "utf8").split("\n").filter((l) => l.length > 0).map((l) => JSON.parse(l));
const ids = readJsonl(args.tokens).map((o) => o.ids);
const ref = readJsonl(args.ref).map((o) => o.logits);
if (ids.length !== ref.length) {
  console.error(`ort_check: ${ids.length} token lines but ${ref.length} reference lines`);
  process.exit(1);
}
const batches = (args.batch || "1,32").split(",").map(Number);
const reps = Number(args.reps || 0);

const opts = { graphOptimizationLevel: "all", executionMode: "sequential" };
if (args.threads) {
  opts.intraOpNumThreads = Number(args.threads);
  opts.interOpNumThreads = 1;
}
if (args.optimized) opts.optimizedModelFilePath = args.optimized;
const session = await ort.InferenceSession.create(args.model, opts);

// The order lines are batched in: input order, or by length with --sort.
const order = ids.map((_, i) => i);
if (args.sort === "1") order.sort((a, b) => ids[a].length - ids[b].length || a - b);

// Feeds of one batch: lines order[lo..hi) padded to the longest.
function feeds(lo, hi) {
  const n = hi - lo;
  let len = 0;
  for (let i = lo; i < hi; i++) len = Math.max(len, ids[order[i]].length);
  const inp = new BigInt64Array(n * len), mask = new BigInt64Array(n * len);
  for (let r = 0; r < n; r++) {
    const row = ids[order[lo + r]];
    for (let j = 0; j < row.length; j++) {
      inp[r * len + j] = BigInt(row[j]);
      mask[r * len + j] = 1n;
    }
  }
  return {
    input_ids: new ort.Tensor("int64", inp, [n, len]),
    attention_mask: new ort.Tensor("int64", mask, [n, len]),
  };
}

const result = { model: args.model, lines: ids.length, batches: {} };
for (const bs of batches) {
  let maxDiff = 0, best = Infinity, tokens = 0, C = 0;
  for (let rep = 0; rep <= reps; rep++) {
    const t0 = process.hrtime.bigint();
    for (let lo = 0; lo < ids.length; lo += bs) {
      const hi = Math.min(ids.length, lo + bs);
      const out = await session.run(feeds(lo, hi));
      const lg = out.logits;
      C = lg.dims[1];
      if (lg.dims[0] !== hi - lo) throw new Error(`logits batch ${lg.dims[0]} != ${hi - lo}`);
      if (rep === 0) {
        for (let r = 0; r < hi - lo; r++) {
          const line = order[lo + r];
          tokens += ids[line].length;
          const want = ref[line];
          if (want.length !== C) throw new Error(`line ${line + 1}: ${C} logits, logrisk has ${want.length}`);
          for (let c = 0; c < C; c++) maxDiff = Math.max(maxDiff, Math.abs(lg.data[r * C + c] - want[c]));
        }
      }
    }
    const s = Number(process.hrtime.bigint() - t0) / 1e9;
    if (rep > 0 || reps === 0) best = Math.min(best, s);
  }
  result.batches[bs] = { max_diff: maxDiff, n_labels: C, tokens, seconds: best,
                         lines_per_s: ids.length / best };
}
console.log(JSON.stringify(result));
