"""The one version number shared by every distribution of the workspace."""

__version__ = "0.1.0"
