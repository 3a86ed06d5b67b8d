"""Put the GGUF's own Q4_1 blocks into an ONNX Runtime GenAI model: the ``q4_1`` variant, exact weights.

The bundled SmolLM2 GGUF stores its 210 projection matrices as Q4_1: blocks of 32 weights along the input
dimension, each ``w = d * q + m`` with ``q`` in 0..15 and ``d``, ``m`` float16. The model builder's int4 output
re-quantises the dequantised weights with an *integer* zero point, which moves every block by up to half a step;
that drift is why the ``int4`` variant leaves the reference within a few tokens.

The blocks can be written unchanged instead. ``MatMulNBits`` without zero points means a zero point of 8, so

    W = d * (q - 8) + (m + 8 d)   and   x @ W.T = MatMulNBits(x; q, d) + BlockSum(x) @ Off

where ``BlockSum(x)`` sums ``x`` over each block of 32 along K (``Reshape`` to ``[.., K/32, 32]`` + ``ReduceSum``)
and ``Off[K/32, N] = m + 8 d`` in float32; the extra ``MatMul`` is 1/32 of the work. (``MatMulNBits`` also takes
float zero points, ``-m/d`` exactly, but ONNX Runtime 1.32 then leaves its fast CPU kernel: measured 1.6 ms per
576x1536 product against 27 us, about 60x slower. The offset path costs about 2 us per product, so each layer's
gate and up products, which share their input, become one ``MatMulNBits`` of twice the N and a ``Split``.)

The tied head and embedding are Q8_0 in the GGUF (``w = d * q``, ``q`` int8, blocks of 32): written as the
builder's 8-bit ``MatMulNBits`` / ``GatherBlockQuantized`` data with ``q + 128`` and a zero point of 128, which is
exact too. The RMS-norm weights (float32 in the GGUF, rounded to bfloat16 in the converted checkpoint) are copied
from the GGUF. ``attn_q`` and ``attn_k`` rows are un-permuted as transformers' GGUF loader does (llama.cpp's
converter permutes them for its RoPE layout); a row permutation keeps the blocks whole.

:func:`rewrite_with_gguf_blocks` edits a builder ``int4`` folder in place (block size 32, 8-bit head); it needs
only numpy, ``onnx`` and ``gguf`` (no compiler, no network) and takes a few seconds.
:func:`dequantize_matmul_nbits` reads a weight back from the graph (used by the tests to prove the result exact).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from editorial.errors import ModelUnavailable

BLOCK = 32
MODEL_FILE = "model.onnx"
DATA_FILE = "model.onnx.data"
OFFSET_SUFFIX = ".q41_offset"
"""Name suffix of a replaced projection's offset initializer ``[K/32, N]`` (float32, ``m + 8 d``)."""

_PROJECTION = re.compile(
    r"^model\.layers\.(\d+)\.(attn\.qkv_proj|attn\.q_proj|attn\.k_proj|attn\.v_proj|attn\.o_proj|"
    r"mlp\.gate_proj|mlp\.up_proj|mlp\.gate_up_proj|mlp\.down_proj)\.MatMul\.weight_Q4G32$"
)
GGUF_PARTS = {
    "attn.qkv_proj": ("attn_q", "attn_k", "attn_v"),
    "attn.q_proj": ("attn_q",),
    "attn.k_proj": ("attn_k",),
    "attn.v_proj": ("attn_v",),
    "attn.o_proj": ("attn_output",),
    "mlp.gate_proj": ("ffn_gate",),
    "mlp.up_proj": ("ffn_up",),
    "mlp.gate_up_proj": ("ffn_gate", "ffn_up"),
    "mlp.down_proj": ("ffn_down",),
}
"""The GGUF tensors behind each of the builder's projections (stacked along N in this order)."""
_NORMS = {"input_layernorm": "attn_norm", "post_attention_layernorm": "ffn_norm"}


@dataclass
class Q41:
    """One Q4_1 matrix as ``[rows, K/32]`` blocks: 4-bit values ``q [rows, K/32, 32]``, ``d`` and ``m`` float32."""

    q: np.ndarray
    d: np.ndarray
    m: np.ndarray

    def take_rows(self, order: np.ndarray) -> Q41:
        """The same blocks with the rows in ``order`` (whole blocks move: they run along K)."""
        return Q41(self.q[order], self.d[order], self.m[order])

    @staticmethod
    def concat(parts: list[Q41]) -> Q41:
        """Stack matrices along N (the builder's fused q/k/v projection)."""
        return Q41(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("q", "d", "m")))


