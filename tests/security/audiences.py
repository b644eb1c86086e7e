"""The audience matrix: which principal may see rows of which table, in its own federation.

Read by tests/security/test_audience_matrix.py. A cell present means "sees at least one of the
federation's seeded rows"; for partners and workers its text says why that is right."""

from __future__ import annotations

AUDIENCES = (
    "anonymous", "worker", "worker_nonmember", "pickup", "login_admin",
    "partner_hq", "partner_region", "partner_other_hq",
    "hq_admin", "regional_admin_a", "regional_admin_b", "station_officer", "hotline_operator",
    "system_jobs", "system_sla_sweep", "system_case_follow", "system_weekly_review",
    "system_participation", "system_contracts_breach",
    "provider", "provider_other", "provider_hq_scope",
)
PEOPLE_AUDIENCES = frozenset(a for a in AUDIENCES
                             if a.startswith(("partner", "worker", "provider")))
# 机构端 (0041): a referral provider's client sees only what its principal reaches, whatever
# tenant its scope names (provider_hq_scope: flexunion_tenant_scope() is empty for it).
_REFERRED = "the referrals made to its provider (0041): the slot or hand-over record"
_OWN_ENTRY = "its own provider's entry in the directory (0041)"
_OWN_CLIENT = "its own machine client (GET /v1/provider/me), no other"
_OWN_RECEIPTS = "its own receipts of the referrals made to it (0041)"

