#!/usr/bin/python3
"""Checks and summarises an ONNX file (Debian python3-onnx; run with /usr/bin/python3).

    /usr/bin/python3 tools/onnx_check.py MODEL.onnx [--no-check]

Runs onnx.checker.check_model(full_check=True) (strict shape inference
included) unless --no-check (for ORT's optimised graphs, which use
com.microsoft operators the checker does not know), then prints one JSON
object: ir_version, opsets, producer, the graph inputs/outputs with element
type and dims (dim_param names or values), the metadata_props, and the
number of nodes of each op type (so a test can count fused nodes). Exit 1
with the checker's message when the model is invalid.
"""
import json
import sys

import onnx


def dims(vi):
    out = []
    for d in vi.type.tensor_type.shape.dim:
        out.append(d.dim_param if d.HasField("dim_param") else d.dim_value)
    return out


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    path = sys.argv[1]
    check = "--no-check" not in sys.argv[2:]
    model = onnx.load(path)
    if check:
        try:
            onnx.checker.check_model(model, full_check=True)
        except Exception as e:  # the checker raises ValidationError / InferenceError
            print(f"onnx_check: {path}: {e}", file=sys.stderr)
            return 1
    ops = {}
    for n in model.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    io = lambda vs: [{"name": v.name, "elem_type": v.type.tensor_type.elem_type, "dims": dims(v)} for v in vs]
    print(json.dumps({
        "checked": check,
        "ir_version": model.ir_version,
        "opsets": {o.domain or "ai.onnx": o.version for o in model.opset_import},
        "producer": [model.producer_name, model.producer_version],
        "inputs": io(model.graph.input),
        "outputs": io(model.graph.output),
        "initializers": len(model.graph.initializer),
        "metadata": {p.key: p.value for p in model.metadata_props},
        "ops": ops,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