def read_q4_1(raw: np.ndarray) -> Q41:
    """Parse GGUF Q4_1 bytes ``[rows, K/32 * 20]``: per block ``d`` (f16), ``m`` (f16), 16 bytes of nibbles.

    ggml packs element ``j`` of a block in the low nibble of byte ``j`` and element ``j + 16`` in its high nibble.
    """
    rows = raw.shape[0]
    blocks = np.ascontiguousarray(raw).reshape(rows, -1, 20)
    d = blocks[..., 0:2].copy().view(np.float16)[..., 0].astype(np.float32)
    m = blocks[..., 2:4].copy().view(np.float16)[..., 0].astype(np.float32)
    qs = blocks[..., 4:20]
    q = np.concatenate([qs & 0x0F, qs >> 4], axis=-1)
    return Q41(q, d, m)


def read_q8_0(raw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Parse GGUF Q8_0 bytes ``[rows, K/32 * 34]`` into ``(q int8 [rows, K/32, 32], d float32 [rows, K/32])``."""
    rows = raw.shape[0]
    blocks = np.ascontiguousarray(raw).reshape(rows, -1, 34)
    d = blocks[..., 0:2].copy().view(np.float16)[..., 0].astype(np.float32)
    q = blocks[..., 2:34].copy().view(np.int8)
    return q, d


def rope_row_order(rows: int, n_head: int) -> np.ndarray:
    """Row order that undoes llama.cpp's q/k permutation (transformers' ``_reverse_permute_weights``)."""
    dim = rows // n_head // 2
    return np.arange(rows).reshape(n_head, dim, 2).swapaxes(2, 1).reshape(rows)


def pack_nibbles(q: np.ndarray) -> np.ndarray:
    """ONNX ``MatMulNBits`` 4-bit packing: ``[N, K/32, 32]`` values to ``[N, K/32, 16]`` bytes, low nibble first."""
    return (q[..., 0::2] | (q[..., 1::2] << 4)).astype(np.uint8)


def unpack_nibbles(packed: np.ndarray) -> np.ndarray:
    """Inverse of :func:`pack_nibbles`."""
    out = np.empty((*packed.shape[:-1], packed.shape[-1] * 2), dtype=np.uint8)
    out[..., 0::2] = packed & 0x0F
    out[..., 1::2] = packed >> 4
    return out


def dequantize_matmul_nbits(
    b: np.ndarray,
    scales: np.ndarray,
    zero_points: np.ndarray | None,
    bits: int,
    k: int,
    n: int,
    offset: np.ndarray | None = None,
) -> np.ndarray:
    """The float32 weight ``[N, K]`` a ``MatMulNBits`` node multiplies by (``y = x @ W.T``).

    ``offset`` is a q4_1 node's ``[K/32, N]`` offset (added per block); zero points default to ``2 ** (bits - 1)``.
    """
    blocks = k // BLOCK
    values = (unpack_nibbles(b) if bits == 4 else b).reshape(n, blocks, BLOCK).astype(np.float32)
    if zero_points is None:
        zp = np.full((n, blocks), 2 ** (bits - 1), dtype=np.float32)
    elif bits == 4:
        zp = unpack_nibbles(zero_points.reshape(n, -1))[:, :blocks].astype(np.float32)
    else:
        zp = zero_points.reshape(n, blocks).astype(np.float32)
    weight = scales.reshape(n, blocks, 1) * (values - zp[..., None])
    if offset is not None:
        weight = weight + offset.T[..., None]
    return weight.reshape(n, k)


def gguf_tensors(gguf_path: Path) -> dict[str, tuple[str, np.ndarray]]:
    """GGUF tensor name -> (quantisation type name, raw data) without dequantising."""
    from gguf import GGUFReader

    reader = GGUFReader(str(gguf_path))
    return {t.name: (t.tensor_type.name, np.asarray(t.data)) for t in reader.tensors}


def rewrite_with_gguf_blocks(folder: Path, gguf_path: Path) -> dict:
    """Replace the builder's re-quantised weights in ``folder`` by the GGUF's own blocks (in place).

    ``folder`` must hold a builder ``int4`` model with ``block_size=32`` (``model.onnx`` + ``model.onnx.data``
    and ``genai_config.json``). Returns counts of what was replaced.

    Raises:
        ModelUnavailable: the graph or the GGUF is not what this converter knows (nothing is half-replaced then:
            the caller builds into a temporary folder).
    """
    import onnx
    from onnx import helper, numpy_helper

    config = json.loads((folder / "genai_config.json").read_text(encoding="utf-8"))["model"]["decoder"]
    n_head, n_kv = config["num_attention_heads"], config["num_key_value_heads"]
    tensors = gguf_tensors(gguf_path)
    model = onnx.load(str(folder / MODEL_FILE), load_external_data=True)
    graph = model.graph
    inits = {init.name: init for init in graph.initializer}

    def q41(name: str) -> Q41:
        kind, raw = tensors.get(name, ("missing", None))
        if kind != "Q4_1":
            raise ModelUnavailable(f"The GGUF tensor {name} is {kind}, not Q4_1: cannot build the q4_1 variant.")
        blocks = read_q4_1(raw)
        if ".attn_q." in name:
            return blocks.take_rows(rope_row_order(blocks.q.shape[0], n_head))
        if ".attn_k." in name:
            return blocks.take_rows(rope_row_order(blocks.q.shape[0], n_kv))
        return blocks

    def put(name: str, array: np.ndarray) -> None:
        old = inits[name]
        if tuple(old.dims) != array.shape or old.data_type != helper.np_dtype_to_tensor_dtype(array.dtype):
            raise ModelUnavailable(f"The q4_1 rewrite expected {name} {tuple(old.dims)}, got {array.shape}.")
        old.CopyFrom(numpy_helper.from_array(array, name))

    new_inits, nodes, blocksums = [], [], {}
    replaced = 0
    stale = _fuse_gate_up(graph, inits)
    for node in graph.node:
        match = _PROJECTION.match(node.input[1]) if node.op_type == "MatMulNBits" and len(node.input) > 1 else None
        if not match:
            nodes.append(node)
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("bits") != 4 or attrs.get("block_size") != BLOCK:
            raise ModelUnavailable(f"{node.name} is not 4-bit in blocks of {BLOCK}: build q4_1 from the int4 variant.")
        layer, part = match.groups()
        blocks = Q41.concat([q41(f"blk.{layer}.{gguf}.weight") for gguf in GGUF_PARTS[part]])
        k, n = attrs["K"], attrs["N"]
        if blocks.q.shape != (n, k // BLOCK, BLOCK):
            raise ModelUnavailable(f"{node.name}: GGUF blocks {blocks.q.shape} do not fit N={n}, K={k}.")
        prefix = node.input[1].removesuffix(".weight_Q4G32")
        put(node.input[1], pack_nibbles(blocks.q))
        put(node.input[2], blocks.d.reshape(tuple(inits[node.input[2]].dims)))
        offset_name = prefix + OFFSET_SUFFIX
        offset = np.ascontiguousarray((blocks.m + 8.0 * blocks.d).T)
        new_inits.append(numpy_helper.from_array(offset, offset_name))

        x = node.input[0]
        if x not in blocksums:
            blocksums[x] = f"/q41/blocksum_{len(blocksums)}"
            nodes.extend(_blocksum_nodes(x, blocksums[x], k, inits, new_inits))
        out = node.output[0]
        del node.input[3:]  # no zero points: the kernel's default of 8
        node.output[0] = f"{out}/q41_nbits"
        nodes.append(node)
        nodes.append(
            helper.make_node(
                "MatMul", [blocksums[x], offset_name], [f"{out}/q41_offset"], name=f"{node.name}_q41_offset"
            )
        )
        nodes.append(
            helper.make_node("Add", [f"{out}/q41_nbits", f"{out}/q41_offset"], [out], name=f"{node.name}_q41_add")
        )
        replaced += len(GGUF_PARTS[part])

    q4_count = sum(1 for kind, _ in tensors.values() if kind == "Q4_1")
    if replaced != q4_count:
        raise ModelUnavailable(f"The q4_1 rewrite replaced {replaced} of the GGUF's {q4_count} Q4_1 tensors.")
    head = _rewrite_head(tensors, inits, put)
    norms = _rewrite_norms(tensors, inits, put)

    del graph.node[:]
    graph.node.extend(nodes)
    # rebuilt last: removing from a repeated field detaches the messages ``inits`` points to
    kept = [init for init in graph.initializer if init.name not in stale] + new_inits
    del graph.initializer[:]
    graph.initializer.extend(kept)
    mode = (folder / DATA_FILE).stat().st_mode & 0o777
    (folder / MODEL_FILE).unlink()
    (folder / DATA_FILE).unlink()  # onnx appends to an existing data file; the graph holds the data now
    onnx.save_model(
        model, str(folder / MODEL_FILE), save_as_external_data=True, all_tensors_to_one_file=True,
        location=DATA_FILE, size_threshold=1024,
    )  # fmt: skip
    (folder / DATA_FILE).chmod(mode)
    return {"q4_1_tensors": replaced, "head": head, "norms": norms, "blocksums": len(blocksums)}


def _fuse_gate_up(graph, inits: dict) -> set[str]:
    """Replace each layer's gate and up ``MatMulNBits`` (same input) by one of twice the N and a ``Split``.

    The new node's weights are placeholders (zeros) that the caller overwrites with the GGUF's blocks. Measured
    (1 thread, SmolLM2): with the offset path's extra ``MatMul`` + ``Add`` per projection, q4_1 decoded at 0.89x
    the builder's int4; one fused product per layer brings it to about 0.96x. Returns the names of the
    initialisers no node uses any more.
    """
    from onnx import helper, numpy_helper

    by_name = {node.input[1]: node for node in graph.node if node.op_type == "MatMulNBits"}
    out = []
    drop, stale = set(), set()
    for node in graph.node:
        match = _PROJECTION.match(node.input[1]) if node.op_type == "MatMulNBits" else None
        if not match or match.group(2) != "mlp.gate_proj":
            if node.name not in drop:
                out.append(node)
            continue
        up = by_name.get(node.input[1].replace("mlp.gate_proj", "mlp.up_proj"))
        if up is None or up.input[0] != node.input[0]:
            out.append(node)
            continue
        drop.add(up.name)
        stale.update(node.input[1:] + up.input[1:])
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        n, k = attrs["N"], attrs["K"]
        prefix = f"model.layers.{match.group(1)}.mlp.gate_up_proj.MatMul"
        names = [f"{prefix}.weight_Q4G32", f"{prefix}.weight_scale"]
        shapes = [(2 * n, k // BLOCK, BLOCK // 2), (2 * n, k // BLOCK)]
        for name, shape, dtype in zip(names, shapes, (np.uint8, np.float32), strict=True):
            graph.initializer.append(numpy_helper.from_array(np.zeros(shape, dtype=dtype), name))
            inits[name] = graph.initializer[-1]  # append copies: keep the graph's own message
        fused_out = f"/model/layers.{match.group(1)}/mlp/gate_up_proj/MatMul/output_0"
        fused = helper.make_node(
            "MatMulNBits",
            [node.input[0], *names],
            [fused_out],
            name=f"/model/layers.{match.group(1)}/mlp/gate_up_proj/MatMul_Q4",
            domain="com.microsoft",
            K=k,
            N=2 * n,
            bits=4,
            block_size=BLOCK,
            accuracy_level=attrs.get("accuracy_level", 4),
        )
        split = helper.make_node(
            "Split", [fused_out], [node.output[0], up.output[0]], name=f"{fused.name}_split", axis=-1, num_outputs=2
        )
        out += [fused, split]
    del graph.node[:]
    graph.node.extend(out)
    return stale


def _blocksum_nodes(x: str, out: str, k: int, inits: dict, new_inits: list) -> list:
    """``Reshape`` + ``ReduceSum`` nodes computing ``out[..., b] = sum(x[..., 32 b : 32 b + 32])``.

    (Measured in the whole model: a ``MatMul`` by a ``[K, K/32]`` block indicator is no faster, and an
    ``AveragePool`` with the offsets times 32 is no faster and sums in another order.)
    """
    from onnx import helper, numpy_helper

    def constant(name: str, array: np.ndarray) -> str:
        if name not in inits:
            inits[name] = numpy_helper.from_array(array, name)
            new_inits.append(inits[name])
        return name

    shape = constant(f"q41.blocks_{k}", np.array([0, 0, k // BLOCK, BLOCK], np.int64))
    axis = constant("q41.last_axis", np.array([-1], np.int64))
    return [
        helper.make_node("Reshape", [x, shape], [f"{out}/blocks"], name=f"{out}/Reshape"),
        helper.make_node("ReduceSum", [f"{out}/blocks", axis], [out], name=f"{out}/ReduceSum", keepdims=0),
    ]


def _rewrite_head(tensors: dict, inits: dict, put) -> str:
    """Write the tied Q8_0 embedding/head exactly into the builder's 8-bit head (``q + 128``, zero point 128)."""
    kind, raw = tensors.get("token_embd.weight", ("missing", None))
    name = "lm_head.MatMul.weight_Q8G32"
    if kind != "Q8_0" or name not in inits or "output.weight" in tensors:
        return "kept as built"  # not the layout we know: the builder's 8-bit head stays (close, not exact)
    q, d = read_q8_0(raw)
    put(name, (q.astype(np.int16) + 128).astype(np.uint8))
    put("lm_head.MatMul.weight_scale", d)
    put("lm_head.MatMul.weight_zp", np.full(d.shape, 128, dtype=np.uint8))
    return "Q8_0 exact"


def _rewrite_norms(tensors: dict, inits: dict, put) -> int:
    """Copy the float32 RMS-norm weights from the GGUF (the checkpoint holds them rounded to bfloat16)."""
    count = 0
    for name in inits:
        if match := re.match(r"^model\.layers\.(\d+)\.(input_layernorm|post_attention_layernorm)\.weight$", name):
            source = f"blk.{match.group(1)}.{_NORMS[match.group(2)]}.weight"
        elif re.match(r"^model\.layers\.\d+\.final_norm_layernorm\.weight$", name):
            source = "output_norm.weight"
        else:
            continue
        kind, raw = tensors.get(source, ("missing", None))
        if kind == "F32":
            put(name, np.asarray(raw, dtype=np.float32).reshape(-1))
            count += 1
    return count
