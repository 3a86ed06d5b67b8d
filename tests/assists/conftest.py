"""Fixtures of the assists' tests: tiny task models built from configs, a bag-of-words embedder, fake search.

The tiny models are randomly initialised (a one-layer BERT or T5 of width 16) with a tokenizer trained here on a
few sentences, saved into a temp folder and loaded through the same code as any configured model: their answers
are meaningless, but loading, tokenizing, inference, caching and the ledger are the real ones.
"""

from __future__ import annotations

import hashlib
import math
import re
from pathlib import Path

import pytest
from langchain_core.embeddings import Embeddings

from editorial.retrieval import Passage as RetrievedPassage

SENTENCES = [
    "Chroma stores embeddings for retrieval and search.",
    "LangChain builds chains of model calls for applications.",
    "Streamlit renders pages written in Python.",
    "The tokenizer splits text into pieces before the model reads it.",
    "Alembic migrates the database schema from one version to the next.",
    "HTTPX supports HTTP/2 and asynchronous requests.",
]
NER_LABELS = ["O", "B-ORG", "I-ORG", "B-MISC", "I-MISC"]


def _wordpiece(folder: Path):
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import BertTokenizerFast

    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer.train_from_iterator(SENTENCES * 3, trainers.WordPieceTrainer(vocab_size=300, special_tokens=special))
    cls, sep = tokenizer.token_to_id("[CLS]"), tokenizer.token_to_id("[SEP]")
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1", special_tokens=[("[CLS]", cls), ("[SEP]", sep)]
    )
    tokenizer.decoder = decoders.WordPiece()
    fast = BertTokenizerFast(tokenizer_object=tokenizer, model_max_length=256)
    fast.save_pretrained(folder)
    return fast


def _bert(model_class, folder: Path, labels: list[str] | None = None) -> Path:
    from transformers import BertConfig

    tokenizer = _wordpiece(folder)
    extra = {}
    if labels:
        extra = {"id2label": dict(enumerate(labels)), "label2id": {label: i for i, label in enumerate(labels)}}
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=256,
        **extra,
    )
    model_class(config).save_pretrained(folder)
    return folder


def _t5(folder: Path) -> Path:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast, T5Config, T5ForConditionalGeneration

    tokenizer = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator(SENTENCES, trainers.WordLevelTrainer(special_tokens=["<pad>", "</s>", "<unk>"]))
    tokenizer.post_processor = processors.TemplateProcessing(
        single="$A </s>", special_tokens=[("</s>", tokenizer.token_to_id("</s>"))]
    )
    tokenizer.decoder = decoders.WordPiece()
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, pad_token="<pad>", eos_token="</s>", unk_token="<unk>", model_max_length=256
    )
    fast.save_pretrained(folder)
    config = T5Config(
        vocab_size=fast.vocab_size,
        d_model=16,
        d_kv=8,
        d_ff=32,
        num_layers=1,
        num_heads=2,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
    )
    T5ForConditionalGeneration(config).save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A folder per assist task holding a tiny random model of that task's architecture and its tokenizer."""
    import torch
    from transformers import BertForQuestionAnswering, BertForSequenceClassification, BertForTokenClassification

    torch.manual_seed(0)
    root = tmp_path_factory.mktemp("tiny-models")
    return {
        "qa": _bert(BertForQuestionAnswering, root / "qa"),
        "summarization": _t5(root / "summarization"),
        "ner": _bert(BertForTokenClassification, root / "ner", NER_LABELS),
        "sentiment": _bert(BertForSequenceClassification, root / "sentiment", ["NEGATIVE", "POSITIVE"]),
        "zero_shot": _bert(
            BertForSequenceClassification, root / "zero_shot", ["contradiction", "neutral", "entailment"]
        ),
    }


@pytest.fixture(autouse=True)
def _fresh_task_models():
    from editorial.assists.pipelines import forget_task_models

    forget_task_models()
    yield
    forget_task_models()


class BagOfWords(Embeddings):
    """Hashed bag-of-words vectors: texts sharing words are close (a meaningful fake for unit tests)."""

    size = 512

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self.size
        for word in re.findall(r"[a-z0-9]+", text.lower()):
            word = word[:-1] if len(word) > 3 and word.endswith("s") else word
            vector[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.size] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [self._vector(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)


@pytest.fixture
def bow() -> BagOfWords:
    """The bag-of-words embedder."""
    return BagOfWords()


def fake_search(texts: dict[str, str], embeddings: Embeddings, min_score: float = 0.0):
    """A search over ``{source name: text}`` passages scored by cosine (what :class:`AskServices` takes)."""

    def run(query: str, k: int) -> list[RetrievedPassage]:
        q = embeddings.embed_query(query)
        scored = []
        for index, (name, text) in enumerate(texts.items()):
            score = min(1.0, 2 * sum(a * b for a, b in zip(q, embeddings.embed_query(text), strict=True)))
            scored.append(RetrievedPassage(text, index + 1, name, "", 0, score, f"c{index}"))
        scored.sort(key=lambda p: -p.score)
        return [p for p in scored if p.score >= min_score][:k]

    return run
