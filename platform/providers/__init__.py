"""Model providers: OpenAI, Azure OpenAI and any OpenAI-compatible endpoint.

`providers.clients` is the only module in the project that imports `openai`.
"""
