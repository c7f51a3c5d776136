"""Every domain's models, imported so the mapper registry and Alembic see them all."""

from backend.areas.models import Postcode, Ward
from backend.auth.models import User
from backend.db import Base
from backend.surveys import models as surveys_models  # noqa: F401 - survey tables

__all__ = ["Base", "Postcode", "User", "Ward"]
