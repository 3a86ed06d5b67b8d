"""Editorial Desk: grounded technical blog posts written with open models."""

__version__ = "0.1.0"
