"""Security headers: a Content-Security-Policy on every response.

Pages load scripts and styles from this server only (htmx is served as a static file, no
inline script). The rendered study report is the library's self-contained HTML (inline
styles and ``data:`` figures), so its response allows inline styles and ``data:`` images
but still no script from anywhere.
"""

from __future__ import annotations

DEFAULT_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
              "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'none'")


class ContentSecurityPolicyMiddleware:
    """Adds ``Content-Security-Policy`` (a view may set its own, e.g. the report)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", DEFAULT_CSP)
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), "
                                    "geolocation=()")
        return response
