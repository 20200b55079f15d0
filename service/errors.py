"""Every error a client can be answered with: one class per problem type.

Each class carries its slug (the `type` of the RFC 9457 problem, served at /problems/<slug>),
its HTTP status, its title and what it means for a client. service.api turns a raised error into
problem+json, and the catalogue (/problems, openapi.yaml's x-problem-types) is read from these
classes, so a title cannot drift from what the service answers.
"""

from __future__ import annotations

from typing import Any, ClassVar

CATALOGUE: dict[str, type[DomainError]] = {}


class DomainError(Exception):
    status: ClassVar[int] = 400
    type: ClassVar[str] = "bad-request"
    title: ClassVar[str] = "Bad request"
    description: ClassVar[str] = "The request cannot be processed as sent."

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "type" not in cls.__dict__:
            return  # shares its parent's problem type (e.g. a narrower Python class)
        if cls.type in CATALOGUE:
            raise TypeError(f"problem type {cls.type!r} is declared twice")
        missing = {"title", "description"} - set(cls.__dict__)
        if missing:
            raise TypeError(f"{cls.__name__} declares a problem type without {missing}")
        CATALOGUE[cls.type] = cls

    def __init__(
        self, detail: str, *, errors: Any = None, detail_zh: str | None = None, **extra: Any
    ) -> None:
        reserved = {"type", "title", "status", "detail"} & set(extra)
        if reserved:  # the class says these; raise the class of the problem you mean
            raise TypeError(f"{type(self).__name__} got {', '.join(sorted(reserved))}")
        super().__init__(detail)
        self.detail = detail
        # as specific as `detail`, in Chinese: answered when the request prefers Chinese
        self.detail_zh = detail_zh
        self.errors = errors
        self.extra = extra


CATALOGUE[DomainError.type] = DomainError


# --- the request itself -------------------------------------------------------------------


class MalformedRequest(DomainError):
    status = 400
    type = "malformed-request"
    title = "Malformed request"
    description = "The body is not valid UTF-8 JSON, or a header is malformed."


class ValidationFailed(DomainError):
    """Input that is well-formed but breaks a rule; `errors` maps field -> messages."""

    status = 422
    type = "validation-error"
    title = "The request has invalid fields"
    description = "`errors` maps each field to its problems."


class UnsupportedMediaType(DomainError):
    status = 415
    type = "unsupported-media-type"
    title = "Unsupported media type"
    description = "Send JSON as application/json."


class PayloadTooLarge(DomainError):
    status = 413
    type = "payload-too-large"
    title = "Payload too large"
    description = "The body is larger than the configured limit."


class UriTooLong(DomainError):
    status = 414
    type = "uri-too-long"
    title = "URI too long"
    description = "The request line is longer than the server reads (gunicorn: 4094 bytes)."


class HeaderFieldsTooLarge(DomainError):
    status = 431
    type = "header-fields-too-large"
    title = "Request header fields too large"
    description = "A header, or the headers together, are larger than the server reads."


class MethodNotAllowed(DomainError):
    status = 405
    type = "method-not-allowed"
    title = "Method not allowed"
    description = "See the Allow header."


class PreconditionFailed(DomainError):
    status = 412
    type = "precondition-failed"
    title = "Version mismatch"
    description = "The If-Match version is stale; re-read and retry."

    @classmethod
    def check(cls, current: int, expected: frozenset[int] | None) -> None:
        """Refuse unless the client's If-Match (the versions it names; None: not sent) holds."""
        if expected is not None and current not in expected:
            named = ", ".join(f'"{v}"' for v in sorted(expected)) or "no version"
            raise cls(
                f"the resource is at version {current}; If-Match named {named}",
                current_version=current,
            )


class PreconditionRequired(DomainError):
    status = 428
    type = "precondition-required"
    title = "If-Match required"
    description = (
        "This service requires If-Match on writes (REQUIRE_IF_MATCH): send the ETag you read."
    )


class SecretNotReplayed(DomainError):
    status = 409
    type = "secret-not-replayed"
    title = "The first answer held a secret"
    description = (
        "A retry with this Idempotency-Key: the first request succeeded, but its answer held a "
        "secret shown once (a token, a webhook secret), which is never stored. Read what was "
        "created (Location, or the list) instead."
    )


class IdempotencyKeyReused(DomainError):
    status = 422
    type = "idempotency-key-reused"
    title = "Idempotency-Key reused"
    description = "The key belongs to another request; use a new key."


