"""The names and sizes of the embedding models built into the platform, which need no provider.

The lexical embedder runs here (providers.local_embedder). The neural one runs in
knowledge.neural_embedder, which alone loads numpy and its weights; its identity lives here so
that model pickers (the models API) can list it without loading it.
"""

from __future__ import annotations

from providers import local_embedder

NEURAL_NAME = "use-multilingual-v3"
NEURAL_DIMENSIONS = 512
LEXICAL_NAME = local_embedder.NAME
LEXICAL_DIMENSIONS = local_embedder.DIMENSIONS
