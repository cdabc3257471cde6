"""One capability per file, each behind scikit-learn's estimator contract."""

from triage.heads.base import Features
from triage.heads.classifier import LabelHead
from triage.heads.module import ModuleHead
from triage.heads.owner import owner_head

__all__ = ["Features", "LabelHead", "ModuleHead", "owner_head"]
