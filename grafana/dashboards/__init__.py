"""The dashboard sources: one *.dashboard.py per dashboard and the panels they share."""
