"""The base of every config section and the value types they share.

Kept apart from :mod:`tsalign.components.config` so that the per-model parameter models
(:mod:`tsalign.components.models.params`), which the run config validates against, can
build on the same base without an import circle.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

from tsalign.components.redaction import redact_text, refuse_url_credentials

Url = Annotated[str, AfterValidator(refuse_url_credentials)]
"""A location (path or URI) that may never carry a password, token or signature."""
FreeText = Annotated[str, AfterValidator(redact_text)]
"""Text kept with every run (profile, reports, metadata): secrets in it are masked on entry."""


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, instances are immutable."""

    # NaN/inf are never a sensible setting (lr=inf passes a gt=0 bound).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
