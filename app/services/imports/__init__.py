"""Bringing work in from Word and Excel files: a CSP's Word draft (draft.py), its budget lines
from Excel (budget.py), a round's sections from the funder's form (funder_form.py)."""
