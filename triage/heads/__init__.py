"""One capability per file, each behind scikit-learn's estimator contract."""

from triage.heads.base import Features
from triage.heads.classifier import LabelHead

__all__ = ["Features", "LabelHead"]
