// ort_bench.mjs — ONNX Runtime (npm onnxruntime-node, CPU) on the benchmark
// workloads, the peer bench/engine.bench.sh measures in the same run.
//
//   node bench/peers/ort_bench.mjs --ort DIR --model model.onnx
//        --workload workload.json [--only realistic,latency] [--threads N]
//        [--reps N]
//   node bench/peers/ort_bench.mjs --ort DIR --model model.onnx --cold
//
// --ort DIR     a directory whose node_modules holds onnxruntime-node
// Workloads and token ids are those of bench/peers/torch_bench.py and
// bench/bench_engine.c: logs2048_bucketed, logs2048_pad128, fixed_b32_s128
// (best of --reps), and latency (one 24-token line at a time, 300 calls a
// rep: p50, p99). Session: graph optimisation 'all', sequential execution,
// --threads intra-op threads. Prints one JSON object per result. --cold
// creates the session, scores one 24-token line and exits (the caller
// times the process).
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import path from "node:path";

const args = { only: "realistic,latency", threads: "2", reps: "3" };
for (let i = 2; i < process.argv.length; i++) {
  const k = process.argv[i].replace(/^--/, "");
  if (k === "cold") args.cold = true;
  else args[k] = process.argv[++i];
}
for (const k of ["ort", "model"]) {
  if (!args[k]) {
    console.error(`ort_bench: --${k} is required`);
    process.exit(2);
  }
}
const ort = createRequire(path.resolve(args.ort) + "/")("onnxruntime-node");
const threads = Number(args.threads);
const session = await ort.InferenceSession.create(args.model, {
  graphOptimizationLevel: "all", executionMode: "sequential",
  intraOpNumThreads: threads, interOpNumThreads: 1,
});
const VOCAB = 30522;

// The id of position j of a line of len tokens (as torch_bench.py's
// token_ids and bench/bench_engine.c): [CLS], [SEP], and a fixed formula.
const tokenId = (line, j, len) =>
  j === 0 ? 101 : j === len - 1 ? 102 : 1000 + ((line * 7919 + j * 104729) % (VOCAB - 1000));

function batch(lines, lengths, padTo) {
  const width = padTo || Math.max(...lines.map((i) => lengths[i]));
  const ids = new BigInt64Array(lines.length * width);
  const mask = new BigInt64Array(lines.length * width);
  lines.forEach((i, r) => {
    for (let j = 0; j < lengths[i]; j++) {
      ids[r * width + j] = BigInt(tokenId(i, j, lengths[i]));
      mask[r * width + j] = 1n;
    }
  });
  const dims = [lines.length, width];
  return {
    feeds: { input_ids: new ort.Tensor("int64", ids, dims), attention_mask: new ort.Tensor("int64", mask, dims) },
    lines: lines.length,
    tokens: lines.reduce((s, i) => s + lengths[i], 0),
  };
}

const run = async (batches) => { for (const b of batches) await session.run(b.feeds); };
const emit = (row) => console.log(JSON.stringify({ engine: "onnxruntime-node", ...row }));

if (args.cold) {
  await run([batch([0], [24])]);
  process.exit(0);
}
const only = new Set(args.only.split(","));
const reps = Number(args.reps);
if (only.has("realistic")) {
  const lengths = JSON.parse(readFileSync(args.workload, "utf8")).lengths;
  const n = lengths.length;
  const order = [...lengths.keys()].sort((a, b) => lengths[a] - lengths[b] || a - b);
  const chunks = (list) => Array.from({ length: Math.ceil(list.length / 32) }, (_, k) => list.slice(32 * k, 32 * k + 32));
  const workloads = {
    logs2048_bucketed: chunks(order).map((c) => batch(c, lengths)),
    logs2048_pad128: chunks([...Array(n).keys()]).map((c) => batch(c, lengths, 128)),
    fixed_b32_s128: [batch([...Array(32).keys()], Array(32).fill(128))],
  };
  for (const [name, batches] of Object.entries(workloads)) {
    await run(batches); // warm-up
    let best = Infinity;
    for (let r = 0; r < (name === "fixed_b32_s128" ? 3 * reps : reps); r++) {
      const t0 = process.hrtime.bigint();
      await run(batches);
      best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
    }
    const lines = batches.reduce((s, b) => s + b.lines, 0);
    const tokens = batches.reduce((s, b) => s + b.tokens, 0);
    emit({ bench: "ort_infer", workload: name, threads, lines, real_tokens: tokens,
           lines_per_s: +(lines / best).toFixed(1), tokens_per_s: Math.round(tokens / best) });
  }
}
if (only.has("latency")) {
  const one = [batch([0], [24])];
  for (let i = 0; i < 20; i++) await run(one);
  const times = [];
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < 300; i++) {
      const t0 = process.hrtime.bigint();
      await run(one);
      times.push(Number(process.hrtime.bigint() - t0) / 1e6);
    }
  }
  times.sort((a, b) => a - b);
  emit({ bench: "ort_latency", workload: "b1_s24", threads,
         p50_ms: +times[times.length >> 1].toFixed(3), p99_ms: +times[Math.floor(times.length * 0.99)].toFixed(3) });
}
