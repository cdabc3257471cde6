"""HTTP service: thin routes over `triage.Triage`."""