EXPECTED: dict[str, dict[str, str]] = {
    # 分层分类 (0054): the seeded member is homed in region 1 (regional_admin_b) after the move.
    # member_groups holds a `women` row and a `hardship` row: HQ sees only the first, the home
    # region both (tests/services/test_groups.py reads each through the API); no partner or
    # worker sees any (the worker's offers come through flexunion_my_service_offers()).
    "member_groups": {
        "hq_admin": "the member's `women` row only: hardship is the home region's",
        "regional_admin_b": "the member's groups, hardship too: the member is homed here",
    },
    "platform_events": {
        "hq_admin": "",
        "regional_admin_b": "an event about a member homed here",
        "partner_hq": "its own event (alpha pushed it): it reads back what it sent",
        "partner_region": "its own event (alpha pushed it): it reads back what it sent",
    },
    # 系统衔接 triggers (0055): HQ's and region 0's rule sets; an offer to the member (homed
    # in region 1), a station notice at region 0's first station, alpha's invitation for an
    # unmatched rider (at the federation).
    "service_trigger_rules": {
        "hq_admin": "",
        "regional_admin_a": "",
        "regional_admin_b": "",
        "station_officer": "",
    },
    "trigger_actions": {
        "hq_admin": "",
        "regional_admin_a": "the notice at its station",
        "regional_admin_b": "the offer to a member homed here",
        "station_officer": "its own station's notice",
        "partner_hq": "the invitation for its own unmatched rider, to relay (alpha's)",
        "partner_region": "the invitation for its own unmatched rider, to relay (alpha's)",
    },
    "work_signals": {
        "hq_admin": "",
        "regional_admin_b": "the work signal of a member homed here",
        "partner_hq": "the signal its own shift event wrote (nothing it did not send)",
        "partner_region": "the signal its own shift event wrote (nothing it did not send)",
    },
    "service_group_rules": {
        "hq_admin": "",
        "regional_admin_a": "",
        "regional_admin_b": "",
        "station_officer": "",
    },
    "weather_warnings": {
        "hq_admin": "",
        "regional_admin_a": "the warning its region loaded",
        "station_officer": "a warning its parent region loaded",
    },
    # 帮扶台账 (0053): region 0's case of the seeded member, its sealed details, budget line,
    # grant; the policy and the member's yearly total at the federation. No partner sees any
    # of it; the special-category details only the handlers of the case's region.
    "assistance_policies": {
        "hq_admin": "",
        "regional_admin_a": "",
        "regional_admin_b": "",
        "station_officer": "",
    },
    "assistance_cases": {
        "hq_admin": "",
        "regional_admin_a": "",
        "worker": "its own case: the step and what is asked of it (帮扶申报)",
    },
    "assistance_details": {
        "regional_admin_a": "",
    },
    "assistance_budget_lines": {
        "hq_admin": "",
        "regional_admin_a": "",
    },
    "assistance_grants": {
        "hq_admin": "",
        "regional_admin_a": "",
    },
    "assistance_member_totals": {
        "hq_admin": "",
        "regional_admin_a": "",
        "regional_admin_b": "",
    },
    # 一个入口 (0052): HQ's catalogue entry, region 0's event; the member's application to
    # it, reviewed by region 0, with a material. Partners see none of it.
    "service_catalogue": {
        "hq_admin": "",
        "regional_admin_a": "",
        "regional_admin_b": "",
        "station_officer": "",
        "worker": "the catalogue of its federation: the services it may apply for",
    },
    "service_events": {
        "hq_admin": "",
        "regional_admin_a": "",
        "regional_admin_b": "",
        "station_officer": "",
        "worker": "the events of its federation's services, with their places left",
    },
    "service_applications": {
        "hq_admin": "",
        "regional_admin_a": "",
        "worker": "its own application",
    },
    "service_materials": {
        "hq_admin": "",
        "regional_admin_a": "",
        "worker": "the materials of its own application",
    },
    # 核验节点 (0049): a checkpoint of the seeded clause (alpha's), its evidence, a signature.
    # Workers see none of it: evidence is between the platform and the union.
    "clause_checkpoints": {
        "hq_admin": "",
        "regional_admin_a": "",
        "partner_hq": "its own clause's checkpoint: it owes the evidence",
        "partner_region": "its own clause's checkpoint: it owes the evidence",
        "system_contracts_breach": "the 违约立案 job: its federation's checkpoints, to find"
                                   " those owing a case (0050)",
    },
    "checkpoint_evidence": {
        "hq_admin": "",
        "regional_admin_a": "",
        "partner_hq": "the evidence it submitted for its own checkpoint, and its evaluation",
        "partner_region": "the evidence it submitted for its own checkpoint, and its evaluation",
        "system_contracts_breach": "the 违约立案 job: the breach and its failed values go on"
                                   " the case (0050)",
    },
    "checkpoint_evidence_files": {  # 核验材料附件 (0051)
        "hq_admin": "",
        "regional_admin_a": "",
        "partner_hq": "the files it attached to its own checkpoint's evidence",
        "partner_region": "the files it attached to its own checkpoint's evidence",
        "system_contracts_breach": "the 违约立案 job: the files go on the case with the"
                                   " evidence (0051)",
    },
    "checkpoint_objections": {
        "hq_admin": "",
        "regional_admin_a": "",
        "partner_hq": "its own objection (异常复议) to its checkpoint's breach, and the decision",
        "partner_region": "its own objection (异常复议) to its checkpoint's breach, and the"
                          " decision",
    },
    "checkpoint_signatures": {
        "hq_admin": "",
        "regional_admin_a": "",
        "partner_hq": "the signatures on its own checkpoint (三方共同核验)",
        "partner_region": "the signatures on its own checkpoint (三方共同核验)",
    },
    # 协议条款 (0047): the seeded agreement is region 0's with alpha, in force.
    "agreement_clauses": {
        "hq_admin": "",
        "regional_admin_a": "",
        "partner_hq": "its own clause: the partner is a party to the agreement",
        "partner_region": "its own clause: the partner is a party to the agreement",
        "worker": "a clause in force for alpha, the platform its membership names (公示)",
        "system_contracts_breach": "the 违约立案 job: the clause's template decides the"
                                   " case's category (0050)",
    },
    "agreement_versions": {
        "hq_admin": "",
        "regional_admin_a": "",
        "partner_hq": "its own agreement's term and parties",
        "partner_region": "its own agreement's term and parties",
    },
    "agreements": {
        "hq_admin": "",
        "regional_admin_a": "",
        "partner_hq": "its own agreement with the union",
        "partner_region": "its own agreement with the union",
        "worker": "the header of an agreement in force for alpha, its platform",
    },
    "admin_accounts": {
        "hq_admin": "",
        "login_admin": "",
        "regional_admin_a": "",
        "system_jobs": "",
    },
    "agenda_attachments": {
        "hq_admin": "",
        "partner_hq": "files of its own agenda item shared with the partner",
        "partner_region": "files of its own agenda item shared with the partner",
        "regional_admin_a": "",
    },
    "agenda_item_events": {
        "hq_admin": "",
        "partner_hq": "the public ('all') history of its own agenda item",
        "partner_region": "the public ('all') history of its own agenda item",
        "regional_admin_a": "",
        "system_jobs": "",
    },
    "agenda_item_sources": {
        "hq_admin": "",
        "regional_admin_a": "",
        "worker": "the link from its own problem report to the item",
    },
    "agenda_items": {
        "hq_admin": "",
        "partner_hq": "its own agenda item, once on the agenda (agreed here)",
        "partner_region": "its own agenda item, once on the agenda (agreed here)",
        "regional_admin_a": "",
        "system_jobs": "",
    },
    "agenda_supports": {
        "hq_admin": "",
        "regional_admin_a": "",
        "worker": "its own support (one member, one support)",
    },
    "agenda_templates": {
        "hq_admin": "",
        "regional_admin_a": "",
    },
    "audit_events": {
        "hq_admin": "",
        "regional_admin_a": "",
        "regional_admin_b": "",
        "station_officer": "",
        "system_jobs": "",
    },
    "ballot_electors": {
        "hq_admin": "",
        "regional_admin_a": "",
        "system_jobs": "",
        "worker": "its own line on the roll (voted or not)",
    },
    "ballots": {
        "hq_admin": "",
        "regional_admin_a": "",
        "system_jobs": "",
        "worker": "a ballot it is an elector of / in its home's reach",
    },
    "calendar_days": {
        "hotline_operator": "",
        "partner_hq": "the federation's working calendar: holidays and hours, nothing personal",
        "partner_region": "the federation's working calendar: holidays and hours, nothing personal",
        "pickup": "the calendar the followed suggestion's deadlines are counted on",
        "worker": ("the calendar its own cases' deadlines (0017) and its transfer's release"
                   " deadline (0024) are counted on"),
        "hq_admin": "",
        "regional_admin_a": "",
        "regional_admin_b": "",
        "station_officer": "",
        "system_sla_sweep": "",
        "system_case_follow": "",
    },
    "calendar_settings": {
        "hotline_operator": "",
        "partner_hq": "the federation's working calendar: holidays and hours, nothing personal",
        "partner_region": "the federation's working calendar: holidays and hours, nothing personal",
        "pickup": "the calendar the followed suggestion's deadlines are counted on",
        "worker": ("the calendar its own cases' deadlines (0017) and its transfer's release"
                   " deadline (0024) are counted on"),
        "hq_admin": "",
        "regional_admin_a": "",
        "regional_admin_b": "",
        "station_officer": "",
        "system_sla_sweep": "",
        "system_case_follow": "",
    },
    "calendar_versions": {
        "hotline_operator": "",
        "partner_hq": "the federation's working calendar: holidays and hours, nothing personal",
        "partner_region": "the federation's working calendar: holidays and hours, nothing personal",
        "pickup": "the calendar the followed suggestion's deadlines are counted on",
        "worker": ("the calendar its own cases' deadlines (0017) and its transfer's release"
                   " deadline (0024) are counted on"),
        "hq_admin": "",
        "regional_admin_a": "",
        "regional_admin_b": "",
        "station_officer": "",
        "system_sla_sweep": "",
        "system_case_follow": "",
    },
    "clause_templates": {
        "hq_admin": "",
        "regional_admin_a": "",
        "regional_admin_b": "",
        "station_officer": "",
    },
    "case_assignments": {
        "hotline_operator": "",
        "hq_admin": "",
        "partner_hq": "the 会办单 of a case it is assigned to as a unit",
        "partner_region": "the 会办单 of a case it is assigned to as a unit",
        "regional_admin_a": "",
        "worker": "the handling units of its own case",
        "system_sla_sweep": "the SLA sweep finds the handling (lead) unit to escalate above (0020)",
        "station_officer": "",
        "system_case_follow": "ends the origin region's open assignments of a moved case (0029)",
    },
    "case_attachments": {
        "hotline_operator": "",
        "hq_admin": "",
        "regional_admin_a": "",
        "worker": "the evidence of its own case",
        "system_sla_sweep": "follows the case's visibility (0020); the sweep reads none",
        "station_officer": "",
        "system_case_follow": "follows the case's visibility (0029); the move reads none",
    },
    "case_disputes": {
        "hq_admin": "",
        "station_officer": "the origin's sight: its station handled the seeded case before"
                           " it moved (0035)",
        "partner_hq": "a dispute addressed to its platform (it stores nothing of the worker;"
                      " the case itself stays closed to it) (0030)",
        "partner_region": "a dispute addressed to its platform (it stores nothing of the"
                          " worker; the case itself stays closed to it) (0030)",
        "regional_admin_a": "",
        "worker": "the dispute on its own case",
    },
    "dispute_decisions": {
        "hq_admin": "",
        "station_officer": "the origin's sight: its station handled the seeded case before"
                           " it moved (0035)",
        "partner_hq": "its reply deadline, its own written reasons and the review's outcome"
                      " on a dispute addressed to it (0033)",
        "partner_region": "its reply deadline, its own written reasons and the review's"
                          " outcome on a dispute addressed to it (0033)",
        "regional_admin_a": "",
        "worker": "the platform's reasons and the review on the dispute of its own case",
    },
    "dispute_resolutions": {
        "hq_admin": "",
        "station_officer": "the origin's sight: its station handled the seeded case before"
                           " it moved (0035)",
        "partner_hq": "the path, terms and check of a dispute addressed to it: it is a party"
                      " to the mediation or settlement (0033)",
        "partner_region": "the path, terms and check of a dispute addressed to it: it is a"
                          " party to the mediation or settlement (0033)",
        "regional_admin_a": "",
        "worker": "how the dispute on its own case was resolved, and the follow-up",
    },
    "dispute_evidence": {
        "hq_admin": "",
        "station_officer": "the origin's sight: its station handled the seeded case before"
                           " it moved (0035)",
        "partner_hq": "only the evidence it supplied for its own request (slot and sha256)",
        "partner_region": "only the evidence it supplied for its own request (slot and"
                          " sha256)",
        "regional_admin_a": "",
        "worker": "the evidence index of the dispute on its own case",
    },
    "dispute_referrals": {
        "hq_admin": "",
        "station_officer": "the origin's sight: its station handled the seeded case before"
                           " it moved (0035)",
        "regional_admin_a": "",
        "worker": "where the dispute on its own case was handed over, and what was sent",
    },
    "dispute_replies": {
        "hq_admin": "",
        "station_officer": "the origin's sight: its station handled the seeded case before"
                           " it moved (0035)",
        "partner_hq": "its own replies to the steps of a dispute addressed to it",
        "partner_region": "its own replies to the steps of a dispute addressed to it",
        "regional_admin_a": "",
        "worker": "the platform's answers on the dispute of its own case",
    },
    "dispute_requests": {
        "hq_admin": "",
        "station_officer": "the origin's sight: its station handled the seeded case before"
                           " it moved (0035)",
        "partner_hq": "the evidence requests addressed to it, with their deadlines",
        "partner_region": "the evidence requests addressed to it, with their deadlines",
        "regional_admin_a": "",
        "worker": "what was asked of the platform on the dispute of its own case",
    },
    "dispute_steps": {
        "hq_admin": "",
        "station_officer": "the origin's sight: its station handled the seeded case before"
                           " it moved (0035)",
        "partner_hq": "the ladder of a dispute addressed to it (it answers each step; the"
                      " API shows authors by role only)",
        "partner_region": "the ladder of a dispute addressed to it (it answers each step;"
                          " the API shows authors by role only)",
        "regional_admin_a": "",
        "worker": "the ladder of the dispute on its own case",
    },
    "platform_rules": {
        "hq_admin": "",
        "partner_hq": "its own platform's rules register",
        "partner_region": "its own platform's rules register",
        "regional_admin_a": "",
        "regional_admin_b": "",
        "station_officer": "",
        "worker": "the public rules of a platform its membership names (公示)",
    },
    "platform_rule_versions": {
        "hq_admin": "",
        "partner_hq": "its own platform's rules register",
        "partner_region": "its own platform's rules register",
        "regional_admin_a": "",
        "regional_admin_b": "",
        "station_officer": "",
        "worker": "the public rules of a platform its membership names (公示)",
    },
    "rectification_item_cases": {
        "hq_admin": "",
        "regional_admin_a": "",
    },
    "rectification_items": {
        "hq_admin": "",
        "partner_hq": "an item it owns (no cases, no trend: the API shows neither); it"
                      " reports on it (0026)",
        "partner_region": "an item it owns (no cases, no trend: the API shows neither); it"
                          " reports on it (0026)",
        "regional_admin_a": "",
        "station_officer": "",
    },
    "rectification_steps": {
        "hq_admin": "",
        "partner_hq": "the history of an item it owns (authors by role only), its own"
                      " owner_report steps among them",
        "partner_region": "the history of an item it owns (authors by role only), its own"
                          " owner_report steps among them",
        "regional_admin_a": "",
        "station_officer": "",
    },
    "referral_providers": {
        "hotline_operator": "",
        "hq_admin": "",
        "partner_hq": "the public directory of mediation and legal aid (where workers are sent)",
        "partner_other_hq": "the public directory of mediation and legal aid (where workers"
                            " are sent)",
        "partner_region": "the public directory of mediation and legal aid (where workers are"
                          " sent)",
        "regional_admin_a": "",
        "regional_admin_b": "",
        "station_officer": "",
        "system_case_follow": "",
        "system_jobs": "",
        "system_sla_sweep": "",
        "worker": "the public directory: the nearest provider to where it works",
        "worker_nonmember": "the public directory: the nearest provider to where it works",
        "system_weekly_review": "",
        "system_participation": "",
        "provider": _OWN_ENTRY,
        "provider_other": _OWN_ENTRY,
        "provider_hq_scope": _OWN_ENTRY,
        "system_contracts_breach": "",
    },
    "case_referrals": {
        "hotline_operator": "",
        "hq_admin": "",
        "regional_admin_a": "",
        "station_officer": "",  # the seeded case left its station (case_sight, 0029)
        "worker": "where its own case was referred: the provider, the slot, the hand-over",
        "provider": _REFERRED,
        "provider_hq_scope": _REFERRED,
    },
    "referral_provider_clients": {
        "hq_admin": "",
        "regional_admin_a": "",  # the seeded providers are kept by its region
        "provider": _OWN_CLIENT,
        "provider_other": _OWN_CLIENT,
        "provider_hq_scope": _OWN_CLIENT,
    },
    "referral_receipts": {
        "hotline_operator": "",
        "hq_admin": "",
        "regional_admin_a": "",
        "station_officer": "",  # it sees the referral (case_sight, 0029)
        "worker": "the provider's answer to where its own case was referred",
        "provider": _OWN_RECEIPTS,
        "provider_hq_scope": _OWN_RECEIPTS,
    },
    "review_signals": {
        "hq_admin": "",
        "regional_admin_a": "",
        "station_officer": "",  # the signal is placed at its own station
        "system_weekly_review": "",  # its own federation's signals (0032)
    },
    "case_clocks": {
        "hotline_operator": "",
        "hq_admin": "",
        "partner_hq": "the deadlines of a case it is assigned to (it answers by them)",
        "partner_region": "the deadlines of a case it is assigned to (it answers by them)",
        "regional_admin_a": "",
        "worker": "the deadlines of its own case",
        "system_sla_sweep": "the SLA sweep reads every clock of its federation",
        "station_officer": "",
        "system_case_follow": "re-derives a moved case's clocks (0029)",
    },
    "case_sight": {
        "hotline_operator": "",
        "hq_admin": "",
        "regional_admin_a": "",
        "station_officer": "",
    },
    "case_events": {
        "hotline_operator": "",
        "hq_admin": "",
        "partner_hq": "the steps of a case it is assigned to (worker masked by the API)",
        "partner_region": "the steps of a case it is assigned to (worker masked by the API)",
        "regional_admin_a": "",
        "worker": "the steps of its own case",
        "system_sla_sweep": "the SLA sweep reads and writes reminder / escalation events (0020)",
        "station_officer": "",
        "system_case_follow":
            "writes the moved event; the clocks are derived from the events (0029)",
    },
    "case_followups": {
        "hotline_operator": "",
        "hq_admin": "",
        "regional_admin_a": "",
        "worker": "the 回访 of its own case",
        "system_sla_sweep": "follows the case's visibility (0020); the sweep reads none",
        "station_officer": "",
        "system_case_follow": "follows the case's visibility (0029); the move reads none",
    },
    "case_intake_partners": {
        "hq_admin": "",
        "partner_hq": "its own registration as a 12351 hotline platform",
        "partner_region": "its own registration as a 12351 hotline platform",
    },
    "case_policies": {
        "hotline_operator": "",
        "hq_admin": "",
        "regional_admin_a": "",
        "regional_admin_b": "",
        "station_officer": "",
    },
    "case_ratings": {
        "hotline_operator": "",
        "hq_admin": "",
        "regional_admin_a": "",
        "worker": "its own satisfaction rating",
        "system_sla_sweep": "follows the case's visibility (0020); the sweep reads none",
        "station_officer": "",
        "system_case_follow": "follows the case's visibility (0029); the move reads none",
    },
    "cases": {
        "hotline_operator": "",
        "hq_admin": "",
        "partner_hq": "a case assigned to it as a handling unit (worker masked by the API)",
        "partner_region": "a case assigned to it as a handling unit (worker masked by the API)",
        "pickup": "",
        "regional_admin_a": "",
        "station_officer": "",
        "worker": "its own case",
        "system_sla_sweep":
            "the SLA sweep reads its federation's cases to remind and escalate (0020)",
        "system_case_follow": "moves its federation's open cases with a completed transfer (0029)",
    },
    "census_runs": {
        "hq_admin": "",
        "regional_admin_a": "",
        "system_jobs": "",
    },
    "console_sessions": {
        "regional_admin_a": "",
    },
    "data_promises": {
        "hq_admin": "",
        "partner_hq": "data it promised in a negotiation round",
        "partner_region": "data it promised in a negotiation round",
        "regional_admin_a": "",
    },
    "domain_events": {
        "hq_admin": "",
        "regional_admin_b": "",
        "system_jobs": "",
        "system_case_follow": "the member.transferred rows only, to claim and stamp them (0029)",
    },
    "geo_versions": {
        "hotline_operator": "",
        "hq_admin": "",
        "partner_hq": "a version counter of the federation's map, no data",
        "partner_other_hq": "a version counter of the federation's map, no data",
        "partner_region": "a version counter of the federation's map, no data",
        "regional_admin_a": "",
        "regional_admin_b": "",
        "station_officer": "",
        "system_jobs": "",
        "system_sla_sweep": "",
        "system_case_follow": "",
        "system_weekly_review": "",
        "system_participation": "",
        "system_contracts_breach": "",
    },
    "idempotency_keys": {
        "worker_nonmember": "its own retried request's stored answer",
    },
    "location_checkins": {
        "worker": "its own check-ins",
    },
    "member_homes": {
        "hq_admin": "",
        "regional_admin_b": "",
        "system_jobs": "",
        "worker": "its own membership's homes",
    },
    "members": {
        "hq_admin": "",
        "regional_admin_b": "",
        "system_jobs": "",
        "worker": "its own membership",
    },
    "negotiation_round_items": {
        "hq_admin": "",
        "partner_hq": "its own item in a negotiation round",
        "partner_region": "its own item in a negotiation round",
        "regional_admin_a": "",
    },
    "negotiation_rounds": {
        "hq_admin": "",
        "partner_hq": "a negotiation round it sat in",
        "partner_region": "a negotiation round it sat in",
        "regional_admin_a": "",
    },
    "partner_clients": {
        "hq_admin": "",
        "partner_hq": "its own machine client (GET /v1/partner/me), no other",
        "partner_other_hq": "its own machine client (GET /v1/partner/me), no other",
        "partner_region": "its own machine client (GET /v1/partner/me), no other",
        "regional_admin_a": "",
        "system_jobs": "",
    },
    "partner_responses": {
        "hq_admin": "",
        "partner_hq": "its own answers to its agenda item",
        "partner_region": "its own answers to its agenda item",
        "regional_admin_a": "",
    },
    "platform_partners": {
        "hotline_operator": "",
        "hq_admin": "",
        "partner_hq": "the federation's platform directory (codes, names)",
        "partner_other_hq": "the federation's platform directory (codes, names)",
        "partner_region": "the federation's platform directory (codes, names)",
        "regional_admin_a": "",
        "regional_admin_b": "",
        "station_officer": "",
        "system_jobs": "",
        "system_sla_sweep": "",
        "system_case_follow": "",
        "system_weekly_review": "",
        "system_participation": "",
        "system_contracts_breach": "",
    },
    "problem_reports": {
        "hq_admin": "",
        "regional_admin_a": "",
        "worker": "its own problem report",
    },
    "rep_proposal_reports": {
        "hq_admin": "",
        "regional_admin_a": "",
        "worker": "its report inside a proposal (it is the representative)",
    },
    "rep_proposals": {
        "hq_admin": "",
        "regional_admin_a": "",
        "worker": "its own proposal as a representative",
    },
    "roster_entries": {
        "hq_admin": "",
        "regional_admin_a": "",
        "system_jobs": "",
    },
    "roster_uploads": {
        "hq_admin": "",
        "partner_hq": "its own roster uploads (partner_id), no other platform's",
        "partner_region": "its own roster uploads (partner_id), no other platform's",
        "system_jobs": "",
    },
    "service_areas": {
        "hotline_operator": "",
        "hq_admin": "",
        "partner_hq": "the public map: zones it files rosters against",
        "partner_other_hq": "the public map: zones it files rosters against",
        "partner_region": "the public map: zones it files rosters against",
        "regional_admin_a": "",
        "regional_admin_b": "",
        "station_officer": "",
        "system_jobs": "",
        "system_sla_sweep": "",
        "system_case_follow": "",
        "system_weekly_review": "",
        "system_participation": "",
        "system_contracts_breach": "",
    },
    "service_points": {
        "hotline_operator": "",
        "hq_admin": "",
        "partner_hq": "the public map: stations (驿站) workers are sent to",
        "partner_other_hq": "the public map: stations (驿站) workers are sent to",
        "partner_region": "the public map: stations (驿站) workers are sent to",
        "regional_admin_a": "",
        "regional_admin_b": "",
        "station_officer": "",
        "system_jobs": "",
        "system_sla_sweep": "",
        "system_case_follow": "",
        "system_weekly_review": "",
        "system_participation": "",
        "system_contracts_breach": "",
    },
    "station_checks": {
        "hq_admin": "",
        "regional_admin_a": "",
        "regional_admin_b": "",
        "station_officer": "",
        "system_jobs": "",
    },
    "station_duties": {
        "hq_admin": "",
        "regional_admin_a": "",
        "regional_admin_b": "",
        "station_officer": "",
        "system_jobs": "",
    },
    "station_supplies": {
        "hq_admin": "",
        "regional_admin_a": "",
        "regional_admin_b": "",
        "station_officer": "",
        "system_jobs": "",
    },
    "tenants": {
        "hotline_operator": "",
        "hq_admin": "",
        "partner_hq": "the federation tree it is anchored in (GET /v1/partner/tenants)",
        "partner_other_hq": "the federation tree it is anchored in (GET /v1/partner/tenants)",
        "partner_region": "the federation tree it is anchored in (GET /v1/partner/tenants)",
        "regional_admin_a": "",
        "regional_admin_b": "",
        "station_officer": "",
        "system_jobs": "",
        "system_sla_sweep": "",
        "system_case_follow": "",
        "system_weekly_review": "",
        "system_participation": "",
        "system_contracts_breach": "",
    },
    "participation_grants": {
        "hq_admin": "",
        "regional_admin_a": "",
        "regional_admin_b": "",
        "worker": "its own (lapsed) grant to another region's agenda board (流动议事)",
        "system_participation": "the 流动议事 job grants and renews its federation's grants (0037)",
    },
    "transfer_suggestions": {
        "worker": "a transfer offered to it",
    },
    "transfers": {
        "hq_admin": "",
        "regional_admin_a": "",
        "regional_admin_b": "",
        "station_officer": "",
        "system_jobs": "",
        "worker": "its own transfer",
    },
    "worker_accounts": {
        "hq_admin": "",
        "system_jobs": "",
        "worker": "its own account",
        "worker_nonmember": "its own account",
    },
    "worker_consents": {
        "hq_admin": "",
        "system_jobs": "",
        "worker": "its own consents",
        "worker_nonmember": "its own consents",
    },
    "worker_notifications": {
        "worker": "its own inbox",
    },
    "worker_representatives": {
        "hq_admin": "",
        "regional_admin_a": "",
        "worker": "its own designation as a representative",
    },
}
