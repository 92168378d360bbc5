// hf_tokenize.mjs — the Hugging Face reference for logrisk's tokenizer.
//
// Builds, with npm `tokenizers` (0.23.2, see tools/package.json), the
// tokenizer bert-base-uncased's tokenizer.json describes — WordPiece from a
// vocab.txt, BertNormalizer (clean text, CJK, strip accents, lower case),
// BertPreTokenizer, "[CLS] $A [SEP]", truncation — plus the logrisk masks
// <TIME> <ID> <IP> <PID> <PATH> as added tokens (normalized: false), and
// [PAD] [UNK] [CLS] [SEP] [MASK] as special added tokens, each only when
// the vocab has it.
//
//   node tools/hf_tokenize.mjs encode --vocab V [--max-len N] [--jsonl FIELD]
//        stdin lines (or the string FIELD of JSON lines) -> one
//        {"tokens":[...],"ids":[...]} per line
//   node tools/hf_tokenize.mjs unicode [--table]
//        for every code point what BertNormalizer and BertPreTokenizer do:
//        FNV-1a hashes per 4096-code-point block (tests/golden/tok_unicode.txt)
//        or, with --table, the lines "cp;normalized cps;class" themselves
//   node tools/hf_tokenize.mjs bench --vocab V --file F [--jsonl FIELD] [--repeat R]
//        lines/s and tokens/s of encodeBatch over F's lines (one JS thread;
//        RAYON_NUM_THREADS sets the Rust worker threads)
//   node tools/hf_tokenize.mjs train --file F --out V
//        HF's own WordPiece trainer (default options: the binding exposes no
//        trainer settings) on F's lines; writes its vocab in id order
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(import.meta.url);
function loadTokenizers() {
  const dirs = [process.env.LR_NODE_MODULES, path.join(path.dirname(new URL(import.meta.url).pathname), 'node_modules')];
  for (const d of dirs) {
    if (!d) continue;
    try { return require(path.join(d, 'tokenizers')); } catch (e) { /* next */ }
  }
  return require('tokenizers');
}
const tk = loadTokenizers();

const SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];
const MASKS = ['<TIME>', '<ID>', '<IP>', '<PID>', '<PATH>'];

function arg(name, def) {
  const i = process.argv.indexOf(name);
  return i > 0 && i + 1 < process.argv.length ? process.argv[i + 1] : def;
}

async function build(vocabPath, maxLen) {
  const model = await tk.WordPiece.fromFile(vocabPath, {
    unkToken: '[UNK]', continuingSubwordPrefix: '##', maxInputCharsPerWord: 100,
  });
  const t = new tk.Tokenizer(model);
  t.setNormalizer(tk.bertNormalizer({ cleanText: true, handleChineseChars: true, lowercase: true }));
  t.setPreTokenizer(tk.bertPreTokenizer());
  const vocab = t.getVocab(false);
  const has = (s) => Object.prototype.hasOwnProperty.call(vocab, s);
  t.addSpecialTokens(SPECIALS.filter(has));
  t.addAddedTokens(MASKS.filter(has).map((m) => new tk.AddedToken(m, false, { normalized: false })));
  t.setPostProcessor(tk.templateProcessing('[CLS] $A [SEP]', null,
    [['[CLS]', vocab['[CLS]']], ['[SEP]', vocab['[SEP]']]]));
  t.setTruncation(maxLen);
  return t;
}

function readLines(file) {
  const text = new TextDecoder('utf-8').decode(fs.readFileSync(file === '-' ? 0 : file));
  const lines = text.split('\n');
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

async function cmdEncode() {
  const t = await build(arg('--vocab'), Number(arg('--max-len', '128')));
  const field = arg('--jsonl', null);
  let lines = readLines(arg('-i', '-'));
  if (field) lines = lines.map((l) => JSON.parse(l)[field]);
  const out = [];
  const chunk = 4096;
  for (let i = 0; i < lines.length; i += chunk) {
    const encs = await t.encodeBatch(lines.slice(i, i + chunk));
    for (const e of encs) out.push(JSON.stringify({ tokens: e.getTokens(), ids: e.getIds() }));
  }
  process.stdout.write(out.length ? out.join('\n') + '\n' : '');
}

// FNV-1a 32 over the UTF-8 (here: ASCII) bytes of the table lines.
function cmdUnicode() {
  const norm = tk.bertNormalizer({ cleanText: true, handleChineseChars: true, lowercase: true });
  const pre = tk.bertPreTokenizer();
  const table = process.argv.includes('--table');
  const out = [];
  let h = 0x811c9dc5 >>> 0;
  for (let cp = 0; cp < 0x110000; cp++) {
    if (cp % 4096 === 0) h = 0x811c9dc5 >>> 0;
    if (!(cp >= 0xd800 && cp < 0xe000)) {
      const s = String.fromCodePoint(cp);
      const n = [...norm.normalizeString(s)].map((c) => c.codePointAt(0).toString(16)).join(' ');
      const cls = pre.preTokenizeString('a' + s + 'a').length; // 1 word char, 2 space, 3 punct
      const line = cp.toString(16) + ';' + n + ';' + cls + '\n';
      if (table) out.push(line);
      for (let i = 0; i < line.length; i++) {
        h ^= line.charCodeAt(i);
        h = Math.imul(h, 0x01000193) >>> 0;
      }
    }
    if (!table && cp % 4096 === 4095) out.push(cp.toString(16).padStart(6, '0').slice(0, 3) + ' ' + h.toString(16).padStart(8, '0') + '\n');
  }
  process.stdout.write(out.join(''));
}

async function cmdBench() {
  const t = await build(arg('--vocab'), Number(arg('--max-len', '128')));
  const field = arg('--jsonl', null);
  let lines = readLines(arg('--file'));
  if (field) lines = lines.map((l) => JSON.parse(l)[field]);
  const repeat = Number(arg('--repeat', '3'));
  await t.encodeBatch(lines.slice(0, 1000)); // warm up
  let best = Infinity, tokens = 0;
  for (let r = 0; r < repeat; r++) {
    const t0 = process.hrtime.bigint();
    const encs = await t.encodeBatch(lines);
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    tokens = 0;
    for (const e of encs) tokens += e.getLength();
    best = Math.min(best, dt);
  }
  console.log(JSON.stringify({ lines: lines.length, tokens, seconds: best,
    lines_per_s: lines.length / best, tokens_per_s: tokens / best }));
}

function cmdTrain() {
  const t = new tk.Tokenizer(tk.WordPiece.empty());
  t.setNormalizer(tk.bertNormalizer({ cleanText: true, handleChineseChars: true, lowercase: true }));
  t.setPreTokenizer(tk.bertPreTokenizer());
  t.train([arg('--file')]);
  const vocab = t.getVocab(true);
  const byId = [];
  for (const [tok, id] of Object.entries(vocab)) byId[id] = tok;
  fs.writeFileSync(arg('--out'), byId.join('\n') + '\n');
}

const cmd = process.argv[2];
if (cmd === 'encode') await cmdEncode();
else if (cmd === 'unicode') cmdUnicode();
else if (cmd === 'bench') await cmdBench();
else if (cmd === 'train') cmdTrain();
else {
  console.error('usage: node tools/hf_tokenize.mjs encode|unicode|bench|train ...');
  process.exit(2);
}
