"""SOS from anywhere: ``/api/v1/sos``."""

from __future__ import annotations

from backend.arguments import Blueprint
from backend.auth.current import current_user, login_required, rate_limit_key
from backend.extensions import limiter
from backend.sos import service
from backend.sos.schemas import SosCreateSchema, SosSchema

blp = Blueprint(
    "sos", __name__, url_prefix="/api/v1/sos", description="SOS, with or without a journey"
)

# Generous: a real SOS is one press (and its resends); this only stops a broken client or a
# script from flooding every contact's phone. Keyed per person (carrier NAT shares addresses).
# Only a new SOS (201) is counted: resending one after a lost answer never uses it up.
# If the limiter's storage is down it counts in the process (see docs/OPERATIONS.md).
SOS_LIMIT = "10/minute;60/hour"


def _new_sos(response) -> bool:  # type: ignore[no-untyped-def]
    return response.status_code == 201  # type: ignore[no-any-return]


@blp.post("")
@login_required
@limiter.limit(SOS_LIMIT, key_func=rate_limit_key, deduct_when=_new_sos)
@blp.arguments(SosCreateSchema)
@blp.response(201, SosSchema)
@blp.alt_response(200, schema=SosSchema, description="The same client_id again: the first SOS")
@blp.alt_response(409, response="CONFLICT")
def raise_sos(data):
    """Raise SOS: on your active journey, or an emergency share with all your trusted
    contacts. Safe to resend with the same ``client_id`` (200 with the first SOS). 409 with
    ``errors.code == ["no_trusted_contacts"]`` when there is no one to alert (nothing is stored)."""
    event, created = service.raise_sos(current_user(), data)
    return service.sos_dict(event), 201 if created else 200


@blp.get("/<int:sos_id>")
@login_required
@blp.response(200, SosSchema)
def get_sos(sos_id: int):
    """Your SOS and how far its alert has got with each recipient."""
    return service.sos_dict(service.get_sos(current_user(), sos_id))
