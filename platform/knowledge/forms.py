"""Forms of the knowledge pages. They only parse input; the services validate and write."""

from __future__ import annotations

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

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
        dims = (
            _("%(count)s dimensions") % {"count": entry.embedding_dimensions}
            if entry.embedding_dimensions
            else _("dimensions unknown")
        )
        choices.append((entry.pk, f"{entry.provider.name}: {entry.model} ({dims})"))
    return choices


class KnowledgeBaseForm(forms.Form):
    name = forms.CharField(
        max_length=100, label=_("Name"), help_text=_("How bots and people will recognise it, e.g. 'Support FAQ'.")
    )
    description = forms.CharField(
        max_length=2000, required=False, label=_("Description"), widget=forms.Textarea(attrs={"rows": 2})
    )
    embedding_model = forms.ChoiceField(
        label=_("Embedding model"),
        initial=DEFAULT_EMBEDDER_ID,
        help_text=_(
            "The built-in neural embedder finds paraphrases and answers across Chinese and English; the lexical "
            "one matches shared words only but indexes ~20× faster. Changing it later re-indexes every "
            "document."
        ),
    )
    chunk_size = forms.IntegerField(
        label=_("Chunk size (tokens)"),
        min_value=MIN_CHUNK_TOKENS,
        max_value=MAX_CHUNK_TOKENS,
        initial=512,
        help_text=_("Longer chunks give more context per hit; shorter ones more precise hits."),
    )
    chunk_overlap = forms.IntegerField(
        label=_("Chunk overlap (tokens)"),
        min_value=0,
        initial=64,
        help_text=_("Text repeated between consecutive chunks, up to half the size."),
    )
    vector_weight = forms.FloatField(
        label=_("Meaning (vector) weight"),
        min_value=0,
        max_value=fusion.MAX_WEIGHT,
        initial=1.0,
        required=False,
        help_text=_("How much the embedding search counts in the fused ranking."),
    )
    text_weight = forms.FloatField(
        label=_("Keyword weight"),
        min_value=0,
        max_value=fusion.MAX_WEIGHT,
        initial=1.0,
        required=False,
        help_text=_("How much full-text (keyword) search counts. Raise it for part numbers, codes and names."),
    )
    fusion_k = forms.IntegerField(
        label=_("Fusion constant k"),
        min_value=1,
        max_value=fusion.MAX_K,
        initial=fusion.RRF_K,
        required=False,
        help_text=_("Reciprocal rank fusion's k: smaller trusts each channel's first places more."),
    )
    min_score = forms.FloatField(
        label=_("Minimum score"),
        min_value=0,
        max_value=1,
        required=False,
        initial=retrieval.RECOMMENDED_MIN_SCORE,
        widget=forms.NumberInput(attrs={"step": "0.01", "placeholder": str(retrieval.DEFAULT_SCORE_THRESHOLD)}),
        help_text=format_lazy(
            _(
                "Fused score (0–1) a passage needs when the bot sets none ({recommended} recommended). Empty: "
                "{default}. It means the same for every embedder."
            ),
            recommended=retrieval.RECOMMENDED_MIN_SCORE,
            default=retrieval.DEFAULT_SCORE_THRESHOLD,
        ),
    )
    rerank_provider = forms.ChoiceField(label=_("Rerank provider"), required=False)
    rerank_model = forms.CharField(
        label=_("Rerank model"),
        max_length=200,
        required=False,
        help_text=_(
            "Optional: a model the provider serves at /rerank (e.g. BAAI/bge-reranker-v2-m3 on vLLM or "
            "Xinference) reorders the best candidates. Empty: no reranking."
        ),
    )

    def __init__(self, *args, workspace_id: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["embedding_model"].choices = embedding_choices(workspace_id)
        self.fields["rerank_provider"].choices = [("", _("None"))] + [
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
        self.fields["chunk_size"].help_text = _(
            "Longer chunks give more context per hit; shorter ones more precise hits. Applies to documents "
            "indexed from now on; re-index the others."
        )
        if has_documents:
            self.fields["embedding_model"].disabled = True
            self.fields["embedding_model"].help_text = _(
                "The base has documents: change the model with “Re-index with another embedder” on its page."
            )


class ReembedForm(forms.Form):
    embedding_model = forms.ChoiceField(label=_("Embedding model"))

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
        label=_("Files"),
        widget=MultipleFileInput(attrs={"multiple": True, "accept": ACCEPT}),
        help_text=format_lazy(
            _("{formats}; several at once if you like."), formats=formats.SUPPORTED_DESCRIPTION_SHOWN
        ),
    )


class UrlImportForm(forms.Form):
    url = forms.CharField(
        label=_("URL"),
        max_length=2000,
        widget=forms.URLInput(
            attrs={"placeholder": "https://example.com/help/shipping", "inputmode": "url", "spellcheck": "false"}
        ),
        help_text=_("A web page or a file (PDF, Word, …). Private network addresses are refused."),
    )


class HitTestForm(forms.Form):
    query = forms.CharField(
        label=_("Question"),
        max_length=retrieval.MAX_QUERY_CHARS,
        widget=forms.TextInput(attrs={"placeholder": _("Ask what a user would ask…"), "autocomplete": "off"}),
    )
    top_k = forms.IntegerField(label=_("Top k"), min_value=1, max_value=retrieval.MAX_TOP_K, initial=8)
    score_threshold = forms.FloatField(
        label=_("Score threshold"),
        min_value=0,
        max_value=1,
        required=False,
        widget=forms.NumberInput(attrs={"step": "0.01", "placeholder": str(retrieval.DEFAULT_SCORE_THRESHOLD)}),
        help_text=_("0–1. Empty: the base's minimum score, what a bot without its own uses; 0: no minimum."),
    )


class ChunkEditForm(forms.Form):
    text = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 8}), max_length=100_000, strip=True)
