"""Runtime adapters for bench_runtimes.py: each loads SmolLM2-135M and streams greedy token ids.

Every ``stream(ids, tokens, messages)`` generates exactly ``tokens`` new tokens greedily (end-of-text banned, no
repetition penalty) from the prompt ``ids`` and yields them as they come; the app adapter streams text chunks
through ``LocalChatModel`` instead (the path the app runs).
"""

from __future__ import annotations

import queue
import resource
import threading
from dataclasses import dataclass
from pathlib import Path

from editorial.llm.embedded import embedded_gguf_path, ensure_embedded_checkpoint
from editorial.llm.ort_convert import ensure_ort_model
from editorial.settings import Settings


class Runner:
    """A loaded runtime."""

    model_path: Path | None = None
    last_count = 0

    def stream(self, ids, tokens, messages):  # pragma: no cover - interface
        raise NotImplementedError

    def child_peak_kb(self) -> int:
        """Peak memory of child processes (the ONNX worker), in kB."""
        return 0

    def match(self, output, reference, ref_text) -> str:
        """Leading tokens equal to the reference, as ``n/30``."""
        same = 0
        for left, right in zip(output, reference, strict=False):
            if left != right:
                break
            same += 1
        return f"{same}/{len(reference)}"


class Transformers(Runner):
    def __init__(self, settings, threads, tokenizer, dtype):
        import torch
        from transformers import AutoModelForCausalLM

        torch.set_num_threads(threads)
        self.model_path = ensure_embedded_checkpoint(settings)
        self.model = AutoModelForCausalLM.from_pretrained(str(self.model_path), dtype=getattr(torch, dtype)).eval()
        self.torch = torch

    def stream(self, ids, tokens, messages):
        events: queue.SimpleQueue = queue.SimpleQueue()

        class Streamer:
            seen = False

            def put(self, value):
                if self.seen:
                    events.put(value.reshape(-1).tolist())
                self.seen = True

            def end(self):
                events.put(None)

        def job():
            with self.torch.inference_mode():
                self.model.generate(
                    self.torch.tensor([ids]), max_new_tokens=tokens, min_new_tokens=tokens, do_sample=False,
                    repetition_penalty=1.0, streamer=Streamer(), pad_token_id=0,
                )  # fmt: skip

        thread = threading.Thread(target=job)
        thread.start()
        self.last_count = 0
        while (item := events.get()) is not None:
            self.last_count += len(item)
            yield from item
        thread.join()


class OrtBare(Runner):
    def __init__(self, settings, threads, tokenizer, variant):
        import onnxruntime_genai as og

        from editorial.llm.ort_worker import session_options

        self.og = og
        self.model_path = ensure_ort_model(settings, variant)
        config = og.Config(str(self.model_path))
        config.overlay(session_options(threads, spin=True))
        self.model = og.Model(config)

    def stream(self, ids, tokens, messages):
        params = self.og.GeneratorParams(self.model)
        params.set_search_options(
            do_sample=False, max_length=len(ids) + tokens, min_length=len(ids) + tokens, repetition_penalty=1.0
        )
        generator = self.og.Generator(self.model, params)
        generator.append_tokens(ids)
        self.last_count = 0
        while self.last_count < tokens and not generator.is_done():
            generator.generate_next_token()
            self.last_count += 1
            yield int(generator.get_next_tokens()[0])


class AppOrt(Runner):
    """The app's own streaming path: LocalChatModel over the ONNX worker process."""

    def __init__(self, settings, threads, tokenizer, variant="int8", spin="auto"):
        from editorial.llm.local_backends import _wrap, load_ort_model
        from editorial.llm.spec import ModelSpec

        self.model_path = ensure_ort_model(settings, variant)
        loaded = load_ort_model(self.model_path, ensure_embedded_checkpoint(settings), threads, spin)
        self.engine = loaded.engine
        self.chat = _wrap(settings, ModelSpec("embedded", "embedded"), loaded)

    def stream(self, ids, tokens, messages):
        from langchain_core.messages import HumanMessage

        self.last_count = 0
        prompt = [HumanMessage(m["content"]) for m in messages]
        for chunk in self.chat.stream(prompt, max_new_tokens=tokens, min_new_tokens=tokens, repetition_penalty=1.0):
            if chunk.usage_metadata:
                self.last_count = chunk.usage_metadata["output_tokens"]
            if chunk.content:
                yield chunk.content

    def child_peak_kb(self) -> int:
        import psutil

        try:
            return psutil.Process(self.engine.pid).memory_info().rss // 1024
        except (psutil.Error, TypeError):
            return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss

    def match(self, output, reference, ref_text) -> str:
        text = "".join(output)
        same = 0
        tokenizer = self.chat.loaded.tokenizer
        for n in range(1, len(reference) + 1):
            if text.startswith(tokenizer.decode(reference[:n])):
                same = n
            else:
                break
        return f"{same}/{len(reference)} (text)"


