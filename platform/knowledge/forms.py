"""Forms of the knowledge pages. They only parse input; the services validate and write."""

from __future__ import annotations

from django import forms

from knowledge import embedding, fusion, retrieval
from knowledge.chunking import MAX_CHUNK_TOKENS, MIN_CHUNK_TOKENS
from knowledge.parsing import formats
from knowledge.services import DEFAULT_EMBEDDER_ID
from providers import selectors as provider_selectors
from providers.models import Provider

ACCEPT = ",".join(sorted(formats.EXTENSIONS))


def embedding_choices(workspace_id: str) -> list[tuple[str, str]]:
    choices = list(embedding.BUILT_IN_DESCRIPTIONS.items())
    for entry in provider_selectors.embedding_model_usable_list(workspace_id=workspace_id):
        dims = f"{entry.embedding_dimensions} dimensions" if entry.embedding_dimensions else "dimensions unknown"
        choices.append((entry.pk, f"{entry.provider.name}: {entry.model} ({dims})"))
    return choices


class KnowledgeBaseForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="How bots and people will recognise it, e.g. 'Support FAQ'.")
    description = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    embedding_model = forms.ChoiceField(
        label="Embedding model",
        initial=DEFAULT_EMBEDDER_ID,
        help_text="The built-in neural embedder finds paraphrases and answers across Chinese and English; the "
        "lexical one matches shared words only but indexes ~20× faster. Changing it later re-indexes every document.",
    )
    chunk_size = forms.IntegerField(
        label="Chunk size (tokens)",
        min_value=MIN_CHUNK_TOKENS,
        max_value=MAX_CHUNK_TOKENS,
        initial=512,
        help_text="Longer chunks give more context per hit; shorter ones more precise hits.",
    )
    chunk_overlap = forms.IntegerField(
        label="Chunk overlap (tokens)",
        min_value=0,
        initial=64,
        help_text="Text repeated between consecutive chunks, up to half the size.",
    )
    vector_weight = forms.FloatField(
        label="Meaning (vector) weight",
        min_value=0,
        max_value=fusion.MAX_WEIGHT,
        initial=1.0,
        required=False,
        help_text="How much the embedding search counts in the fused ranking.",
    )
    text_weight = forms.FloatField(
        label="Keyword weight",
        min_value=0,
        max_value=fusion.MAX_WEIGHT,
        initial=1.0,
        required=False,
        help_text="How much full-text (keyword) search counts. Raise it for part numbers, codes and names.",
    )
    fusion_k = forms.IntegerField(
        label="Fusion constant k",
        min_value=1,
        max_value=fusion.MAX_K,
        initial=fusion.RRF_K,
        required=False,
        help_text="Reciprocal rank fusion's k: smaller trusts each channel's first places more.",
    )
    min_score = forms.FloatField(
        label="Minimum score",
        min_value=0,
        max_value=1,
        required=False,
        initial=retrieval.RECOMMENDED_MIN_SCORE,
        widget=forms.NumberInput(attrs={"step": "0.01", "placeholder": str(retrieval.DEFAULT_SCORE_THRESHOLD)}),
        help_text=f"Fused score (0–1) a passage needs when the bot sets none "
        f"({retrieval.RECOMMENDED_MIN_SCORE} recommended). Empty: "
        f"{retrieval.DEFAULT_SCORE_THRESHOLD}. It means the same for every embedder.",
    )
    rerank_provider = forms.ChoiceField(label="Rerank provider", required=False)
    rerank_model = forms.CharField(
        label="Rerank model",
        max_length=200,
        required=False,
        help_text="Optional: a model the provider serves at /rerank (e.g. BAAI/bge-reranker-v2-m3 on vLLM or "
        "Xinference) reorders the best candidates. Empty: no reranking.",
    )

    def __init__(self, *args, workspace_id: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["embedding_model"].choices = embedding_choices(workspace_id)
        self.fields["rerank_provider"].choices = [("", "None")] + [
            (provider.pk, provider.name) for provider in Provider.objects.filter(workspace_id=workspace_id)
        ]


class KnowledgeBaseEditForm(KnowledgeBaseForm):
    def __init__(self, *args, knowledge_base, has_documents: bool, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "name": knowledge_base.name,
                "description": knowledge_base.description,
                "embedding_model": knowledge_base.embedding_model_id or knowledge_base.embedding_model_name,
                "chunk_size": knowledge_base.chunk_size,
                "chunk_overlap": knowledge_base.chunk_overlap,
                "vector_weight": knowledge_base.vector_weight,
                "text_weight": knowledge_base.text_weight,
                "fusion_k": knowledge_base.fusion_k,
                "min_score": knowledge_base.min_score,
                "rerank_provider": knowledge_base.rerank_provider_id or "",
                "rerank_model": knowledge_base.rerank_model,
            },
        )
        super().__init__(*args, workspace_id=knowledge_base.workspace_id, **kwargs)
        self.fields["chunk_size"].help_text += " Applies to documents indexed from now on; re-index the others."
        if has_documents:
            self.fields["embedding_model"].disabled = True
            self.fields[
                "embedding_model"
            ].help_text = "The base has documents: change the model with “Re-index with another embedder” on its page."


class ReembedForm(forms.Form):
    embedding_model = forms.ChoiceField(label="Embedding model")

    def __init__(self, *args, knowledge_base, **kwargs):
        kwargs.setdefault(
            "initial", {"embedding_model": knowledge_base.embedding_model_id or knowledge_base.embedding_model_name}
        )
        super().__init__(*args, **kwargs)
        self.fields["embedding_model"].choices = embedding_choices(knowledge_base.workspace_id)


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class UploadForm(forms.Form):
    files = forms.FileField(
        label="Files",
        widget=MultipleFileInput(attrs={"multiple": True, "accept": ACCEPT}),
        help_text=f"{formats.SUPPORTED_DESCRIPTION}; several at once if you like.",
    )


class UrlImportForm(forms.Form):
    url = forms.CharField(
        label="URL",
        max_length=2000,
        widget=forms.URLInput(
            attrs={"placeholder": "https://example.com/help/shipping", "inputmode": "url", "spellcheck": "false"}
        ),
        help_text="A web page or a file (PDF, Word, …). Private network addresses are refused.",
    )


class HitTestForm(forms.Form):
    query = forms.CharField(
        max_length=retrieval.MAX_QUERY_CHARS,
        widget=forms.TextInput(attrs={"placeholder": "Ask what a user would ask…", "autocomplete": "off"}),
    )
    top_k = forms.IntegerField(label="Top k", min_value=1, max_value=retrieval.MAX_TOP_K, initial=8)
    score_threshold = forms.FloatField(
        label="Score threshold",
        min_value=0,
        max_value=1,
        required=False,
        widget=forms.NumberInput(attrs={"step": "0.01", "placeholder": str(retrieval.DEFAULT_SCORE_THRESHOLD)}),
        help_text="0–1. Empty: the base's minimum score, what a bot without its own uses; 0: no minimum.",
    )


class ChunkEditForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), max_length=100_000, strip=True)
