"""The q4_1 converter's block arithmetic on the bundled GGUF (no ONNX model, no runtime): a few seconds."""

from __future__ import annotations

import numpy as np
import pytest

from editorial.errors import ModelUnavailable
from editorial.llm import ort_q41
from editorial.llm.embedded import embedded_gguf_path


@pytest.fixture(scope="module")
def tensors() -> dict:
    try:
        return ort_q41.gguf_tensors(embedded_gguf_path())
    except ModelUnavailable as exc:
        pytest.skip(str(exc))


def test_q4_1_blocks_dequantise_as_gguf_does(tensors):
    from gguf import GGMLQuantizationType
    from gguf.quants import dequantize

    for name in ("blk.0.attn_q.weight", "blk.3.ffn_down.weight", "blk.29.attn_v.weight"):
        kind, raw = tensors[name]
        assert kind == "Q4_1"
        blocks = ort_q41.read_q4_1(raw)
        ours = (blocks.d[..., None] * blocks.q + blocks.m[..., None]).reshape(raw.shape[0], -1)
        # the form the ONNX graph computes: d * (q - 8) per block plus the offset m + 8 d
        split = blocks.d[..., None] * (blocks.q.astype(np.float32) - 8) + (blocks.m + 8 * blocks.d)[..., None]
        reference = dequantize(raw, GGMLQuantizationType.Q4_1)
        assert ours.shape == reference.shape
        assert np.abs(ours - reference).max() <= 1e-6 * np.abs(reference).max()
        assert np.abs(split.reshape(ours.shape) - reference).max() <= 1e-6 * np.abs(reference).max()


def test_q8_0_head_dequantises_as_gguf_does(tensors):
    from gguf import GGMLQuantizationType
    from gguf.quants import dequantize

    kind, raw = tensors["token_embd.weight"]
    assert kind == "Q8_0"
    rows = raw[:512]
    q, d = ort_q41.read_q8_0(rows)
    np.testing.assert_array_equal((d[..., None] * q).reshape(512, -1), dequantize(rows, GGMLQuantizationType.Q8_0))


def test_rope_row_order_is_the_transformers_reverse_permutation():
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor

    processor = LlamaTensorProcessor(config={"num_attention_heads": 9, "num_key_value_heads": 3})
    for rows, heads, kv in ((576, 9, 9), (192, 9, 3)):
        expected = processor._reverse_permute_weights(np.arange(rows), heads, kv)
        np.testing.assert_array_equal(ort_q41.rope_row_order(rows, kv), expected)


def test_matmul_nbits_packing_is_low_nibble_first_and_round_trips():
    values = np.arange(32, dtype=np.uint8).reshape(1, 1, 32) % 16
    packed = ort_q41.pack_nibbles(values)
    assert packed.shape == (1, 1, 16) and packed[0, 0, 0] == 0x10 and packed[0, 0, 1] == 0x32
    np.testing.assert_array_equal(ort_q41.unpack_nibbles(packed), values)


def test_dequantize_matmul_nbits_reads_scales_zero_points_and_offsets():
    rng = np.random.default_rng(1)
    n, k = 3, 64
    q = rng.integers(0, 16, size=(n, k // 32, 32), dtype=np.uint8)
    scales = rng.random((n, k // 32), dtype=np.float32)
    offset = rng.standard_normal((k // 32, n)).astype(np.float32)
    weight = ort_q41.dequantize_matmul_nbits(ort_q41.pack_nibbles(q), scales, None, 4, k, n, offset)
    expected = scales[..., None] * (q.astype(np.float32) - 8) + offset.T[..., None]
    np.testing.assert_allclose(weight, expected.reshape(n, k), rtol=0, atol=1e-6)
    zero_points = ort_q41.pack_nibbles(np.full((n, 2), 3, dtype=np.uint8))  # two 4-bit zero points per byte
    weight = ort_q41.dequantize_matmul_nbits(ort_q41.pack_nibbles(q), scales, zero_points, 4, k, n)
    np.testing.assert_allclose(weight, (scales[..., None] * (q.astype(np.float32) - 3)).reshape(n, k), atol=1e-6)
