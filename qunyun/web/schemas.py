"""The error shapes every JSON operation answers with, for the OpenAPI document."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path
from pydantic import BaseModel, Field

# The largest id a 64-bit integer column holds: larger path ids are refused with 422
# instead of overflowing the database driver.
MAX_ROW_ID = 2**63 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_ROW_ID)]


class ErrorOut(BaseModel):
    code: str = Field(description="stable machine-readable code, e.g. url.private_host")
    message: str = Field(description="for people, in the request's language")


class FieldProblem(BaseModel):
    field: str
    problem: str


class ValidationErrorOut(ErrorOut):
    errors: list[FieldProblem]


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the refusals an operation can answer with."""
    described = {
        400: "Refused input (see code)",
        401: "Not signed in, or the API token is invalid",
        403: "The role is insufficient, or the CSRF token is missing",
        404: "Not found",
        409: "Conflict, e.g. the slug is taken",
        413: "The upload is too large",
        429: "Too many requests; see Retry-After",
    }
    responses: dict[int | str, dict[str, Any]] = {
        status: {"model": ErrorOut, "description": described[status]} for status in statuses
    }
    responses[422] = {"model": ValidationErrorOut, "description": "Malformed request"}
    return responses


__all__ = [
    "MAX_ROW_ID",
    "ErrorOut",
    "FieldProblem",
    "RowId",
    "ValidationErrorOut",
    "error_responses",
]
