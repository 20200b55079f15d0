"""Pages for people without a portal: the ballot a QR code opens, the 公示 notice, complaints,
and the API reference. Server-rendered (Jinja2), Chinese first, mobile first, no JavaScript
needed; see docs/decisions/0019."""
