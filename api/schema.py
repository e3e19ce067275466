"""How drf-spectacular documents the API: the service-token authentication, and names that stay English."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class BearerTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.auth.BearerTokenAuthentication"
    name = "serviceToken"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer",
                "description": "A service token made in the admin or with `manage.py create_api_token`; "
                               "scopes: read, write-metrics, write-runs."}


def titles_into_descriptions(result, generator, request, public):
    """A postprocessing hook: the schema is rendered in the reader's language, and generators name the classes of
    inline enums and objects from their `title` (a Chinese label gave `InfluencersList等级`). Each schema's title moves
    into its description, which may be translated, so the names come from the English field and parameter names."""

    def fold(node):
        if isinstance(node, dict):
            title = node.get("title")
            if isinstance(title, str) and any(key in node for key in ("type", "enum", "oneOf", "allOf", "anyOf", "$ref")):
                del node["title"]
                description = node.get("description") or ""
                node["description"] = f"{title}\n\n{description}" if description and title not in description else (
                    description or title)
            for value in node.values():
                fold(value)
        elif isinstance(node, list):
            for value in node:
                fold(value)

    fold(result.get("paths"))
    fold(result.get("components"))
    return result
