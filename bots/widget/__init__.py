"""The embeddable chat widget and the share page: what a bot shows to visitors of other sites.

origins   — parse, normalise and match the sites allowed to embed a bot
access    — the signed tickets, visitor ids and session tokens, and identity verification (HMAC)
limits    — per-visitor, per-IP and daily message limits (Redis counters)
services  — owner-side changes (settings, identity secret) and visitor-side sessions
selectors — the bot's public face and the visitor's conversations
api       — the visitor's API (/widget/v1/…), authenticated by session tokens
pages     — /widget.js, the iframe document, the share page /s/PUBLIC_ID
admin     — the bot's "Embed & share" page in the admin UI
"""
