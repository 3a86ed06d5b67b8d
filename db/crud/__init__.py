"""Keyword-only CRUD functions, one module per part of the domain.

Import the module you need (``from db.crud import drafts``) rather than names from here.
"""
