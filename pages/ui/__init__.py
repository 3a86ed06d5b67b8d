"""Streamlit-only helpers shared by the pages (resources, navigation, state keys)."""