class OpenVino(Runner):
    def __init__(self, settings, threads, tokenizer):
        import openvino as ov
        import openvino_genai as ov_genai

        self.ov, self.ov_genai = ov, ov_genai
        self.model_path = embedded_gguf_path()
        self.pipe = ov_genai.LLMPipeline(str(self.model_path), "CPU", INFERENCE_NUM_THREADS=threads)

    def stream(self, ids, tokens, messages):
        import numpy as np

        config = self.ov_genai.GenerationConfig()
        config.max_new_tokens = config.min_new_tokens = tokens
        config.do_sample = False
        config.repetition_penalty = 1.0
        tensor = self.ov.Tensor(np.array([ids], dtype=np.int64))
        inputs = self.ov_genai.TokenizedInputs(tensor, self.ov.Tensor(np.ones((1, len(ids)), dtype=np.int64)))
        events: queue.SimpleQueue = queue.SimpleQueue()
        result: list = []

        def job():
            result.append(self.pipe.generate(inputs, config, lambda text: events.put(1) or False))
            events.put(None)

        thread = threading.Thread(target=job)
        thread.start()
        count = 0
        while events.get() is not None:
            count += 1
            yield -1  # a decoded piece (its id comes with the result)
        thread.join()
        produced = list(result[0].tokens[0]) if result else []
        self.last_count = len(produced)
        if tokens > 1 and not hasattr(self, "first_produced"):
            self.first_produced = produced

    def match(self, output, reference, ref_text) -> str:
        return super().match(getattr(self, "first_produced", []), reference, ref_text)


class CTranslate2(Runner):
    def __init__(self, settings, threads, tokenizer):
        import ctranslate2

        self.tokenizer = tokenizer
        checkpoint = ensure_embedded_checkpoint(settings)
        self.model_path = settings.models_dir / "bench-ct2-int8"
        if not (self.model_path / "model.bin").is_file():
            converter = ctranslate2.converters.TransformersConverter(str(checkpoint))
            converter.convert(str(self.model_path), quantization="int8", force=True)
        self.generator = ctranslate2.Generator(
            str(self.model_path), device="cpu", compute_type="int8", intra_threads=threads
        )

    def stream(self, ids, tokens, messages):
        pieces = self.tokenizer.convert_ids_to_tokens(ids)
        self.last_count = 0
        for step in self.generator.generate_tokens(
            pieces, max_length=tokens, min_length=tokens, sampling_topk=1, repetition_penalty=1.0
        ):
            self.last_count += 1
            yield step.token_id
            if self.last_count >= tokens:
                break


class LlamaCpp(Runner):
    def __init__(self, settings, threads, tokenizer):
        from llama_cpp import Llama

        self.model_path = embedded_gguf_path()
        self.llm = Llama(
            model_path=str(self.model_path), n_ctx=2048, n_threads=threads, n_threads_batch=threads, verbose=False
        )

    def stream(self, ids, tokens, messages):
        self.llm.reset()
        self.last_count = 0
        for token in self.llm.generate(ids, top_k=1, top_p=1.0, temp=0.0, repeat_penalty=1.0, reset=True):
            self.last_count += 1
            yield int(token)
            if self.last_count >= tokens:
                break


@dataclass
class Spec:
    factory: object
    family: str
    suffix: str = ""
    thread_variants: bool = False

    def label(self, threads: int) -> str:
        return f"{self.suffix} {threads}t" if self.thread_variants else self.suffix


RUNNERS: dict[str, Spec] = {
    "transformers-bf16": Spec(
        lambda s, t, tok: Transformers(s, t, tok, "bfloat16"), "transformers", "transformers bf16"
    ),
    "transformers-fp32": Spec(
        lambda s, t, tok: Transformers(s, t, tok, "float32"), "transformers", "transformers fp32"
    ),
    "ort-int4": Spec(lambda s, t, tok: OrtBare(s, t, tok, "int4"), "ort", "ort int4 (bare loop)"),
    "ort-int8": Spec(lambda s, t, tok: OrtBare(s, t, tok, "int8"), "ort", "ort int8 (bare loop)"),
    "ort-q4_1": Spec(lambda s, t, tok: OrtBare(s, t, tok, "q4_1"), "ort", "ort q4_1 (bare loop)"),
    "app-ort-int8": Spec(lambda s, t, tok: AppOrt(s, t, tok, "int8"), "ort", "app ort int8", thread_variants=True),
    "app-ort-int4": Spec(lambda s, t, tok: AppOrt(s, t, tok, "int4"), "ort", "app ort int4", thread_variants=True),
    "app-ort-q4_1": Spec(lambda s, t, tok: AppOrt(s, t, tok, "q4_1"), "ort", "app ort q4_1", thread_variants=True),
    "app-ort-q4_1-spin": Spec(
        lambda s, t, tok: AppOrt(s, t, tok, "q4_1", spin="on"),
        "ort",
        "app ort q4_1 always spinning",
        thread_variants=True,
    ),
    "openvino-gguf": Spec(OpenVino, "openvino", "openvino gguf"),
    "ct2-int8": Spec(CTranslate2, "ct2", "ct2 int8"),
    "llama.cpp": Spec(LlamaCpp, "llama.cpp", "llama.cpp", thread_variants=True),
}


def make_runner(name: str, settings: Settings, threads: int, tokenizer) -> Runner:
    """Load the runtime ``name`` with ``threads`` threads."""
    return RUNNERS[name].factory(settings, threads, tokenizer)
