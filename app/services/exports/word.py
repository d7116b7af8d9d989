"""(being written)"""

from app.services.exports.content import ExportContent


def render_docx(content: ExportContent) -> bytes:
    raise NotImplementedError
