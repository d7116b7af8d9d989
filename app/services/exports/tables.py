"""(being written)"""

from app.services.exports.content import ExportContent


def budget_lines_csv(content: ExportContent) -> bytes:
    raise NotImplementedError


def outcomes_csv(content: ExportContent) -> bytes:
    raise NotImplementedError
