"""The benchmark's real corpora: API guides keep a docstring's prose and leave its parameters and code out."""

from __future__ import annotations

from bench.corpus.build_real import _prose, guide

DOCSTRING = """Create a dialog that runs its body as a modal window over the app.

    The decorated function reruns on its own, without rerunning the :class:`~streamlit.App` around it, and the
    ``title`` is shown above it.

        st.dialog("Vote")(vote)

    Parameters
    ----------
    title : str
        The title shown above the dialog.

    Examples
    --------
    >>> st.dialog("Vote")
    """

HF_STYLE = """Configuration of a speech model and the defaults every checkpoint of it starts from.

    Args:
        vocab_size (`int`, *optional*, defaults to 10082): Vocabulary size of the model.

    hidden_dropout (`float`, *optional*, defaults to 0.1): The dropout probability for all layers of the model.
    """


def test_prose_keeps_paragraphs_before_the_first_section_without_code_or_roles():
    assert _prose(DOCSTRING) == [
        "Create a dialog that runs its body as a modal window over the app.",
        "The decorated function reruns on its own, without rerunning the streamlit.App around it, and the `title` is "
        "shown above it.",
    ]


def test_parameter_paragraphs_in_hugging_face_style_are_left_out():
    assert _prose(HF_STYLE) == ["Configuration of a speech model and the defaults every checkpoint of it starts from."]


def test_a_guide_of_an_installed_package_is_markdown_of_its_public_docstrings():
    text = guide("typer")
    assert text is not None and text.startswith("# typer API guide")
    assert "\n## typer." in text and ">>>" not in text and "Parameters\n" not in text
    assert guide("no-such-package-here") is None
