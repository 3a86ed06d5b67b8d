"""The ``q4_1`` ONNX variant holds the GGUF's own weights, and its greedy output stays with the reference longer.

Builds (once per models cache, ``EDITORIAL_TEST_MODEL_CACHE``) the int8, int4 and q4_1 variants. The weights of
every replaced ``MatMulNBits`` are read back from the graph's initialisers and compared with the GGUF dequantised by
``gguf`` itself (q/k rows un-permuted by transformers' own function) and with the converted checkpoint. Greedy
output over the first 30 tokens is compared with transformers fp32 on the checkpoint (the bench's reference).
"""

from __future__ import annotations

import numpy as np
import pytest

from editorial.llm.embedded import embedded_gguf_path, ensure_embedded_checkpoint
from editorial.llm.ort_convert import ensure_ort_model, read_ort_marker
from editorial.llm.ort_q41 import GGUF_PARTS, OFFSET_SUFFIX, dequantize_matmul_nbits, gguf_tensors

pytestmark = pytest.mark.integration

MATCH_TOKENS = 30
PROMPTS = [
    "Explain what a unit test is and why fixtures help. Answer in a short paragraph.",
    "Write two sentences about the history of the printing press.",
    "List three tips for writing clear technical documentation.",
    "What is the capital of France, and what is it famous for?",
]
HF_PARTS = {
    "attn.qkv_proj": ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"],
    "attn.o_proj": ["self_attn.o_proj"],
    "mlp.gate_proj": ["mlp.gate_proj"],
    "mlp.up_proj": ["mlp.up_proj"],
    "mlp.gate_up_proj": ["mlp.gate_proj", "mlp.up_proj"],
    "mlp.down_proj": ["mlp.down_proj"],
}


@pytest.fixture(scope="module")
def folders(embedded_llm_settings) -> dict:
    return {variant: ensure_ort_model(embedded_llm_settings, variant) for variant in ("int8", "int4", "q4_1")}


@pytest.fixture(scope="module")
def checkpoint(embedded_llm_settings) -> dict:
    from safetensors.torch import load_file

    return load_file(str(ensure_embedded_checkpoint(embedded_llm_settings) / "model.safetensors"))


def graph_weights(folder) -> dict:
    """Projection name (``model.layers.3.mlp.up_proj``, ``lm_head``) -> dequantised weight ``[N, K]`` float32."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(folder / "model.onnx"))
    inits = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    weights = {}
    for node in model.graph.node:
        if node.op_type != "MatMulNBits":
            continue
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        prefix = node.input[1].rsplit(".weight_", 1)[0]
        zero_points = inits[node.input[3]] if len(node.input) > 3 and node.input[3] else None
        weights[prefix.removesuffix(".MatMul")] = dequantize_matmul_nbits(
            inits[node.input[1]], inits[node.input[2]], zero_points, attrs["bits"], attrs["K"], attrs["N"],
            inits.get(prefix + OFFSET_SUFFIX),
        )  # fmt: skip
    norms = {name: value for name, value in inits.items() if name.endswith("layernorm.weight")}
    return {"weights": weights, "norms": norms}


def gguf_reference(name: str, parts: tuple[str, ...], tensors: dict) -> np.ndarray:
    """The GGUF's weights for one projection, dequantised by ``gguf`` and un-permuted by transformers."""
    from gguf import GGMLQuantizationType
    from gguf.quants import dequantize
    from transformers.modeling_gguf_pytorch_utils import LlamaTensorProcessor

    processor = LlamaTensorProcessor(config={"num_attention_heads": 9, "num_key_value_heads": 3})
    layer = name.split(".")[2]
    rows = []
    for part in parts:
        gguf_name = f"blk.{layer}.{part}.weight"
        kind, raw = tensors[gguf_name]
        rows.append(processor.process(dequantize(raw, GGMLQuantizationType[kind]), gguf_name).weights)
    return np.concatenate(rows)


