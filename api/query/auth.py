"""Bearer-token authentication for the query API (every endpoint but ingest, health, pages).

Routers of query endpoints declare ``dependencies=[Depends(require_token)]``; the security scheme
appears in the OpenAPI document so clients (and schemathesis) know to send the header.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from civicpulse.api.query.tokens import ApiTokens

__all__ = ["bearer", "get_tokens", "require_token"]

bearer = HTTPBearer(auto_error=False, description="a token from `civicpulse tokens add NAME`")


def get_tokens(request: Request) -> ApiTokens:
    tokens: ApiTokens = request.app.state.api_tokens
    return tokens


def _unauthorized(detail: str) -> HTTPException:
    return HTTPException(status_code=401, detail=detail, headers={"WWW-Authenticate": "Bearer"})


def require_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    tokens: Annotated[ApiTokens, Depends(get_tokens)],
) -> None:
    """401 unless ``Authorization: Bearer <token>`` carries a known token."""
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise _unauthorized("send Authorization: Bearer <token> (see `civicpulse tokens add`)")
    if not tokens.check(credentials.credentials):
        raise _unauthorized("unknown or revoked API token")
