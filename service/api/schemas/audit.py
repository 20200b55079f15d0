from __future__ import annotations

from datetime import UTC, datetime

from marshmallow import Schema, fields, validate

from service.api.schemas.common import PageQuery, query_id, total_field


class AuditEventOut(Schema):
    id = fields.Integer(required=True)
    chain_key = fields.String(required=True)
    chain_seq = fields.Integer(required=True)
    prev_hash = fields.String(required=True)
    hash = fields.String(required=True)
    occurred_at = fields.DateTime(required=True)
    actor_account_id = fields.Integer(allow_none=True, required=True)
    actor_username = fields.String(required=True)
    actor_role = fields.String(allow_none=True, required=True)
    token_id = fields.Integer(allow_none=True, required=True)
    client_ip = fields.String(allow_none=True, required=True)
    request_id = fields.String(allow_none=True, required=True)
    action = fields.String(required=True)
    entity_type = fields.String(required=True)
    entity_id = fields.String(required=True)
    organization_id = fields.Integer(allow_none=True, required=True)
    before = fields.Raw(allow_none=True, required=True)
    after = fields.Raw(allow_none=True, required=True)
    reason = fields.String(allow_none=True, required=True)
    via = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "the portal's account when it acted for the actor"},
    )


class AuditEventPage(Schema):
    items = fields.List(fields.Nested(AuditEventOut), required=True)
    next_cursor = fields.String(allow_none=True, required=True)
    total = total_field()


# Moments a query may name: far enough for any trail, near enough that converting to UTC never
# leaves the calendar (0001-01-01T00:00+01:00 would).
MOMENTS = validate.Range(
    min=datetime(1900, 1, 1, tzinfo=UTC),
    max=datetime(9999, 1, 1, tzinfo=UTC),
    error="must be between 1900 and 9998",
)


class AuditEventQuery(PageQuery):
    within = query_id(metadata={"description": "events of this organization's subtree"})
    actor = fields.String(
        validate=validate.Length(min=1, max=100), metadata={"description": "username"}
    )
    via = fields.String(
        validate=validate.Length(min=1, max=100),
        metadata={"description": "the portal's account that acted for the actor"},
    )
    action = fields.String(validate=validate.Length(min=1, max=80))
    entity_type = fields.String(validate=validate.Length(min=1, max=60))
    entity_id = fields.String(validate=validate.Length(min=1, max=60))
    since = fields.AwareDateTime(
        validate=MOMENTS, metadata={"description": "ISO 8601 with offset, years 1900–9998"}
    )
    until = fields.AwareDateTime(validate=MOMENTS)
    format = fields.String(
        validate=validate.OneOf(["json", "csv", "ndjson"]),
        metadata={"description": "or send Accept: text/csv / application/x-ndjson"},
    )


class DamageOut(Schema):
    kind = fields.String(required=True)
    chain_key = fields.String(required=True)
    event_id = fields.Integer(allow_none=True, required=True)
    seq = fields.Integer(allow_none=True, required=True)
    detail = fields.String(required=True)


class VerifyOut(Schema):
    intact = fields.Boolean(required=True)
    chains = fields.Integer(required=True)
    events = fields.Integer(required=True)
    summary = fields.String(required=True)
    damage = fields.List(fields.Nested(DamageOut), required=True)
    witnessed = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        required=True,
        metadata={"description": "each trusted witness and the largest tree size it vouches for"},
    )
    anchored = fields.Integer(
        required=True,
        metadata={
            "description": "the largest tree size a trusted witness or saved checkpoint vouches for"
        },
    )


class PublicKeyOut(Schema):
    algorithm = fields.String(required=True)
    key_id = fields.String(required=True)
    public_key = fields.String(
        required=True, metadata={"description": "PEM (SubjectPublicKeyInfo)"}
    )
    verifier_key = fields.String(
        required=True,
        metadata={"description": "signed-note verifier key for the log's checkpoints"},
    )


class CheckpointOut(Schema):
    id = fields.Integer(required=True)
    payload = fields.String(
        required=True, metadata={"description": "the canonical JSON that was signed"}
    )
    signature = fields.String(required=True, metadata={"description": "base64 Ed25519 signature"})
    key_id = fields.String(required=True)
    public_key = fields.String(required=True)


class CheckpointList(Schema):
    items = fields.List(fields.Nested(CheckpointOut), required=True)


class SignedCheckpointOut(CheckpointOut):
    tree_size = fields.Integer(required=True, metadata={"description": "leaves in the Merkle log"})
    root_hash = fields.String(required=True, metadata={"description": "hex RFC 6962 root"})
    note = fields.String(
        required=True,
        metadata={"description": "the tree head as a C2SP tlog-checkpoint signed note"},
    )
    verifier_key = fields.String(
        required=True, metadata={"description": "the signed-note verifier key of the log"}
    )