class TooManyRequests(DomainError):
    status = 429
    type = "rate-limited"
    title = "Too many requests"
    description = "Wait for the seconds in Retry-After."


# --- who is asking ------------------------------------------------------------------------


class Unauthorized(DomainError):
    status = 401
    type = "unauthorized"
    title = "Authentication required"
    description = "Send `Authorization: Bearer <token>`."


class TokenUnknown(Unauthorized):
    type = "token-unknown"
    title = "Unknown token"
    description = "The token was never issued (or was mistyped)."


class TokenExpired(Unauthorized):
    type = "token-expired"
    title = "Token expired"
    description = "Ask an administrator for a new token."


class TokenRevoked(Unauthorized):
    type = "token-revoked"
    title = "Token revoked"
    description = "The token was revoked; ask for a new one."


class AccountInactive(Unauthorized):
    type = "account-inactive"
    title = "Account deactivated"
    description = "The token's account is deactivated."


class EvidenceRejected(ValidationFailed):
    type = "evidence-rejected"
    title = "Evidence file not accepted"
    description = (
        "An evidence file must be a PDF, PNG or JPEG image or an office document whose bytes "
        "match its name, within the size limit, attached to a record of the grading's current "
        "stage, and pass the scan when one is configured; `errors` says what was wrong."
    )


class SignInRefused(Unauthorized):
    type = "sign-in-refused"
    title = "Wrong username or password"
    description = (
        "The workbench's sign-in: no such account, no password set, or the wrong password — "
        "which one is not said. Several in a row lock the account for a while."
    )


class SignInLocked(Unauthorized):
    type = "sign-in-locked"
    title = "Sign-in locked"
    description = "Too many wrong passwords in a row: the account's sign-in waits until `until`."


class Forbidden(DomainError):
    status = 403
    type = "forbidden"
    title = "Not allowed for your role"
    description = "You can see the resource but your role may not do this."


class SelfApproval(Forbidden):
    type = "four-eyes"
    title = "Four eyes"
    description = "A supervisor cannot approve or reject their own request."


class SuperiorDuty(Forbidden):
    """The superior committee's work, tried by someone who may not do it for this organization:
    `duty` names it, `rule` says which rule refused (code, message_zh, message_en)."""

    type = "superior-duty"
    title = "A duty of the superior committee"
    description = (
        "The seed documents give this work to the committee above the graded organization: "
        "it needs the role on a committee strictly above it (unless the campaign relaxes the "
        "duty), and never someone homed in the organization itself. `rule` says which."
    )


class NotFound(DomainError):
    status = 404
    type = "not-found"
    title = "Not found"
    description = "No such resource, or it is outside your organizations."


# --- the state of things ------------------------------------------------------------------


class Conflict(DomainError):
    status = 409
    type = "conflict"
    title = "Conflicts with the current state"
    description = "Re-read the resource and try again."


class Duplicate(Conflict):
    type = "duplicate"
    title = "Already exists"
    description = "A natural key (code, username) is taken."


class TreeCycle(ValidationFailed):
    type = "tree-cycle"
    title = "Cycle in the organization tree"
    description = "An organization cannot move under itself."


class HasActiveChildren(Conflict):
    type = "has-active-children"
    title = "Has active sub-organizations"
    description = "Move or close them first."


class OrganizationInactive(Conflict):
    type = "organization-inactive"
    title = "Organization not active"
    description = "Merged or dissolved organizations stay so."


class WebhookWrongState(Conflict):
    type = "webhook-state"
    title = "Wrong webhook state"
    description = (
        "A subscription pauses when active and resumes when paused; a delivery moves pending → "
        "delivered or dead, and is sent again from any of them."
    )


class ImportRejected(DomainError):
    status = 422
    type = "import-rejected"
    title = "The file was not imported"
    description = "`errors` lists each bad row and column; nothing was written."


class StandardFrozen(Conflict):
    type = "standard-frozen"
    title = "Standard version frozen"
    description = "A campaign used it; publish a new version."


class CampaignFrozen(Conflict):
    type = "campaign-frozen"
    title = "Campaign configuration frozen"
    description = "The campaign is open; file an amendment."


class CampaignNotOpen(Conflict):
    type = "campaign-not-open"
    title = "Campaign not open"
    description = "Only an open campaign does this."


class MissingStandard(Conflict):
    type = "missing-standard"
    title = "No standard for a 领域"
    description = "Every 领域 in scope needs a standard."


class TransitionBlocked(Conflict):
    type = "transition-blocked"
    title = "The transition's conditions do not hold"
    description = "`reasons` says why."


