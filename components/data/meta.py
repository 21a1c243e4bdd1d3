"""Metadata stored beside each canonical dataset (data/<name>.meta.json)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from tsalign.components.layout import TIMESTAMP as TIMESTAMP  # re-exported: the canonical column
from tsalign.components.redaction import redact_text


class TextSourceMeta(BaseModel):
    """What one ``data.text`` source contributed."""

    model_config = ConfigDict(frozen=True)

    source: str
    rows: int = Field(description="Rows in the source file.")
    texts: int = Field(description="Non-empty text cells kept (one canonical row each).")
    dropped_empty: int = Field(0, description="Rows without text dropped (empty: drop).")
    text_cols: list[str]
    sha256: str = Field("", description="sha256 of the source file as read.")


class TextMeta(BaseModel):
    """The canonical text file beside the series (data/<name>.text.parquet)."""

    model_config = ConfigDict(frozen=True)

    file: str = Field(description="File name inside data/.")
    rows: int = Field(description="Texts (non-empty cells) in the file.")
    start: str = Field(description="Earliest text start time.")
    end: str = Field(description="Latest text end time.")
    content_sha256: str = Field(description="sha256 of the text Parquet bytes.")
    sources: list[TextSourceMeta]


class DatasetMeta(BaseModel):
    """What is known about one canonical dataset; feeds the domain primitive."""

    model_config = ConfigDict(frozen=True)

    schema_version: int = 1
    name: str
    source: str = Field(description="The source URI or packaged name it was ingested from.")
    description: str = ""
    units: dict[str, str] = Field(default_factory=dict)
    channels: list[str] = Field(description="All value columns, in file order.")
    targets: list[str]
    covariates: list[str] = Field(default_factory=list)
    freq: str = Field(description="Pandas frequency alias of the regular sampling grid.")
    rows: int
    start: str
    end: str
    inferred: dict[str, str] = Field(
        default_factory=dict, description="Settings inferred rather than declared, and why."
    )
    filled: dict[str, int] = Field(
        default_factory=dict, description="Per channel, how many missing values the policy filled."
    )
    content_sha256: str = Field("", description="sha256 of the canonical Parquet bytes.")
    timezone: str = Field(
        "", description="'UTC' when the source carried offsets (stored as naive UTC), else ''."
    )
    source_sha256: str = Field("", description="sha256 of the source file as read.")
    text: TextMeta | None = Field(None, description="Time-stamped text, when data.text is set.")

    # Written into data/ and so into the DVC remote for good: mask secrets on the way in.
    _mask_secrets = field_validator("source", "description")(redact_text)
