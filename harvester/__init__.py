"""harvester: a local SQL catalog of the Hugging Face Hub's metadata."""

__version__ = "0.1.0"
