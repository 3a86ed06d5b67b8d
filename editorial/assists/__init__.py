"""Editorial assists: Ask your sources, description, tags, tone check and source summaries.

Each works with the bundled models (the embedding model, the embedded generator, the grounding verifier wherever
text is generated) and can use a configured Hugging Face task model instead (:mod:`editorial.assists.pipelines`).
"""
