"""Primitive analysis: domain, characteristic and representation profiles of a dataset,
and a scored recommendation of the alignment paradigm that fits it.

One module per primitive (domain, characteristic, representation), the rule set in
recommend, the outputs in report; the versioned pydantic schema in schema.
"""

from tsalign.components.profiling.profiler import profile_dataset
from tsalign.components.profiling.report import print_profile
from tsalign.components.profiling.schema import SCHEMA_VERSION, Profile, ProfileError, load_profile

__all__ = [
    "SCHEMA_VERSION",
    "Profile",
    "ProfileError",
    "load_profile",
    "print_profile",
    "profile_dataset",
]
