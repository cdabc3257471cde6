"""One capability per file, each behind scikit-learn's estimator contract."""

from triage.heads.base import Features
from triage.heads.classifier import LabelHead
from triage.heads.module import ModuleHead
from triage.heads.owner import OwnerHead

__all__ = ["Features", "LabelHead", "ModuleHead", "OwnerHead"]
