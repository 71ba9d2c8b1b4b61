"""The reasoned note: assembled from the case file (build), drawn as a PDF (pdf)."""
