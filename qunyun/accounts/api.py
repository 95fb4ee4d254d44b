"""Who am I, and API tokens, over JSON."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from qunyun.accounts import service
from qunyun.accounts.deps import CurrentPrincipal, DbSession, csrf_protect
from qunyun.web.schemas import RowId, error_responses

router = APIRouter(
    prefix="/api/v1",
    tags=["accounts"],
    dependencies=[Depends(csrf_protect)],
    responses=error_responses(401, 403),
)


class CommunityRoleOut(BaseModel):
    community_id: int
    role: str


class MeOut(BaseModel):
    id: int
    name: str
    language: str | None
    roles: list[CommunityRoleOut]


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=100)


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class IssuedTokenOut(TokenOut):
    token: str = Field(description="shown once; store it now")


@router.get("/me", response_model=MeOut)
def me(principal: CurrentPrincipal) -> MeOut:
    return MeOut(
        id=principal.user_id,
        name=principal.name,
        language=principal.language,
        roles=[CommunityRoleOut(community_id=c, role=r.value) for c, r in principal.roles.items()],
    )


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(session: DbSession, principal: CurrentPrincipal) -> list[TokenOut]:
    return [
        TokenOut.model_validate(t, from_attributes=True)
        for t in service.list_tokens(session, principal.user_id)
    ]


@router.post(
    "/tokens", response_model=IssuedTokenOut, status_code=201, responses=error_responses(400)
)
def create_token(body: TokenIn, session: DbSession, principal: CurrentPrincipal) -> IssuedTokenOut:
    issued = service.create_token(session, principal.user_id, body.name)
    out = TokenOut.model_validate(issued.token, from_attributes=True)
    return IssuedTokenOut(**out.model_dump(), token=issued.plaintext)


@router.delete("/tokens/{token_id}", status_code=204, responses=error_responses(404))
def revoke_token(token_id: RowId, session: DbSession, principal: CurrentPrincipal) -> None:
    service.revoke_token(session, principal.user_id, token_id)