class CosignerOut(Schema):
    witness = fields.String(required=True)
    public_key = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    verified = fields.Boolean(
        metadata={"description": "the cosignature verifies under the witness's registered key"}
    )


class WitnessIn(Schema):
    name = fields.String(
        required=True,
        validate=validate.Regexp(r"^[!-*,-~]{1,200}$"),
        metadata={"description": "the witness's name, e.g. jiwei.example/witness"},
    )
    verifier_key = fields.String(
        required=True,
        validate=validate.Length(max=400),
        metadata={
            "description": "its signed-note verifier key (name+hash+key), as `python -m service "
            "audit witness-key` prints it on the witness's machine"
        },
    )


class WitnessDecisionIn(Schema):
    reason = fields.String(
        allow_none=True,
        validate=validate.Length(max=2000),
        metadata={"description": "required to reject"},
    )


class WitnessOut(Schema):
    id = fields.Integer(required=True)
    name = fields.String(required=True)
    verifier_key = fields.String(required=True)
    state = fields.String(required=True, metadata={"description": "pending, approved, rejected"})
    requested_at = fields.DateTime(required=True)
    requested_by = fields.String(required=True)
    decided_at = fields.DateTime(allow_none=True, required=True)
    decided_by = fields.String(allow_none=True, required=True)
    reason = fields.String(allow_none=True, required=True)


class WitnessList(Schema):
    items = fields.List(fields.Nested(WitnessOut), required=True)


class TreeHeadOut(Schema):
    id = fields.Integer(required=True)
    tree_size = fields.Integer(required=True)
    root_hash = fields.String(required=True)
    created_at = fields.DateTime(required=True)
    note = fields.String(required=True)
    cosigners = fields.List(fields.Nested(CosignerOut), required=True)


class TreeHeadList(Schema):
    items = fields.List(fields.Nested(TreeHeadOut), required=True)


class InclusionQuery(Schema):
    tree_size = fields.Integer(
        validate=validate.Range(min=1, max=2**62),
        metadata={"description": "default: the log's size now"},
    )


class InclusionOut(Schema):
    event_id = fields.Integer(required=True)
    leaf_index = fields.Integer(required=True)
    tree_size = fields.Integer(required=True)
    leaf_hash = fields.String(required=True, metadata={"description": "SHA-256(0x00 ‖ hash)"})
    path = fields.List(fields.String(), required=True, metadata={"description": "RFC 6962 PATH"})
    root_hash = fields.String(required=True)


class EvidenceProof(Schema):
    tree_size = fields.Integer(required=True)
    leaf_index = fields.Integer(required=True)
    path = fields.List(fields.String(), required=True, metadata={"description": "RFC 6962 PATH"})


class EvidenceEvent(AuditEventOut):
    inclusion = fields.Nested(
        EvidenceProof,
        allow_none=True,
        required=True,
        metadata={"description": "null while the event is newer than the checkpoint"},
    )


class EvidenceOut(Schema):
    grading_id = fields.Integer(required=True)
    checkpoint = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "the latest signed checkpoint (signed note, with cosignatures)"},
    )
    verifier_key = fields.String(required=True)
    events = fields.List(fields.Nested(EvidenceEvent), required=True)
    pending = fields.List(
        fields.Integer(),
        required=True,
        metadata={"description": "events a later checkpoint will cover: ask again after it"},
    )
    how_to_check = fields.String(required=True)


class ConsistencyQuery(Schema):
    first = fields.Integer(
        required=True, validate=validate.Range(min=1, max=2**62), data_key="from"
    )
    second = fields.Integer(required=True, validate=validate.Range(min=1, max=2**62), data_key="to")


class ConsistencyOut(Schema):
    first = fields.Integer(required=True, data_key="from")
    second = fields.Integer(required=True, data_key="to")
    first_root = fields.String(required=True, data_key="from_root")
    second_root = fields.String(required=True, data_key="to_root")
    path = fields.List(fields.String(), required=True, metadata={"description": "RFC 6962 PROOF"})


class CosignatureIn(Schema):
    witness = fields.String(required=True, validate=validate.Length(min=1, max=200))
    verifier_key = fields.String(
        validate=validate.Length(max=400),
        metadata={
            "description": "the witness's signed-note verifier key (name+hash+key): optional; "
            "when sent it must be the registered one"
        },
    )
    line = fields.String(
        required=True,
        validate=validate.Length(max=400),
        metadata={"description": "the C2SP tlog-cosignature/v1 signature line"},
    )