class TransitionNotAllowed(Conflict):
    type = "transition-not-allowed"
    title = "Wrong state for this transition"
    description = "It starts from another state."


class StageNotOpen(Conflict):
    type = "stage-not-open"
    title = "Not in this stage"
    description = "The grading is in another stage; `state` says which."


class EvidenceDamaged(Conflict):
    type = "evidence-damaged"
    title = "Evidence file damaged"
    description = (
        "The stored bytes of an evidence file are missing or no longer hash to the SHA-256 "
        "recorded (and audited) when it was uploaded: it is not served."
    )


class ApprovalPending(Conflict):
    type = "approval-pending"
    title = "An approval is pending"
    description = "Wait for the supervisor's decision, or have it rejected."


class ApprovalDecided(Conflict):
    type = "approval-decided"
    title = "Approval decided already"
    description = "Approved or rejected requests are final."


class ScoreIncomplete(Conflict):
    type = "score-incomplete"
    title = "Score incomplete"
    description = "`missing` lists the rating sources not yet available."


class CodeRejected(Conflict):
    type = "ballot-code-rejected"
    title = "Ballot code rejected"
    description = (
        "`reason`: unknown (check for typos), used, closed, or stage_over (the graded "
        "organizations have left the stage the meeting was held for)."
    )


class BallotSessionWrongState(Conflict):
    type = "ballot-session-state"
    title = "Ballot session state"
    description = "Sessions go open → closed → counted."


class BallotBoxLocked(Conflict):
    type = "ballot-box-locked"
    title = "Ballot box cannot be opened"
    description = (
        "The session's key was sealed under another BALLOT_BOX_SECRET: restore it, or a "
        "supervisor voids the session with a reason and the meeting is held again."
    )


class QuorumNotMet(Conflict):
    type = "quorum-not-met"
    title = "Quorum not met"
    description = "Too few ballots came back; `required` says how many."


class BallotRoll(ValidationFailed):
    """Codes or attendance that do not fit who may vote: `rule` says which rule, with the
    numbers (eligible, issued, present, required) where they help."""

    type = "ballot-roll"
    title = "The ballots do not fit the roll"
    description = (
        "Who may vote (应到) comes from the graded organizations' rolls (party members) or is "
        "declared (invited representatives); no more codes than that without the superior's "
        "reason, enough for the quorum, no more present than eligible. `rule` says which rule "
        "refused: roll_known, eligible_from_roll, codes_within_roll, over_issue_reason, "
        "quorum_reachable, present_within_roll."
    )


class AttendanceMismatch(Conflict):
    type = "ballot-attendance"
    title = "The attendance does not allow counting"
    description = (
        "Counting needs the attendance (实到) of every category recorded, and no category may "
        "hold more ballots than people present. `rule` says which."
    )


class NotInPublicity(Conflict):
    type = "not-in-publicity"
    title = "Not under publicity"
    description = "Complaints are filed while a grading is publicly noticed."


class ComplaintWrongState(Conflict):
    type = "complaint-state"
    title = "Wrong complaint state"
    description = "Assign before answering; answered complaints are final."


class PlanApproved(Conflict):
    type = "plan-approved"
    title = "Plan approved"
    description = "An approved plan takes no new items."


class PlanFull(Conflict):
    type = "plan-full"
    title = "Plan full"
    description = "A rectification plan holds at most 100 items; merge related ones."


class PlanEmpty(Conflict):
    type = "plan-empty"
    title = "Plan empty"
    description = "A rectification plan needs at least one item."


class PlanNotApproved(Conflict):
    type = "plan-not-approved"
    title = "Plan not approved"
    description = "Items are worked on once the plan is approved."


class HelpersRequired(Conflict):
    type = "helpers-required"
    title = "Helpers required"
    description = "Assign a paired leader and a liaison first."


class SpotCheckWrongState(Conflict):
    type = "spot-check-state"
    title = "Wrong spot check state"
    description = "Spot checks go planned → drawn → checking → concluded; a sample is drawn once."


class SeedNotReady(Conflict):
    type = "seed-not-ready"
    title = "The draw's seed does not exist yet"
    description = (
        "A sample is drawn only from a tree head signed after the plan was recorded, with a "
        "public value entered afterwards: sign a checkpoint, then draw."
    )


class ItemWrongState(Conflict):
    type = "item-state"
    title = "Wrong item state"
    description = "Items go open → in progress → submitted → closed."


class NotPromotable(Conflict):
    type = "promotion-refused"
    title = "Promotion refused"
    description = "`reasons` lists the conditions that do not hold."


