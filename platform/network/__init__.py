"""The workspace's network allowlist: private hosts and networks its outbound requests may reach.

One list serves every request the platform makes to a user-supplied URL on a workspace's behalf:
action calls and their OAuth2 token endpoints, spec import by URL (actions) and document import
by URL (knowledge). It lives below both of them, so each reads the same entries.
"""
