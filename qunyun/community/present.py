"""Rows to API shapes, shared by the JSON API and the command line."""

from __future__ import annotations

from qunyun.accounts.principal import Principal
from qunyun.community import groups as group_service
from qunyun.community import service
from qunyun.community.members import (
    DirectoryRow,
    HistoryEntry,
    Profile,
    Referral,
    TimelineItem,
)
from qunyun.community.models import Community, Group, GroupMembership, Member
from qunyun.community.schemas import (
    BandModel,
    CommunityOut,
    GroupMemberOut,
    GroupNodeOut,
    GroupOut,
    IdentityChangeOut,
    IdentityOut,
    MemberOut,
    MembershipOut,
    ProfileOut,
    ReferralOut,
    TimelineItemOut,
)
from qunyun.community.tree import Node


def community_out(community: Community, principal: Principal) -> CommunityOut:
    scheme = service.tier_scheme(community)
    role = principal.role_in(community.id)
    return CommunityOut(
        id=community.id,
        slug=community.slug,
        name=community.name,
        description=community.description,
        timezone=community.timezone,
        role=role.value if role else None,
        group_kinds=list(service.group_kinds(community)),
        tier_bands=[BandModel(name=b.name, upto=b.upto) for b in scheme.bands],
        tier_cap=scheme.cap,
        created_at=community.created_at,
    )


def group_out(group: Group) -> GroupOut:
    return GroupOut(
        id=group.id,
        name=group.name,
        platform=group.platform,
        platform_group_id=group.platform_group_id,
        kind=group.kind,
        standing=group.standing,
        ends_on=group.ends_on,
        capacity=group.capacity,
        member_count=group.member_count,
        capacity_use=round(group_service.capacity_use(group), 4),
        parent_id=group.parent_id,
        introduction=group.introduction,
        announcement=group.announcement,
        timezone=group.timezone,
        rule_book_id=group.rule_book_id,
        status=group.status,
        created_at=group.created_at,
    )


def node_out(node: Node[Group]) -> GroupNodeOut:
    return GroupNodeOut(
        **group_out(node.row).model_dump(),
        depth=node.depth,
        children=[node_out(c) for c in node.children],
    )


def group_member_out(ms: GroupMembership, member: Member) -> GroupMemberOut:
    return GroupMemberOut(
        member_id=member.id,
        display_name=member.display_name,
        nickname=ms.nickname,
        role=ms.role,
        status=ms.status,
        joined_at=ms.joined_at,
        last_active_at=ms.last_active_at,
        message_count=ms.message_count,
    )


def member_out(row: DirectoryRow) -> MemberOut:
    m = row.member
    return MemberOut(
        id=m.id,
        display_name=m.display_name,
        join_order=m.join_order,
        tier=row.tier,
        source=m.source,
        inviter_id=m.inviter_id,
        titles=list(m.titles or []),
        tags=row.tags,
        groups=row.groups,
        first_joined_at=m.first_joined_at,
        last_active_at=m.last_active_at,
        message_count=m.message_count,
        merged_into_id=m.merged_into_id,
    )


def referral_out(node: Referral) -> ReferralOut:
    return ReferralOut(
        id=node.member.id,
        display_name=node.member.display_name,
        join_order=node.member.join_order,
        invitees=[referral_out(c) for c in node.children],
    )


def history_out(entry: HistoryEntry) -> IdentityChangeOut:
    c = entry.change
    return IdentityChangeOut(
        id=c.id,
        change=c.change,
        member_id=c.member_id,
        other_member_id=c.other_member_id,
        other_name=entry.other_name,
        identity_ids=list(c.identity_ids or []),
        by_user=entry.by_name,
        note=c.note,
        at=c.at,
    )


def profile_out(p: Profile) -> ProfileOut:
    groups = [v.group.name for v in p.memberships if v.membership.status == "active"]
    base = member_out(DirectoryRow(p.member, p.tier, p.tags, groups))
    return ProfileOut(
        **base.model_dump(),
        notes=p.member.notes,
        identities=[
            IdentityOut(
                id=i.id,
                platform=i.platform,
                platform_user_id=i.platform_user_id,
                display_name=i.display_name,
            )
            for i in p.identities
        ],
        memberships=[
            MembershipOut(
                group_id=v.group.id,
                group_name=v.group.name,
                platform=v.group.platform,
                nickname=v.membership.nickname,
                role=v.membership.role,
                status=v.membership.status,
                joined_at=v.membership.joined_at,
                left_at=v.membership.left_at,
                last_active_at=v.membership.last_active_at,
                message_count=v.membership.message_count,
            )
            for v in p.memberships
        ],
        inviter=referral_out(Referral(p.inviter)) if p.inviter else None,
        invitees=[referral_out(r) for r in p.invitees],
        merged_from=[m.id for m in p.merged_from],
        history=[history_out(h) for h in p.history],
    )


def timeline_item_out(item: TimelineItem) -> TimelineItemOut:
    return TimelineItemOut(
        type="change" if item.type == "change" else "message",
        at=item.at,
        group_id=item.group_id,
        group_name=item.group_name,
        id=item.id,
        change=item.change,
        how=item.how,
        by_member_id=item.by_member_id,
        by_name=item.by_name,
        text=item.text,
        message_kind=item.message_kind,
    )
