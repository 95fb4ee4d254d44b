"""Cases and reports as the API shows them."""

from __future__ import annotations

from qunyun.moderation.models import ModerationCase
from qunyun.platforms.models import PlatformAction

from .env import EnforcementEnv
from .queries import CaseDetail, CaseRow
from .reports import ReportRow
from .schemas import (
    CaseActionOut,
    CaseDetailOut,
    CaseOut,
    EvidenceOut,
    MemberRecordOut,
    ReportOut,
)


def _case_fields(
    case: ModerationCase, env: EnforcementEnv, group_name: str | None, member_name: str | None
) -> dict[str, object]:
    return {
        "id": case.id,
        "group_id": case.group_id,
        "group_name": group_name,
        "member_id": case.member_id,
        "member_name": member_name,
        "record_id": case.record_id,
        "message_id": case.message_id,
        "message_text": case.message_text,
        "rule_id": case.rule_id,
        "category": case.category,
        "severity": case.severity,
        "label": dict(case.label or {}),
        "evidence": [EvidenceOut.model_validate(e) for e in case.evidence or []],
        "rule_book_id": case.rule_book_id,
        "rule_book_version": case.rule_book_version,
        "step_action": case.step_action,
        "step_seconds": case.step_seconds,
        "step_index": case.step_index,
        "grave": case.grave,
        "delete_message": case.delete_message,
        "dry_run": case.dry_run,
        "exemption": case.exemption,
        "status": case.status,
        "source": case.source,
        "acted_by_id": case.acted_by_id,
        "action_ids": list(case.action_ids or []),
        "notice_action_id": case.notice_action_id,
        "appeal_url": env.appeal_url(case.appeal_token) if case.appeal_token else None,
        "language": case.language,
        "occurred_at": case.occurred_at,
        "created_at": case.created_at,
    }


def case_out(row: CaseRow, env: EnforcementEnv) -> CaseOut:
    return CaseOut.model_validate(_case_fields(row.case, env, row.group_name, row.member_name))


def action_out(action: PlatformAction) -> CaseActionOut:
    return CaseActionOut(
        id=action.id, kind=action.kind, status=action.status, last_error=action.last_error
    )


def case_detail_out(detail: CaseDetail, env: EnforcementEnv) -> CaseDetailOut:
    fields = _case_fields(
        detail.case,
        env,
        detail.group.name if detail.group is not None else None,
        detail.member.display_name if detail.member is not None else None,
    )
    return CaseDetailOut.model_validate(
        {
            **fields,
            "actions": [action_out(a) for a in detail.actions],
            "notice": action_out(detail.notice) if detail.notice is not None else None,
            "appeals": [
                {"id": a.id, "status": a.status, "via": a.via, "created_at": a.created_at}
                for a in detail.appeals
            ],
        }
    )


def report_out(row: ReportRow) -> ReportOut:
    r = row.report
    return ReportOut(
        id=r.id,
        group_id=r.group_id,
        group_name=row.group_name,
        message_id=r.message_id,
        message_text=r.message_text,
        reported_member_id=r.reported_member_id,
        reported_name=row.reported_name,
        reporter_member_id=r.reporter_member_id,
        reporter_name=row.reporter_name,
        reason=r.reason,
        status=r.status,
        case_id=r.case_id,
        handled_by_id=r.handled_by_id,
        handled_at=r.handled_at,
        created_at=r.created_at,
        reported_record=MemberRecordOut(
            active_warnings=row.record.active_warnings,
            cases=row.record.cases,
            last_case_at=row.record.last_case_at,
        ),
    )
