"""Holds the script `streamlit run` runs, in a folder of its own (see app.py)."""