def test_q4_1_holds_the_gguf_weights_exactly(folders, checkpoint):
    import torch
    from gguf import GGMLQuantizationType
    from gguf.quants import dequantize

    marker = read_ort_marker(folders["q4_1"])
    assert marker["variant"] == "q4_1" and marker["gguf_blocks"]["q4_1_tensors"] == 210
    tensors = gguf_tensors(embedded_gguf_path())
    graph = graph_weights(folders["q4_1"])
    worst_gguf, worst_ckpt, checked = 0.0, 0.0, 0
    for name, weight in graph["weights"].items():
        if name == "lm_head":
            kind, raw = tensors["token_embd.weight"]
            reference = dequantize(raw, GGMLQuantizationType[kind])
            hf = checkpoint["model.embed_tokens.weight"]
        else:
            part = name.split(".", 3)[3]
            reference = gguf_reference(name, GGUF_PARTS[part], tensors)
            layer = ".".join(name.split(".")[:3])
            hf = torch.cat([checkpoint[f"{layer}.{p}.weight"] for p in HF_PARTS[part]])
            checked += len(GGUF_PARTS[part])
        assert weight.shape == reference.shape == tuple(hf.shape), name
        worst_gguf = max(worst_gguf, float(np.abs(weight - reference).max() / np.abs(reference).max()))
        # the checkpoint holds the same dequantised weights rounded to bfloat16: rounding ours must give them back
        rounded = torch.from_numpy(weight).to(torch.bfloat16)
        worst_ckpt = max(worst_ckpt, float((rounded.float() - hf.float()).abs().max()))
    assert checked == 210
    assert worst_gguf <= 1e-6, f"q4_1 weights differ from the GGUF's by {worst_gguf:.3g} (relative)"
    assert worst_ckpt == 0.0, f"q4_1 weights rounded to bfloat16 differ from the checkpoint by {worst_ckpt:.3g}"
    for name, value in graph["norms"].items():
        layer, which = name.split(".")[2], name.split(".")[3]
        source = {"input_layernorm": f"blk.{layer}.attn_norm", "post_attention_layernorm": f"blk.{layer}.ffn_norm"}
        np.testing.assert_array_equal(value, tensors[f"{source.get(which, 'output_norm')}.weight"][1])


def test_the_int4_builder_weights_are_not_exact(folders):
    """The same check fails for the builder's own int4 (integer zero points): the comparison can tell."""
    tensors = gguf_tensors(embedded_gguf_path())
    weight = graph_weights(folders["int4"])["weights"]["model.layers.0.attn.qkv_proj"]
    reference = gguf_reference("model.layers.0.attn.qkv_proj", GGUF_PARTS["attn.qkv_proj"], tensors)
    assert np.abs(weight - reference).max() / np.abs(reference).max() > 1e-2


def leading_matches(output: list[int], reference: list[int]) -> int:
    same = 0
    for left, right in zip(output, reference, strict=False):
        if left != right:
            break
        same += 1
    return same


def test_q4_1_greedy_output_stays_with_fp32_at_least_as_long_as_int8_and_int4(folders, embedded_llm_settings):
    import onnxruntime_genai as og
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from editorial.llm.ort_worker import session_options

    checkpoint = ensure_embedded_checkpoint(embedded_llm_settings)
    tokenizer = AutoTokenizer.from_pretrained(str(checkpoint), local_files_only=True)
    prompts = [
        list(
            tokenizer.apply_chat_template(
                [{"role": "user", "content": text}], add_generation_prompt=True, tokenize=True, return_dict=True
            )["input_ids"]
        )
        for text in PROMPTS
    ]
    torch.set_num_threads(1)
    model = AutoModelForCausalLM.from_pretrained(str(checkpoint), dtype=torch.float32).eval()
    references = []
    with torch.inference_mode():
        for ids in prompts:
            out = model.generate(
                torch.tensor([ids]), max_new_tokens=MATCH_TOKENS, min_new_tokens=MATCH_TOKENS, do_sample=False,
                repetition_penalty=1.0, pad_token_id=0,
            )  # fmt: skip
            references.append(out[0, len(ids) :].tolist())
    del model

    matches = {}
    for variant, folder in folders.items():
        config = og.Config(str(folder))
        config.overlay(session_options(1, spin=True))
        ort_model = og.Model(config)
        counts = []
        for ids, reference in zip(prompts, references, strict=True):
            params = og.GeneratorParams(ort_model)
            params.set_search_options(
                do_sample=False, max_length=len(ids) + MATCH_TOKENS, min_length=len(ids) + MATCH_TOKENS,
                repetition_penalty=1.0,
            )  # fmt: skip
            generator = og.Generator(ort_model, params)
            generator.append_tokens(ids)
            output = []
            while len(output) < MATCH_TOKENS:
                generator.generate_next_token()
                output.append(int(generator.get_next_tokens()[0]))
            counts.append(leading_matches(output, reference))
        matches[variant] = counts
        del ort_model
    print(f"greedy tokens equal to transformers fp32, first {MATCH_TOKENS}, per prompt: {matches}")
    total = {variant: sum(counts) for variant, counts in matches.items()}
    assert total["q4_1"] >= total["int4"], matches
    assert total["q4_1"] >= total["int8"], matches
