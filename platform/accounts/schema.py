"""Documents API-key authentication in the OpenAPI schema (Swagger's "Authorize" button)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "apiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "sb-…",
            "description": "A workspace API key: `Authorization: Bearer sb-…`.",
        }
