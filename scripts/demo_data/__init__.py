"""The demo data generator behind scripts/make_demo_data.py (text material in data/demo/source/)."""
