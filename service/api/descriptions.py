"""What each operation does, for the contract's readers: who may call it, what it answers and
what it refuses — where the operation's own `description=` does not say it already.
Keyed by the handler's name; service.api.spec puts them in openapi.yaml (every operation has
one: tests/test_contract.py)."""

from __future__ import annotations

DESCRIPTIONS: dict[str, str] = {
    # access
    "me": "Who the token (or the OIDC access token) belongs to and the role grants it carries; "
    "with On-Behalf-Of, the person acted for and `via`, the portal. A portal's own grants are "
    "listed in `portal_for`. Any valid token may call it.",
    "list_accounts": "Admins and inspectors: the accounts homed in organizations they can see, "
    "paginated (`sort=username`, `within` narrows to a subtree).",
    "create_account": "An admin of the home organization creates the account; each grant must "
    "lie in the admin's subtree (404 outside it). A supervisor or portal grant is not given at "
    "once: it becomes a pending grant request (`pending_grants`) for an admin above.",
    "get_account": "Admins and inspectors of the account's home organization: the account, "
    "its live and revoked grants and the grants it waits for.",
    "patch_account": "Deactivate (or reactivate) an account; its tokens stop working at once. "
    "Only an admin whose subtree holds every grant of the account (403 otherwise).",
    "list_grant_requests": "Admins and inspectors: grants of supervisor or portal asked for in "
    "organizations they can see; `state=pending` for the ones waiting.",
    "get_grant_request": "Admins and inspectors of the grant's organization: who asked, for whom, "
    "and how it was decided.",
    "approve_grant_request": "An admin on an organization strictly above the grant's (on a top "
    "organization, another admin there) makes the grant live. The requester and the account "
    "itself get 403 four-eyes; a decided request 409.",
    "reject_grant_request": "Who may approve may reject; `reason` is required (422 without). "
    "Final: approving afterwards is 409.",
    "revoke_grant": "An admin of the grant's organization revokes it; it takes effect on the next "
    "request. The grant is kept, marked revoked, and the audit trail says who and why.",
    "list_tokens": "Admins and inspectors: the account's tokens — prefix, expiry, last use; "
    "never the token itself.",
    "create_token": "The answer holds the token once (Cache-Control: no-store); only its SHA-256 "
    "is stored. An admin whose subtree holds every grant of the account; a retry with the same "
    "Idempotency-Key is 409 secret-not-replayed, never the token again.",
    "revoke_token": "The account itself or an admin of its home: the token answers 401 "
    "token-revoked from the next request.",
    # audit
    "verify_trail": "Inspectors and admins: every hash chain of your subtree recomputed, the "
    "Merkle log's leaves and every signed checkpoint checked; `intact` or the first damage "
    "(modified, missing, inserted) with the event it concerns. Reading it is itself audited.",
    "public_key": "The key that verifies checkpoints and tree heads (PEM and C2SP verifier key); "
    "keep it from a source you trust, not only from here.",
    "latest_tree_head": "No token: anyone may fetch and keep it; a later tree head must be "
    "consistent with it (GET /audit/consistency).",
    "tree_head_history": "Inspectors and admins: every tree head signed, newest first, each with "
    "the witnesses that cosigned it.",
    "consistency_proof": "Inspectors and admins: the RFC 6962 proof that the log at `to` events "
    "extends the log at `from`: a witness's check that no event was rewritten or removed.",
    "list_checkpoints": "Inspectors and admins: the signed statements of every chain's head, "
    "newest first, to be kept offline and compared with a later verify.",
    # ballots
    "get_session": "Anyone who sees the session: its categories, codes issued and used, state; "
    "results (per grading, per category) only once counted.",
    "get_codes": "Tellers in scope: the one-time codes to print and cut, A4 SVG with a QR code "
    "each (default) or CSV (`format=csv`). Codes are not linked to people anywhere.",
    "close_session": "A teller in scope: no more ballots are accepted; counting can follow.",
    "void_session": "A supervisor in scope, with a reason: the session is never counted (e.g. "
    "its box key is lost) and the meeting is held again.",
    "bulletin_board": "No account: every receipt of the counted box and the digest the count "
    "committed to; a voter finds their receipt here.",
    "list_tallies": "Anyone who sees the grading: each counted session and paper tally that "
    "feeds its score, per category.",
    "add_paper_tally": "A teller in scope, while the grading is in evaluation: issued, returned, "
    "invalid and the distribution per category, which must add up (422 otherwise).",
    "correct_paper_tally": "A new version with a reason; after the stage it waits for a "
    "supervisor (202 with the approval).",
    # campaigns
    "list_campaigns": "Campaigns of committees you can see or that cover you, paginated "
    "(`sort=name|year`, filters by organization, year, status).",
    "create_campaign": "An admin of the committee: a draft with its level scheme, standards per "
    "领域, rating sources and weights, phases with due dates, quota rules.",
    "get_campaign": "One campaign with its configuration; the ETag is its version.",
    "open_campaign": "An admin of the committee: the configuration freezes (amend it from then "
    "on) and every grassroots organization in scope gets a grading. If-Match recommended.",
    "close_campaign": "An admin of the committee: the campaign ends; gradings keep their state.",
    "enroll": "An admin: gradings for organizations founded or moved in since opening; "
    "enrolling twice adds nothing.",
    "amend": "An admin of the committee: publicity days, phases' due dates, quotas — never "
    "weights or standards (422); the amendment records the reason, before and after.",
    "list_amendments": "Anyone who sees the campaign: its amendments, oldest first, paginated.",
    "list_gradings": "The campaign's gradings you can see, each with its organization's name "
    "and code and the state's label; filters by state, 领域, subtree and overdue; sort by "
    "organization name or code, state or enrolment; `total=true` counts them.",
    # decisions
    "get_decision": "The proposed level: the computed one from the composite score, vetoes and "
    "quotas, and the level proposed with its reason when it differs.",
    "get_vetoes": "The veto rules flagged on the grading (一票否决) and the level they force.",
    "put_vetoes": "A reviewer in scope during superior review: which of the campaign's veto "
    "rules apply; each save is a new version.",
    "get_quotas": "Anyone who sees the campaign: per quota rule and scope, what is decided so "
    "far, its share, and whether it passes a cap or misses a floor.",
    # evaluation
    "list_survey_entries": "The survey ledger of the grading: each entry with its problems and "
    "suggestions, as the working group recorded them.",
    "add_survey_entry": "A reviewer in scope while the grading is in the survey stage (409 "
    "stage-not-open otherwise); the grading's first entry allows opening the self-rating.",
    "correct_survey_entry": "A new version naming why; nothing is overwritten.",
    "get_self_rating": "The organization's self-rating with every version (who, when, why).",
    "get_assessment": "The superior's quantified assessment, with every version.",
    "get_branch_opinion": "The opinion the branch formed from its ballot (分类定级意见): the level "
    "it proposes, its text, the meeting's date, the tallies it rests on, every version.",
    "list_meetings": "The campaign's 分类定级会议 records held by committees the caller sees, "
    "oldest first, paginated; each with its chair, attendees, minutes and results.",
    "get_meeting": "One 分类定级会议 record as it was recorded (never changed: a correction is "
    "another record naming it in `corrects_id`). Anyone who sees the committee.",
    "list_accountability": "Anyone who sees the grading: every accountability record (追究责任) "
    "on it, oldest first, each naming its source (spot check, complaint, 回头看, inspection).",
    "put_assessment": "A reviewer in scope during superior review; a correction names why.",
    "get_score": "How the composite score is reached: each source's points and weight, "
    "bonuses and deductions, vetoes, and the level; 409 score-incomplete while a source is "
    "missing.",
    # events
    "list_subscriptions": "Admins: the webhooks of organizations they can see (never their "
    "secrets).",
    "get_subscription": "Admins of the subscription's organization: its status and, when "
    "paused, why (e.g. dead-lettered deliveries).",
    "pause_subscription": "Admins: deliveries stop; events keep being queued for it.",
    "resume_subscription": "Admins: deliveries go on, dead-lettered ones included.",
    "delete_subscription": "Admins: the subscription and its queued deliveries are removed.",
    "list_deliveries": "Admins: each delivery with its attempts, next try and last answer.",
    "redeliver": "Admins: the delivery is sent again with the same webhook-id, so the receiver "
    "can tell it from a new event.",
    # gradings
    "get_grading": "Anyone who sees the grading: its state, version (the ETag), the deadline of "
    "its stage, any pending approval and every next step, allowed or with the reasons it is "
    "blocked for you. If-None-Match with the ETag answers 304.",
    "get_history": "Everyone who sees the grading: its audit events, oldest first, each with a "
    "line a person can read; paginated. An inspector's read is itself audited.",
    "list_approvals": "Approvals on gradings you can see, with the organization and what each "
    "is for; `state`, `grading_id`; `sort=requested_at|state`; paginated.",
    "get_approval": "One approval: what was asked, by whom, and the decision.",
    "approve": "The request is carried out now, its guards checked again (409 if they no "
    "longer hold); the requester gets 403 four-eyes; a decided approval is 409.",
    "reject": "A comment is required (422 without); the request is not carried out.",
    # meta
    "health": "No token. 200 when the database answers and is at the code's revision; 503 "
    "with Retry-After otherwise.",
    "live": "No token, no database call: 200 while the process serves requests.",
    "ready": "No token: 200 when the database answers and is migrated to the code's revision; "
    "503 with Retry-After otherwise.",
    "get_workflow": "No token: a lifecycle as data — states with their labels, transitions with "
    "roles, guards and whether they need a reason or an approval — and its Mermaid diagram.",
    # organizations
    "list_domains": "The fixed list of 领域 (农村, 社区, 机关…) with their labels.",
    "list_organizations": "Organizations in your subtrees, paginated; `sort=name|code`, "
    "`within` a subtree, filters by kind and 领域; `total=true` counts them.",
    "create_organization": "An admin of the parent: code (unique), name, kind, 领域, secretary, "
    "member count, founding date. The ETag is its version.",
    "get_organization": "One organization in your subtree; the ETag is its version.",
    "list_moves": "Where the organization was moved in the tree, when, by whom and why.",
    # promotion
    "get_promotion": "The promotion's parts: the satisfaction tally, the secretary's special "
    "report and the decision, each with its versions.",
    "put_report": "The branch secretary, during review: the special report (专项述职).",
    # publicity
    "get_notice": "No token: the organizations of the campaign (or `area`) under publicity with "
    "their levels and the period, in tree order, paginated; the page people read and the "
    "complaint form are linked.",
    "track_complaint": "No token: the complaint's state and, once answered, the reply — only "
    "with its tracking code; an unknown code is 404.",
    "list_complaints": "Complaints about gradings in your subtree (`state`, `grading_id`), "
    "paginated: the text, the contact the filer left, the investigation and the reply.",
    "assign_complaint": "A reviewer in scope takes it up; answering follows.",
    # rectification
    "get_rectification": "The plan of a grading in rectification: helpers, items with their "
    "status, evidence and deadlines, and how far it has come.",
    "put_helpers": "A reviewer in scope: the paired leader, liaison, helping department and "
    "first secretary; required before approving the plan of a 一般 or 较差 organization.",
    "approve_plan": "A supervisor in scope: the plan is fixed (no new items) and work starts; "
    "409 without helpers for the lowest levels or without items.",
    "item_start": "The branch secretary starts an open item of an approved plan.",
    "item_submit": "The branch secretary submits an item with its evidence for verification.",
    "item_close": "A reviewer in scope verifies the evidence and closes (销号) the item.",
    "item_return": "A reviewer in scope returns a submitted item with a reason; the secretary "
    "works on it again.",
    "get_ledger": "Every rectification item of the campaign in your subtree, with organization, "
    "deadline and status; `overdue=true` for the late ones.",
    # reports
    "summary": "Per unit, 领域 and 协作区: organizations graded and the count and share per "
    "level; JSON, CSV or xlsx (`format`). Scoped to your subtree.",
    "detail": "One row per organization of your subtree with its scores and level, streamed as "
    "CSV or xlsx (cells a spreadsheet would run are made inert).",
    "poor_list": "The organizations at the campaign's lowest level in your subtree.",
    "poor_status": "For each organization at the lowest level: problems, causes, measures, "
    "helpers, deadlines and how far rectification has come.",
    "progress": "Per unit: gradings in each state, ballot sessions and complaints — where the "
    "campaign stands.",
    # spot checks
    "list_spot_checks": "Spot checks whose population lies in your subtree (an inspector outside "
    "it never sees one), paginated; `campaign_id` narrows.",
    "get_spot_check": "The plan — population, share or size, strata, the public value's source "
    "— and, once drawn, the tree head and public value the seed came from, the seed and the "
    "population's size: what anyone needs to recompute the sample.",
    "conclude_spot_check": "An inspector above the population: once every sampled grading has "
    "its finding (409 naming those without one); final.",
    "spot_check_report": "Everyone who sees the population: the sample in draw order with each "
    "finding, the grading's state now and the approval that reopens it, and the "
    "accountability ledger.",
    # standards
    "list_standards": "Every standard version, by 领域; paginated.",
    "create_standard": "An admin: indicators with maximum points (summing to the total), "
    "sub-items, bonus and deduction rules; it becomes the next version for its 领域.",
    "get_standard": "One version, and whether a campaign froze it.",
    "new_standard_version": "An admin: a new version starting from this one, with the changes "
    "sent; the old version stays as it was for the campaigns that use it.",
    "list_level_schemes": "Built-in and custom level schemes with their levels and lower bounds; "
    "paginated.",
    "create_level_scheme": "An admin: a custom scheme (levels with labels and lower bounds); "
    "immutable once created.",
    "get_level_scheme": "One level scheme: its levels, labels and lower bounds.",
}