# --- the service itself -------------------------------------------------------------------


class InternalError(DomainError):
    status = 500
    type = "internal-error"
    title = "Internal error"
    description = "A fault of the service; the request id helps to find it."


class DatabaseUnavailable(DomainError):
    status = 503
    type = "database-unavailable"
    title = "Database unavailable"
    description = "The service cannot reach its database."


class PrintFontMissing(DomainError):
    status = 503
    type = "print-font-missing"
    title = "No Chinese font to print with"
    description = (
        "A PDF is printed with a Chinese font from the server (Debian's fonts-noto-cjk, or the "
        "file PDF_FONT names); this server has none. The SVG sheet prints without one."
    )


class StateWriteRefused(RuntimeError):
    """A programming error, not a client's: a lifecycle's state column was written directly."""


# Each problem type in Chinese: (title, what it means). An API answer is in Chinese when the
# request prefers it (Accept-Language: zh…): `title` and `detail` from here, the specific
# English detail kept in `detail_en` (service.api.problems).
CATALOGUE_ZH: dict[str, tuple[str, str]] = {
    "bad-request": ("请求有误", "请求无法按所发送的内容处理。"),
    "malformed-request": ("请求格式错误", "请求体不是有效的 UTF-8 JSON，或某个请求头格式不对。"),
    "validation-error": ("请求中有字段不合要求", "`errors` 逐项列出每个字段的问题。"),
    "unsupported-media-type": ("不支持的内容类型", "请以 application/json 发送 JSON。"),
    "payload-too-large": ("请求体过大", "请求体超过了配置的上限。"),
    "uri-too-long": ("请求地址过长", "请求行超过了服务器能读取的长度。"),
    "header-fields-too-large": ("请求头过大", "某个请求头或全部请求头超过了服务器能读取的长度。"),
    "method-not-allowed": ("不支持该请求方法", "可用的方法见 Allow 响应头。"),
    "precondition-failed": ("版本不一致", "If-Match 中的版本已过时，请重新读取后再试。"),
    "precondition-required": (
        "需要 If-Match",
        "本服务要求写操作带上读取时得到的 ETag（If-Match）。",
    ),
    "secret-not-replayed": (
        "首次应答含有只显示一次的密钥",
        "使用同一 Idempotency-Key 的重试：首次请求已成功，但其应答中的密钥只显示一次、从不保存。"
        "请改为读取已创建的资源。",
    ),
    "idempotency-key-reused": ("Idempotency-Key 已被其他请求使用", "请为新的请求使用新的键。"),
    "rate-limited": ("请求过于频繁", "请等待 Retry-After 所示的秒数后再试。"),
    "unauthorized": ("需要身份认证", "请发送 Authorization: Bearer <令牌>。"),
    "token-unknown": ("令牌无效", "该令牌从未签发，或输入有误。"),
    "token-expired": ("令牌已过期", "请向管理员申请新的令牌。"),
    "token-revoked": ("令牌已吊销", "该令牌已被吊销，请申请新的令牌。"),
    "account-inactive": ("账号已停用", "该令牌所属的账号已停用。"),
    "evidence-rejected": (
        "佐证材料不符合要求",
        "佐证材料须为内容与扩展名相符的 PDF、图片或办公文档，大小不超过上限，"
        "附在当前环节的记录上，并通过病毒扫描（如已配置）。",
    ),
    "evidence-damaged": (
        "佐证材料已损坏",
        "存储中的文件缺失，或内容与上传时登记（并记入审计）的 SHA-256 不符，不予提供。",
    ),
    "sign-in-refused": (
        "用户名或密码不正确",
        "工作台登录：账号不存在、未设置密码或密码错误（不说明是哪一种）。",
    ),
    "sign-in-locked": (
        "登录已锁定",
        "连续多次密码错误，账号暂时不能登录，请在 until 所示时间之后再试。",
    ),
    "forbidden": ("您的角色无权进行此操作", "您可以看到该资源，但您的角色不能执行此操作。"),
    "four-eyes": ("四眼原则", "不能审批自己提出的请求，也不能审批授予自己的权限。"),
    "superior-duty": (
        "这是上级党组织的职责",
        "该项工作须由被评定组织的上级党组织人员负责，本组织的成员不能为本组织办理；"
        "`rule` 说明依据哪条规则。",
    ),
    "not-found": ("未找到", "该资源不存在，或不在您所管理的组织范围内。"),
    "conflict": ("与当前状态冲突", "请重新读取该资源后再试。"),
    "duplicate": ("已存在", "编码或用户名等唯一标识已被占用。"),
    "tree-cycle": ("组织树中出现循环", "组织不能移到自己的下级之下。"),
    "has-active-children": ("仍有在册的下级组织", "请先移走或撤销下级组织。"),
    "organization-inactive": ("组织不在册", "已合并或撤销的组织保持该状态。"),
    "webhook-state": (
        "推送状态不符",
        "订阅须在推送中才能暂停、暂停后才能恢复；投递由待送达变为已送达或已放弃，可从任一状态重新发送。",
    ),
    "import-rejected": ("文件未导入", "`errors` 列出每个有问题的行和列；没有写入任何数据。"),
    "standard-frozen": ("标准版本已锁定", "已有活动使用了该版本，请发布新版本。"),
    "campaign-frozen": ("活动配置已锁定", "活动已开始，请提交变更说明（amendment）。"),
    "campaign-not-open": ("活动未开始", "只有进行中的活动可以执行此操作。"),
    "missing-standard": ("缺少某领域的标准", "范围内的每个领域都需要一套标准。"),
    "transition-blocked": ("不满足该步骤的条件", "`reasons` 说明原因。"),
    "transition-not-allowed": ("当前状态不能执行该步骤", "该步骤从其他状态开始。"),
    "stage-not-open": ("不在该环节", "评定处于其他环节，`state` 说明是哪个。"),
    "approval-pending": ("有待审批的请求", "请等待审批人决定，或由审批人驳回。"),
    "approval-decided": ("已审批", "已批准或已驳回的请求不能再改变。"),
    "score-incomplete": ("得分不完整", "`missing` 列出尚未取得的评价来源。"),
    "ballot-code-rejected": (
        "票码不可用",
        "`reason`：unknown（请核对输入）、used（已使用）、closed（已结束）或 stage_over"
        "（被评定组织已离开测评环节）。",
    ),
    "ballot-session-state": ("测评场次状态不符", "场次依次为：进行中 → 已截止 → 已计票。"),
    "ballot-box-locked": (
        "票箱无法打开",
        "该场次的密钥以另一个 BALLOT_BOX_SECRET 封存：请恢复它，"
        "或由审批人说明理由后作废该场次并重新组织测评。",
    ),
    "quorum-not-met": ("回收票数不足", "收回的票太少，`required` 说明需要多少。"),
    "ballot-roll": (
        "票数与名册不符",
        "应到人数来自被评定组织的党员名册（或所邀代表的人数）；发票不能超过应到人数（除非上级说明理由），"
        "也不能少到达不到法定比例；实到不能超过应到。`rule` 说明依据哪条规则。",
    ),
    "ballot-attendance": (
        "到会情况不允许计票",
        "计票前须登记每一类人员的实到人数，且任何一类收回的票不能多于实到人数。`rule` 说明原因。",
    ),
    "not-in-publicity": ("不在公示期", "只有在公示期内才能提出意见。"),
    "complaint-state": ("意见处理状态不符", "先分派再答复；已答复的意见不能再改变。"),
    "plan-approved": ("整改方案已批准", "已批准的方案不能再增加事项。"),
    "plan-full": ("整改方案事项已满", "一个整改方案最多 100 项，请合并相关事项。"),
    "plan-empty": ("整改方案为空", "整改方案至少需要一项。"),
    "plan-not-approved": ("整改方案未批准", "方案批准后才能推进各事项。"),
    "helpers-required": ("需要帮扶责任人", "请先指定结对领导和联络员。"),
    "spot-check-state": (
        "抽查状态不符",
        "抽查依次为：已计划 → 已抽样 → 核查中 → 已完成；样本只抽一次。",
    ),
    "seed-not-ready": (
        "抽样种子尚不存在",
        "只能用计划记录之后签署的日志树头，加上其后录入的公开数值抽样：请先签署检查点，再抽样。",
    ),
    "item-state": ("整改事项状态不符", "事项依次为：未开始 → 整改中 → 已提交 → 已销号。"),
    "promotion-refused": ("不能晋位", "`reasons` 列出不满足的条件。"),
    "internal-error": ("服务内部错误", "这是服务自身的故障；请求编号有助于查找原因。"),
    "database-unavailable": ("数据库不可用", "服务无法连接数据库。"),
    "print-font-missing": (
        "没有可用于打印的中文字体",
        "PDF 需要服务器上的中文字体（Debian 的 fonts-noto-cjk，或 PDF_FONT 指定的文件）；"
        "没有字体时可以打印 SVG 格式。",
    ),
}
