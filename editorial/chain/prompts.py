"""Prompt strings of the chain (strings only; the stages fill them with ``str.format``).

They are short on purpose: every token is paid for (the goal is at most 10 tokens per published word),
and a 135M model follows a one-line format shown by example far better than a long instruction.
"""

PLANNER_SYSTEM = "You plan technical blog posts. Answer in the exact format shown, nothing else."

# --- headings ------------------------------------------------------------------------------------------
HEADINGS_EXAMPLE_USER = (
    "Topic: Docker for data science\nNotes:\n- containers package code and dependencies\n"
    "- images are built from a Dockerfile\n\nList 4 section headings."
)
HEADINGS_EXAMPLE_ANSWER = (
    "1. Why Containers Help Data Scientists\n2. Writing Your First Dockerfile\n"
    "3. Sharing Images With Your Team\n4. Common Pitfalls and Fixes"
)
HEADINGS_USER = "Topic: {topic}\nAudience: {audience}\nNotes:\n{notes}\n\nList {count} section headings."
HEADINGS_REPAIR_USER = (
    "Topic: {topic}\n\nList {count} short section headings, numbered 1 to {count}, one per line. Only the headings."
)

# --- title, description, angle, value ---------------------------------------------------------------------
FRAMING_EXAMPLE_USER = "Topic: Docker for data science\nAudience: data scientists"
FRAMING_EXAMPLE_ANSWER = (
    "Title: Docker for Data Scientists: Reproducible Work in Minutes\n"
    "Description: How containers make notebooks and models run the same everywhere.\n"
    "Angle: Containers end the 'works on my machine' problem for data work.\n"
    "Value: You will package a project in an image and share it with your team."
)
FRAMING_USER = "Topic: {topic}\nAudience: {audience}\nSections: {headings}"
FRAMING_REPAIR_USER = (
    "Topic: {topic}\n\nWrite one line that starts with 'Title: ' and one that starts with 'Description: '."
)

# --- key points per section -------------------------------------------------------------------------------
POINTS_EXAMPLE_USER = (
    "Post: Docker for data science\nSection: Writing Your First Dockerfile\nNotes:\n"
    "- images are built from a Dockerfile"
)
POINTS_EXAMPLE_ANSWER = "- Start from a slim Python base image\n- Copy requirements first to cache layers"
POINTS_USER = "Post: {topic}\nSection: {heading}\nNotes:\n{notes}"

# --- takeaways --------------------------------------------------------------------------------------------
TAKEAWAYS_EXAMPLE_USER = (
    "Post: Docker for data science\nSections: Why Containers Help; First Dockerfile; Sharing Images"
)
TAKEAWAYS_EXAMPLE_ANSWER = (
    "Conclusion: Containers make data work reproducible and easy to share.\n"
    "- Pin every dependency in the image\n- Share images, not setup instructions"
)
TAKEAWAYS_USER = "Post: {topic}\nSections: {headings}"

# --- structured output (backends that support it) ---------------------------------------------------------
STRUCTURED_PLAN_USER = (
    "Plan a technical blog post.\nTopic: {topic}\nAudience: {audience}\nTone: {tone}\n"
    "Target length: {words} words.\nEvidence:\n{notes}\n\n"
    "Give 2-3 title candidates, a one-sentence description, up to 4 lowercase tags, the angle, the value for "
    "the reader, {min_sections}-{max_sections} sections (the first an introduction, the last a conclusion) "
    "with 2-3 key points each, a conclusion sentence and 2-3 takeaways."
)

# --- writing ----------------------------------------------------------------------------------------------
WRITER_SYSTEM = (
    "You write clear, accurate technical blog sections in Markdown for {audience}. Tone: {tone}. "
    "Use only the sources given and cite them like [1]. Do not write a heading."
)
SECTION_USER = (
    "Post: {title}\nSection {index} of {total}: {heading}\nCover: {points}\nSources:\n{sources}\n\n"
    "Write about {words} words."
)
INTRO_USER = (
    "Post: {title}\nWrite the introduction. Angle: {angle}. The reader will learn: {value}\n"
    "Cover: {points}\nSources:\n{sources}\n\nWrite about {words} words."
)
CONCLUSION_USER = (
    "Post: {title}\nWrite the conclusion: {conclusion}\nTakeaways: {points}\nSources:\n{sources}\n\n"
    "Write about {words} words."
)
CONTINUE_USER = "Continue this section of '{title}' ({heading}) with about {words} more words:\n{tail}"
NO_SOURCES = "(none: write from general knowledge and cite nothing)"

# --- grounded writing: one fact at a time, as a light copy-edit -------------------------------------------
# Measured on 22 facts from the benchmark corpora (embedded model, copy blocking on): asked to "rewrite in your
# own words", 2-3 sentences passed the verifier; asked to copy-edit with one example, 7-8 (with or without the
# section line, which tells the model where the sentence goes).
FACTS_SYSTEM = (
    "You copy-edit sentences for a technical blog: change a few words, keep the meaning, every name and every "
    "number. Add nothing."
)
FACTS_EXAMPLE_USER = (
    "Section 2 of 4: Building images\n"
    "Edit: Docker images are built from a Dockerfile that lists each step of the build."
)
FACTS_EXAMPLE_ANSWER = "Docker builds images from a Dockerfile, which lists every step of the build."
FACTS_USER = "{context}\nEdit: {facts}"
FACT_RETRY_USER = "Edit with other words: {fact}"
